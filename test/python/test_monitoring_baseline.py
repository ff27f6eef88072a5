"""The card's baseline (what pipe monitor compares the decision trail with), against the model's own
predictions and the function's own answers on the validation rows: a credit table with word labels,
spelled-out categories and mostly empty columns, and a price regression around 200,000."""

import json

import joblib
import numpy as np
import pandas as pd
import pytest

from conftest import run_build
from model_store import LoadedModel
from pipe_export.proof import records_of
from real_tables import credit, houses

SMALL_LGB = {"n_estimators": 30, "num_leaves": 15}
DECILES = [q / 10 for q in range(1, 10)]


def validation(out, csv, target):
    held = pd.read_csv(out / "validation_index.csv")["row"].to_numpy()
    return pd.read_csv(csv).iloc[held].drop(columns=[target])


def answers(out, frame):
    """The function's own answers and decision lines for the rows, from the written artifacts."""
    model = LoadedModel(str(out))
    lines = []
    model.audit._write = lines.append
    model.audit.mode = "decisions"
    records = records_of(frame[model.names])
    found = []
    for start in range(0, len(records), 100):
        found += json.loads(model.predict(records[start:start + 100]))["predictions"]
    return found, [json.loads(line) for text in lines for line in text.splitlines()]


def check_bins(score_section, scores):
    edges = sorted(set(np.quantile(scores, DECILES).tolist()))
    assert score_section["edges"] == pytest.approx(edges, rel=1e-12, abs=1e-12)
    counts = np.bincount(np.searchsorted(edges, scores, side="left"), minlength=len(edges) + 1)
    assert score_section["shares"] == pytest.approx((counts / len(scores)).tolist(), abs=1e-12)


def test_a_credit_model_with_word_labels_records_its_baseline(tmp_path):
    csv = tmp_path / "german credit.csv"
    credit(900, seed=3).to_csv(csv, index=False)
    out = tmp_path / "a"
    spec = {"exclude": ["Application No."], "positiveClass": "bad",
            "decision": {"positive": "decline", "negative": "approve", "threshold": 0.35}}
    result = run_build(out, "--data", str(csv), "--target", "Status", "--estimator", "lightgbm",
                       "--params", json.dumps(SMALL_LGB), "--spec", json.dumps(spec))
    assert result.returncode == 0, result.stderr
    card = json.loads((out / "model_card.json").read_text())
    baseline = card["baseline"]
    frame = validation(out, csv, "Status")
    model = joblib.load(out / "model.joblib")
    score = model.predict_proba(frame)[:, list(model.classes_).index("bad")]
    assert baseline["rows"] == len(frame) and baseline["refused"] == 0
    assert baseline["score"]["is"] == "probability that Status is bad"
    check_bins(baseline["score"], score)
    assert baseline["decisions"] == pytest.approx({"decline": float(np.mean(score >= 0.35)),
                                                   "approve": float(np.mean(score < 0.35))})
    names = [f["name"] for f in card["features"]]
    assert baseline["missing"] == pytest.approx({n: float(frame[n].isna().mean()) for n in names})
    assert max(baseline["missing"].values()) > 0.9, "the table has a mostly empty column"

    found, lines = answers(out, frame)
    first = pd.Series([line["reasons"][0]["feature"] if line["reasons"] else None for line in lines])
    assert baseline["first_reason"] == pytest.approx(first.value_counts(normalize=True).to_dict())
    assert baseline["no_reason"] == pytest.approx(float(first.isna().mean()))
    assert baseline["mean_abs_shap"] == pytest.approx(
        {n: float(np.mean([abs(a["shap"][n]) for a in found])) for n in names}, rel=1e-12)
    reason = {n: sum(abs(r["contribution"]) for line in lines for r in line["reasons"] if r["feature"] == n) / len(lines)
              for n in names}
    assert baseline["mean_abs_reason"] == pytest.approx(reason, rel=1e-12)
    assert all(baseline["mean_abs_reason"][n] <= baseline["mean_abs_shap"][n] + 1e-15 for n in names)


def test_a_price_regression_records_the_deciles_of_its_prediction(tmp_path):
    csv = tmp_path / "ames.csv"
    houses(600, seed=4).to_csv(csv, index=False)
    out = tmp_path / "h"
    result = run_build(out, "--data", str(csv), "--target", "SalePrice", "--estimator", "lightgbm",
                       "--params", json.dumps(SMALL_LGB), "--spec", json.dumps({"exclude": ["Order"]}))
    assert result.returncode == 0, result.stderr
    baseline = json.loads((out / "model_card.json").read_text())["baseline"]
    frame = validation(out, csv, "SalePrice")
    predicted = joblib.load(out / "model.joblib").predict(frame)
    assert baseline["score"]["is"] == "predicted SalePrice"
    assert 50_000 < baseline["score"]["edges"][4] < 500_000, "the deciles are prices"
    check_bins(baseline["score"], predicted)
    assert "decisions" not in baseline
