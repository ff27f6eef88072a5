import numpy as np
import pandas as pd

from conftest import ROOT, run_build
from credit_data import FEATURES, TARGET, synthetic_credit_data
from tabular_data import frame_sha256, read_table


def test_generator_is_deterministic_per_seed():
    a, b = synthetic_credit_data(3000, 7), synthetic_credit_data(3000, 7)
    pd.testing.assert_frame_equal(a, b)
    assert frame_sha256(a) == frame_sha256(b)
    assert frame_sha256(a) != frame_sha256(synthetic_credit_data(3000, 8))


def test_generator_matches_the_credit_schema_and_rates():
    frame = synthetic_credit_data(20000, 0)
    assert list(frame.columns) == [TARGET, *FEATURES]
    assert 0.05 < frame[TARGET].mean() < 0.09
    assert 0.17 < frame["MonthlyIncome"].isna().mean() < 0.23
    assert 0.01 < frame["NumberOfDependents"].isna().mean() < 0.06
    others = [f for f in FEATURES if f not in ("MonthlyIncome", "NumberOfDependents")]
    assert not frame[others].isna().any().any()
    # Realistic relations: late payments and high utilisation raise the default rate.
    late = frame["NumberOfTimes90DaysLate"] > 0
    assert frame.loc[late, TARGET].mean() > 2 * frame.loc[~late, TARGET].mean()
    assert frame["age"].between(21, 99).all()


def kaggle_csv(path, rows=60, seed=1):
    frame = synthetic_credit_data(rows, seed)
    frame.index = range(1, rows + 1)
    frame.to_csv(path, na_rep="NA")  # unnamed index column first, "NA" for missing: as cs-training.csv
    return path


def test_kaggle_layout_loads_as_is(tmp_path):
    path = kaggle_csv(tmp_path / "cs-training.csv")
    assert path.read_text().startswith(",SeriousDlqin2yrs,")
    table = read_table(path, TARGET)
    assert table.features == FEATURES and set(table.kinds.values()) == {"number"}
    assert table.frame["MonthlyIncome"].isna().any()
    assert table.frame[TARGET].dtype.kind == "i"
    assert len(table.sha256) == 64


def test_cli_exits_2_with_the_column_named(tmp_path):
    path = kaggle_csv(tmp_path / "data.csv")
    path.write_text(path.read_text().replace("SeriousDlqin2yrs", "Label"))
    result = run_build(tmp_path / "out", "--data", str(path), "--target", "SeriousDlqin2yrs")
    assert result.returncode == 2
    assert "target column 'SeriousDlqin2yrs' not found" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "model.json").exists()
