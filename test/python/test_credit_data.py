import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, run_build
from credit_data import FEATURES, TARGET, DataError, frame_sha256, load_credit_csv, synthetic_credit_data


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
    frame, digest = load_credit_csv(path, TARGET)
    assert list(frame.columns) == [TARGET, *FEATURES]
    assert frame["MonthlyIncome"].isna().any()
    assert len(digest) == 64


@pytest.mark.parametrize("mutate, expected", [
    (lambda t: t.replace("SeriousDlqin2yrs", "Target"), "target column 'SeriousDlqin2yrs' not found"),
    (lambda t: t.replace(",age,", ",years,"), "missing feature column(s): age"),
    (lambda t: t.replace(",NumberOfDependents", ",NumberOfDependents,Extra").replace("\n", ",1\n").replace(
        "Extra,1\n", "Extra\n", 1), "unknown column(s): Extra"),
    (lambda t: "\n".join(l if i != 3 else l.rsplit(",", 1)[0] + ",three" for i, l in enumerate(t.split("\n"))),
     "line 4: column 'NumberOfDependents' has non-numeric value 'three'"),
    (lambda t: "", "is empty"),
    (lambda t: t.split("\n")[0] + "\n", "no data rows"),
])
def test_bad_csv_names_the_problem(tmp_path, mutate, expected):
    path = kaggle_csv(tmp_path / "data.csv")
    path.write_text(mutate(path.read_text()))
    with pytest.raises(DataError) as err:
        load_credit_csv(path, TARGET)
    assert expected in str(err.value)


def test_target_must_be_binary(tmp_path):
    path = tmp_path / "data.csv"
    frame = synthetic_credit_data(50, 2)
    frame.loc[5, TARGET] = 2
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"line 7: target 'SeriousDlqin2yrs' must be 0 or 1"):
        load_credit_csv(path, TARGET)


def test_cli_exits_2_with_the_column_named(tmp_path):
    path = kaggle_csv(tmp_path / "data.csv")
    path.write_text(path.read_text().replace("SeriousDlqin2yrs", "Label"))
    result = run_build(tmp_path / "out", "--data", str(path), "--target", "SeriousDlqin2yrs")
    assert result.returncode == 2
    assert "target column 'SeriousDlqin2yrs' not found" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "model.json").exists()
