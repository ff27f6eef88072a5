"""model.reference through the real training CLI and the real function, for every tree family, on a
German-credit-style table (Status good/bad, words as categories, a column 96% empty, missing savings).

The function's values are checked against brute-force interventional Shapley values computed from
model.json's own trees and reference rows (every coalition, a walk down the trees per hybrid record),
in log-odds, probability and probability points; so is the build's direct oracle, which proves the models
that shap cannot read.
"""

import hashlib
import json

import joblib
import numpy as np
import pytest

import tree_paths
from brute_shapley import interventional_shapley
from conftest import run_build
from doc_walker import margins
from pipe_export.interventional import describe, direct_oracle
from real_tables import credit
from test_models_end_to_end import ask, load_app

# Seven features (brute force enumerates 2^7 coalitions): categories, numbers, missing values.
FEATURES = ["Checking account", "Duration (months)", "Credit history", "Savings", "Age (years)",
            "Bureau notes score", "Purpose"]
SMALL = {"random_forest": {"n_estimators": 6, "max_depth": 5}, "extra_trees": {"n_estimators": 6, "max_depth": 5},
         "decision_tree": {"max_depth": 6}, "gradient_boosting": {"n_estimators": 8, "max_depth": 3},
         "hist_gradient_boosting": {"max_iter": 8, "max_leaf_nodes": 8},
         "lightgbm": {"n_estimators": 8, "num_leaves": 8, "min_child_samples": 5}}


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "credit.csv"
    credit(700, seed=11).to_csv(path, index=False)
    return path


def build(table, out, estimator="lightgbm", **spec):
    spec = {"features": FEATURES, "positiveClass": "bad", **spec}
    return run_build(out, "--data", str(table), "--target", "Status", "--estimator", estimator,
                     "--params", json.dumps(SMALL[estimator]), "--spec", json.dumps(spec), "--seed", "2")


def unpacked(document: dict) -> dict:
    trees = [{**t, **{name: np.asarray(tree_paths.unpack_field(t[name], name, i), dtype=np.float64).tolist()
                      for name in tree_paths.PACKED}} for i, t in enumerate(document["ensemble"]["trees"])]
    for tree in trees:
        for name in ("children_left", "children_right", "feature", "missing_left"):
            tree[name] = [int(v) for v in tree[name]]
    return {**document["ensemble"], "trees": trees}


def records(n=6, seed=3):
    rows = credit(n, seed=seed)[FEATURES]
    return [{k: (None if v is None or isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
            for r in rows.to_dict(orient="records")]


def check_against_brute_force(out, monkeypatch, probability=False):
    app = load_app(out, monkeypatch)
    document = json.loads((out / "model.json").read_text())
    batch = records()
    status, body = ask(app, batch)
    assert status == 200, body
    x = app.MODEL.validator.to_batch(batch).x
    ref = document["reference"]
    import base64
    reference = np.frombuffer(base64.b64decode(ref["rows"]), dtype="<f8").reshape(ref["n_rows"], len(FEATURES))
    ensemble = unpacked(document)
    phi, base = interventional_shapley(ensemble, x, reference, len(FEATURES), probability)
    got = np.array([[p["shap"][f] for f in FEATURES] for p in body["predictions"]])
    # The build's own oracle, where shap cannot check a model, is the same game's values.
    direct, direct_base = direct_oracle(ensemble, x, reference, probability, margins(ensemble, x),
                                        margins(ensemble, reference))
    np.testing.assert_allclose(direct, phi, rtol=0, atol=1e-12)
    np.testing.assert_allclose(direct_base, base, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got, phi[:, 0, :], rtol=0, atol=1e-10)
    np.testing.assert_allclose([p["base_value"] for p in body["predictions"]], base[0], rtol=0, atol=1e-10)
    pipeline = joblib.load(out / "model.joblib")
    import pandas as pd
    frame = pd.DataFrame(batch, columns=FEATURES).astype({f: float for f in ("Duration (months)", "Age (years)",
                                                                             "Bureau notes score")})
    expected = pipeline.predict_proba(frame)[:, list(pipeline.classes_).index("bad")]
    np.testing.assert_allclose([p["probability"] for p in body["predictions"]], expected, rtol=0, atol=1e-9)
    return app, document, body


@pytest.mark.parametrize("estimator", list(SMALL))
def test_every_family_against_brute_force_interventional_shapley(table, tmp_path, monkeypatch, estimator):
    result = build(table, tmp_path, estimator, reference={"from": "training", "size": 12})
    assert result.returncode == 0, result.stderr
    assert "proof passed" in result.stdout and "12 rows sampled from the training data" in result.stdout
    _, document, body = check_against_brute_force(tmp_path, monkeypatch)
    assert body["shap_output"] == document["shap_output"]
    card = json.loads((tmp_path / "model_card.json").read_text())
    assert card["explainer"]["method"].startswith("exact interventional TreeSHAP")
    assert card["explainer"]["measured_against"] == "12 rows sampled from the training data"


@pytest.mark.parametrize("estimator", ["lightgbm", "gradient_boosting", "hist_gradient_boosting"])
def test_boosted_values_in_probability_points(table, tmp_path, monkeypatch, estimator):
    result = build(table, tmp_path, estimator, reference={"from": "training", "size": 10}, shapOutput="probability",
                   decision={"positive": "decline", "negative": "approve", "threshold": 0.35})
    assert result.returncode == 0, result.stderr
    _, _, body = check_against_brute_force(tmp_path, monkeypatch, probability=True)
    assert body["shap_output"] == "probability"
    for p in body["predictions"]:
        assert abs(p["base_value"] + sum(p["shap"].values()) - p["probability"]) < 1e-12
        for reason in p["reasons"]:
            points = abs(reason["contribution"]) * 100
            assert reason["text"].endswith(f"the probability that Status is bad by {points:.1f} points")


def test_near_cutoff_rows_are_approvals_nearest_the_threshold(table, tmp_path, monkeypatch):
    result = build(table, tmp_path, "lightgbm", decision={"positive": "decline", "negative": "approve", "threshold": 0.3},
                   reference={"from": "near-cutoff", "size": 15, "band": 0.04})
    assert result.returncode == 0, result.stderr
    assert "validation_positive_rate " in result.stdout and " (Status is bad)" in result.stdout
    card = json.loads((tmp_path / "model_card.json").read_text())
    ref = card["reference"]
    assert (ref["from"], ref["rows"], ref["side"], ref["threshold"], ref["label"]) == ("near-cutoff", 15, "negative",
                                                                                      0.3, "approve")
    reference_csv = (tmp_path / "reference.csv").read_bytes()
    assert ref["sha256"] == hashlib.sha256(reference_csv).hexdigest()
    import pandas as pd
    rows = pd.read_csv(tmp_path / "reference.csv")
    assert list(rows.columns) == FEATURES and len(rows) == 15
    score = joblib.load(tmp_path / "model.joblib").predict_proba(rows)[:, 0]
    assert (score < 0.3).all()
    np.testing.assert_allclose([ref["reach"]["min"], ref["reach"]["max"]], [score.min(), score.max()], atol=1e-12)
    if ref["within_band"] >= 15:
        assert (score >= 0.26).all() and ref["description"].startswith("15 training rows scored within 4 points below")
    else:
        assert ref["description"].startswith("the 15 training rows scored nearest below the 30% cutoff (approve)")
    # The card never holds the rows, and GET / serves the card only.
    app, _, _ = check_against_brute_force(tmp_path, monkeypatch)
    served = app.handler({"version": "2.0", "rawPath": "/", "requestContext": {"http": {"method": "GET"}},
                          "headers": {"accept": "application/json"}}, None)
    assert json.loads(served["body"])["reference"] == ref
    assert set(ref) == {"from", "size", "band", "side", "threshold", "within_band", "label", "rows", "sha256", "file",
                        "reach", "description"} and ref["rows"] == 15


def test_a_band_no_training_row_falls_in_exits_2_with_the_band_that_would_reach_them(table, tmp_path):
    (tmp_path / "model.json").write_text("earlier")
    result = build(table, tmp_path, "lightgbm", decision={"positive": "decline", "negative": "approve", "threshold": 0.3},
                   reference={"from": "near-cutoff", "size": 15, "band": 1e-9})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "no training row is scored within 1e-07 points below the 30% cutoff (the nearest scores " in result.stderr
    assert "Set model.reference.band to " in result.stderr and "choose side: 'positive'" in result.stderr
    assert (tmp_path / "model.json").read_text() == "earlier" and "Traceback" not in result.stderr
    band = float(result.stderr.split("Set model.reference.band to ")[1].split(" ")[0])
    # The band it names takes the 15 rows within it.
    again = build(table, tmp_path, "lightgbm", decision={"positive": "decline", "negative": "approve", "threshold": 0.3},
                  reference={"from": "near-cutoff", "size": 15, "band": band})
    assert again.returncode == 0, again.stderr
    card = json.loads((tmp_path / "model_card.json").read_text())
    assert card["reference"]["within_band"] >= 15 and card["reference"]["description"].startswith("15 training rows")


def test_a_reference_file_of_the_users_own(table, tmp_path, monkeypatch):
    chosen = credit(30, seed=99)[FEATURES + ["Status"]].iloc[:8]
    path = tmp_path / "prototypes.csv"
    chosen.to_csv(path, index=False)
    out = tmp_path / "out"
    result = build(table, out, "hist_gradient_boosting", reference={"from": "file", "file": str(path)})
    assert result.returncode == 0, result.stderr
    card = json.loads((out / "model_card.json").read_text())
    assert card["reference"]["description"] == "the 8 rows of prototypes.csv"
    check_against_brute_force(out, monkeypatch)


@pytest.mark.parametrize("change, message", [
    (lambda f: f.assign(**{"Purpose": ["spaceship"] * len(f)}), "line 2: 'Purpose' is 'spaceship', a category"),
    (lambda f: f.drop(columns=["Savings"]), "lacks the feature column 'Savings'"),
    (lambda f: f.assign(**{"Age (years)": ["old"] * len(f)}), "'Age (years)' must be a number, got 'old'"),
])
def test_a_bad_reference_file_exits_2_naming_the_line(table, tmp_path, change, message):
    path = tmp_path / "ref.csv"
    change(credit(10, seed=5)[FEATURES]).to_csv(path, index=False)
    (tmp_path / "model.json").write_text("earlier")
    result = build(table, tmp_path, reference={"from": "file", "file": str(path)})
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert (tmp_path / "model.json").read_text() == "earlier"


@pytest.mark.parametrize("estimator, spec, message", [
    ("lightgbm", {"shapOutput": "probability"}, "model.shapOutput 'probability' needs model.reference"),
    ("random_forest", {"shapOutput": "log_odds", "reference": {"from": "training", "size": 5}},
     "model.shapOutput is 'log_odds', but this binary model's SHAP values can be 'probability'"),
    ("lightgbm", {"reference": {"from": "near-cutoff", "side": "left"}}, "model.reference.side must be"),
    ("lightgbm", {"reference": {"from": "training", "band": 0.1}}, "model.reference.band does not apply"),
    ("lightgbm", {"reference": {"from": "training", "size": 0}}, "model.reference.size must be a whole number"),
])
def test_reference_settings_that_cannot_be_met_exit_2(table, tmp_path, estimator, spec, message):
    result = build(table, tmp_path, estimator, **spec)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr


def test_near_cutoff_needs_a_binary_model(tmp_path):
    frame = credit(300, seed=1)
    path = tmp_path / "amounts.csv"
    frame[FEATURES + ["Credit amount (DM)"]].to_csv(path, index=False)
    result = run_build(tmp_path, "--data", str(path), "--target", "Credit amount (DM)", "--estimator", "lightgbm",
                       "--params", json.dumps(SMALL["lightgbm"]), "--spec",
                       json.dumps({"reference": {"from": "near-cutoff"}}))
    assert result.returncode == 2 and "needs a binary model with a decision; this one is regression" in result.stderr


def test_a_numeric_model_is_checked_against_shaps_interventional_explainer(tmp_path):
    result = run_build(tmp_path, "--rows", "3000", "--estimator", "lightgbm", "--params",
                       json.dumps({"n_estimators": 20, "num_leaves": 15}), "--spec",
                       json.dumps({"reference": {"from": "training", "size": 30}, "shapOutput": "probability"}))
    assert result.returncode == 0, result.stderr
    assert "against shap.TreeExplainer(interventional, 30 reference rows)" in result.stdout


def test_a_reference_short_of_its_band_says_where_its_rows_score():
    reference = {"rows": 200, "from": "near-cutoff", "threshold": 0.3, "band": 0.05, "side": "negative", "label": "pay",
                 "within_band": 0, "reach": {"min": 0.057, "max": 0.1303}}
    assert describe(reference) == ("the 200 training rows scored nearest below the 30% cutoff (pay): 0 within 5 points "
                                   "of it; they score 5.7% to 13.0%")
