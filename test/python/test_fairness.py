"""model.fairness: the group report (AIR, SMD, rates) against an independent computation, the gate, and the
rule that a group column is never a feature; on a German-credit-style table and an Ames-style price table."""

import json

import joblib
import numpy as np
import pandas as pd
import pytest

import fairness
from conftest import run_build
from estimators import UsageError
from real_tables import credit, houses

SMALL_LGB = {"n_estimators": 30, "num_leaves": 15}
GROUPS = ["Personal status & sex", "Age (years)"]
BANDS = {"Age (years)": [25, 40, 60]}


@pytest.fixture(scope="module")
def credit_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("credit") / "german credit.csv"
    credit(900, seed=5).to_csv(path, index=False)
    return path


def build(csv, out, **fair):
    spec = {"exclude": ["Application No."], "positiveClass": "bad",
            "decision": {"positive": "bad", "negative": "good", "threshold": 0.35},
            "fairness": {"groups": GROUPS, "bands": BANDS, **fair}}
    return run_build(out, "--data", str(csv), "--target", "Status", "--estimator", "lightgbm",
                     "--params", json.dumps(SMALL_LGB), "--spec", json.dumps(spec))


def test_known_rates_give_the_air_smd_and_flags_an_independent_computation_gives():
    rng = np.random.default_rng(0)
    # A: 100 rows, 80 approved (score < 0.5); B: 100 rows, 50 approved; C: 12 rows, none approved.
    score = np.r_[rng.uniform(0, 0.49, 80), rng.uniform(0.5, 1, 20), rng.uniform(0, 0.49, 50), rng.uniform(0.5, 1, 50),
                  rng.uniform(0.5, 1, 12)]
    group = np.array(["A"] * 100 + ["B"] * 100 + ["C"] * 12, dtype=object)
    observed = np.where(rng.random(score.size) < score, "bad", "good")
    proba = np.c_[score, 1 - score]  # classes ["bad", "good"]
    setting = fairness.check_setting({"groups": ["g"]}, None, ["g"])
    report = fairness.report(setting, pd.DataFrame({"g": group}), "binary", proba=proba, classes=["bad", "good"],
                             positive="bad", decision={"positive": "bad", "negative": "good", "threshold": 0.5},
                             observed=observed)
    rows = {r["group"]: r for r in report["groups"]["g"]["values"]}
    assert report["groups"]["g"]["control"] == "A", "the highest approval rate among groups of 30 rows or more"
    assert (rows["A"]["approval_rate"], rows["B"]["approval_rate"], rows["C"]["approval_rate"]) == (0.8, 0.5, 0.0)
    assert rows["B"]["air"] == pytest.approx(0.5 / 0.8) and rows["B"]["flagged"]
    assert rows["C"]["small"] and not rows["C"]["flagged"], "under 30 rows: reported, not flagged"
    spread = score.std()
    assert rows["B"]["smd"] == pytest.approx((score[group == "B"].mean() - score[group == "A"].mean()) / spread, abs=1e-6)
    assert rows["B"]["observed_positive_rate"] == pytest.approx(np.mean(observed[group == "B"] == "bad"), abs=1e-6)
    assert rows["B"]["predicted_positive_rate"] == pytest.approx(score[group == "B"].mean(), abs=1e-6)
    assert report["flagged"] == ["g=B"] and report["passed"]
    gated = fairness.report({**setting, "minAir": 0.7}, pd.DataFrame({"g": group}), "binary", proba=proba,
                            classes=["bad", "good"], positive="bad",
                            decision={"positive": "bad", "negative": "good", "threshold": 0.5}, observed=observed)
    assert gated["failing"] == ["g=B (AIR 0.625)"], "C is below too, but under 30 rows"
    # The favourable decision can be the positive one: approval is then probability >= threshold.
    flipped = fairness.report({**setting, "favourable": "bad"}, pd.DataFrame({"g": group}), "binary", proba=proba,
                              classes=["bad", "good"], positive="bad",
                              decision={"positive": "bad", "negative": "good", "threshold": 0.5}, observed=observed)
    assert {r["group"]: r["approval_rate"] for r in flipped["groups"]["g"]["values"]} == {"A": 0.2, "B": 0.5, "C": 1.0}


def test_bands_and_missing_values():
    values = fairness.group_values(pd.Series(["19", "25", "39.5", "40", "75", "", "NA"]), [25, 40, 60], "Age")
    assert values.tolist() == ["<25", "25-40", "25-40", "40-60", ">=60", "missing", "missing"]
    with pytest.raises(UsageError, match="not a number"):
        fairness.group_values(pd.Series(["young"]), [25], "Age")
    with pytest.raises(UsageError, match="a protected attribute must not drive the decision"):
        fairness.check_setting({"groups": ["Age"]}, ["Age", "Income"], ["Age", "Income"])


def test_the_credit_model_reports_each_group_as_an_independent_computation_does(credit_csv, tmp_path):
    out = tmp_path / "a"
    result = build(credit_csv, out)
    assert result.returncode == 0, result.stderr
    card = json.loads((out / "model_card.json").read_text())
    assert not set(GROUPS) & {f["name"] for f in card["features"]}, "group columns are never features"
    report = card["fairness"]
    assert json.loads((out / "metrics.json").read_text())["fairness"] == report
    assert "fairness on" in result.stdout and "approval" in result.stdout, "the table is in the task's output"

    data = pd.read_csv(credit_csv, dtype=str, keep_default_na=False)
    held = pd.read_csv(out / "validation_index.csv")["row"].to_numpy()
    model = joblib.load(out / "model.joblib")
    frame = pd.read_csv(credit_csv).iloc[held]
    bad = list(model.classes_).index("bad")
    score = model.predict_proba(frame.drop(columns=["Status"]))[:, bad]
    approved = score < 0.35
    for name in GROUPS:
        raw = data[name].iloc[held]
        if name in BANDS:
            age = pd.to_numeric(raw)
            raw = pd.cut(age, [-np.inf, 25, 40, 60, np.inf], right=False, labels=["<25", "25-40", "40-60", ">=60"]).astype(str)
        by = pd.DataFrame({"g": raw.to_numpy(), "approved": approved, "score": score})
        section = report["groups"][name]
        rows = {r["group"]: r for r in section["values"]}
        assert sum(r["rows"] for r in rows.values()) == len(held)
        expected = by.groupby("g")["approved"].mean()
        for group, rate in expected.items():
            assert rows[group]["approval_rate"] == pytest.approx(rate, abs=1e-6), (name, group)
        control = section["control"]
        big = [g for g, n in by.groupby("g").size().items() if n >= 30]
        assert control == max(big, key=lambda g: expected[g])
        for group in big:
            assert rows[group]["air"] == pytest.approx(expected[group] / expected[control], abs=1e-5)
            assert rows[group]["flagged"] == (expected[group] / expected[control] < 0.8)
            smd = (by.score[by.g == group].mean() - by.score[by.g == control].mean()) / score.std()
            assert rows[group]["smd"] == pytest.approx(smd, abs=1e-5)
        assert any(r["small"] for r in rows.values()) or name in BANDS


def test_min_air_fails_the_build_with_the_table_and_writes_nothing(credit_csv, tmp_path):
    out = tmp_path / "gated"
    result = build(credit_csv, out, minAir=1.0)
    assert result.returncode == 1, result.stderr
    assert "model.fairness.minAir is 1.0" in result.stderr and "AIR" in result.stdout
    assert not (out / "model.json").exists()
    named = run_build(tmp_path / "x", "--data", str(credit_csv), "--target", "Status", "--spec",
                      json.dumps({"positiveClass": "bad", "features": ["Age (years)", "Duration in months"],
                                  "fairness": {"groups": ["Age (years)"]}}))
    assert named.returncode == 2 and "a protected attribute must not drive the decision" in named.stderr


def test_a_price_model_reports_mean_predictions_per_group(tmp_path):
    path = tmp_path / "ames.csv"
    houses(700, seed=2).to_csv(path, index=False)
    out = tmp_path / "houses"
    spec = {"exclude": ["Order"], "fairness": {"groups": ["MS Zoning"]}}
    result = run_build(out, "--data", str(path), "--target", "SalePrice", "--estimator", "lightgbm",
                       "--params", json.dumps(SMALL_LGB), "--spec", json.dumps(spec))
    assert result.returncode == 0, result.stderr
    # The log's errors are in the target's unit, whole, grouped past 9999: "rmse 23,456 (in SalePrice)".
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["rmse"] >= 10000 and metrics["mae"] >= 10000
    assert f"rmse {metrics['rmse']:,.0f} (in SalePrice), mae {metrics['mae']:,.0f} (in SalePrice)" in result.stdout
    report = json.loads((out / "model_card.json").read_text())["fairness"]
    held = pd.read_csv(out / "validation_index.csv")["row"].to_numpy()
    frame = pd.read_csv(path).iloc[held]
    predicted = joblib.load(out / "model.joblib").predict(frame.drop(columns=["SalePrice"]))
    zoning = pd.read_csv(path, dtype=str, keep_default_na=False)["MS Zoning"].iloc[held].to_numpy()
    for row in report["groups"]["MS Zoning"]["values"]:
        assert row["mean_prediction"] == pytest.approx(predicted[zoning == row["group"]].mean(), rel=1e-6)
