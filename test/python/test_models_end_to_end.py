"""Every estimator x task through the real training CLI and the real function, on a user-style table.

The table has column names that need quoting, string categories, booleans, whole-number columns
and missing values. Each model is trained by build_model_artifacts.py (which proves its export),
loaded by handler/app.py as a Lambda container would, asked over the Function URL event shape, and
its answers compared with the saved Pipeline (model.joblib) on the raw columns.
"""

import importlib
import json
import sys

import joblib
import numpy as np
import pandas as pd
import pytest

from conftest import run_build

ESTIMATORS = ["random_forest", "extra_trees", "decision_tree", "gradient_boosting", "hist_gradient_boosting",
              "lightgbm"]
TARGETS = {"binary": "default", "multiclass": "grade", "regression": "amount"}
SMALL = {"random_forest": {"n_estimators": 15, "max_depth": 6}, "extra_trees": {"n_estimators": 15, "max_depth": 8},
         "decision_tree": {"max_depth": 8}, "gradient_boosting": {"n_estimators": 20, "max_depth": 3},
         "hist_gradient_boosting": {"max_iter": 20}, "lightgbm": {"n_estimators": 20, "num_leaves": 15}}
FEATURES = ["loan purpose", "income / month", "years-employed", "home owner", "debt ratio"]


def loans(rows: int = 800, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    purpose = rng.choice(["car", "home", "education", "business"], rows).astype(object)
    purpose[rng.random(rows) < 0.05] = None
    income = np.round(rng.uniform(1500, 7500, rows), 2)
    income[rng.random(rows) < 0.1] = np.nan
    years = rng.integers(0, 30, rows).astype(float)
    owner = rng.random(rows) < 0.4
    debt = np.round(rng.random(rows) * 1.2, 3)
    risk = (-1.5 + 2.2 * debt - np.nan_to_num(income, nan=4000) / 4000 - years / 20 + (purpose == "business") * 1.2
            - owner * 0.5)
    return pd.DataFrame({
        "applicant id": np.arange(rows), "loan purpose": purpose, "income / month": income, "years-employed": years,
        "home owner": np.where(owner, "true", "false"), "debt ratio": debt,
        "default": np.where(rng.random(rows) < 1 / (1 + np.exp(-risk)), "yes", "no"),
        "grade": np.where(risk < -1.2, "low", np.where(risk < -0.4, "medium", "high")),
        "amount": np.round(1000 * np.exp(risk) + rng.normal(0, 50, rows), 2),
    })


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "loans.csv"
    loans().to_csv(path, index=False)
    return path


def load_app(artifacts, monkeypatch):
    monkeypatch.setenv("PIPE_ARTIFACTS_DIR", str(artifacts))
    sys.modules.pop("app", None)
    return importlib.import_module("app")


def ask(app, records):
    event = {"version": "2.0", "rawPath": "/predict", "requestContext": {"http": {"method": "POST"}},
             "body": json.dumps(records), "isBase64Encoded": False}
    response = app.handler(event, None)
    return response["statusCode"], json.loads(response["body"])


def raw_frame(records):
    """The records as the Pipeline takes them: strings for categories, booleans, NaN for missing."""
    frame = pd.DataFrame(records, columns=FEATURES)
    for name in ("income / month", "years-employed", "debt ratio"):
        frame[name] = frame[name].astype(float)
    return frame.astype({"loan purpose": object, "home owner": object})


@pytest.mark.parametrize("task", list(TARGETS))
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_trained_exported_served_and_equal_to_the_estimator(table, tmp_path, monkeypatch, estimator, task):
    others = [t for t in TARGETS.values() if t != TARGETS[task]]
    spec = {"exclude": ["applicant id", *others], "unseenCategories": "missing"}
    result = run_build(tmp_path, "--data", str(table), "--target", TARGETS[task], "--estimator", estimator,
                       "--params", json.dumps(SMALL[estimator]), "--spec", json.dumps(spec), "--seed", "1")
    assert result.returncode == 0, result.stderr
    assert "proof passed" in result.stdout
    card = json.loads((tmp_path / "model_card.json").read_text())
    assert card["task"] == task
    assert [f["name"] for f in card["features"]] == FEATURES
    assert [f["type"] for f in card["features"]] == ["category", "number", "number", "boolean", "number"]
    assert card["explainer"]["verified_rows"] >= 200
    if task != "regression":
        assert all(isinstance(c, str) for c in card["classes"])
    # The importance plot says which output its bars move.
    space = "probability" if card["shap_output"] == "probability" else "log-odds"
    moved = {"binary": f"the {space} that default is yes", "multiclass": f"the {space} of each class, summed over classes",
             "regression": "the predicted value of amount, in its own unit"}[task]
    assert f"mean |SHAP value| (change in {moved})</text>" in (tmp_path / "shap_importance.svg").read_text()

    frame = loans(60, seed=5)[FEATURES]
    records = [{k: (None if isinstance(v, float) and np.isnan(v) or v is None else v) for k, v in row.items()}
               for row in frame.to_dict(orient="records")]
    for record in records:
        record["home owner"] = record["home owner"] == "true"
    records[0]["loan purpose"] = "boat"  # unseen: treated as missing by this model's policy
    app = load_app(tmp_path, monkeypatch)
    status, body = ask(app, records)
    assert status == 200, body
    assert (body["task"], body["shap_output"]) == (task, card["shap_output"])

    pipeline = joblib.load(tmp_path / "model.joblib")
    raw = raw_frame([dict(r, **{"loan purpose": None if r["loan purpose"] == "boat" else r["loan purpose"]})
                     for r in records])
    predictions = body["predictions"]
    if task == "regression":
        np.testing.assert_allclose([p["prediction"] for p in predictions], pipeline.predict(raw), rtol=0, atol=1e-9)
    elif task == "binary":
        np.testing.assert_allclose([p["probability"] for p in predictions], pipeline.predict_proba(raw)[:, 1],
                                   rtol=0, atol=1e-9)
        assert {p["decision"] for p in predictions} <= set(card["classes"])
    else:
        proba = pipeline.predict_proba(raw)
        keys = [str(c) for c in card["classes"]]
        np.testing.assert_allclose([[p["probabilities"][k] for k in keys] for p in predictions], proba,
                                   rtol=0, atol=1e-9)
        assert [p["label"] for p in predictions] == [card["classes"][i] for i in proba.argmax(axis=1)]

    for p in predictions:
        if task == "multiclass":
            margins = [p["base_value"][k] + sum(p["shap"][k].values()) for k in keys]
            softmax = np.exp(margins - np.max(margins))
            expected = softmax / softmax.sum() if card["shap_output"] == "log_odds" else margins
            np.testing.assert_allclose(expected, [p["probabilities"][k] for k in keys], atol=1e-9)
        else:
            total = p["base_value"] + sum(p["shap"].values())
            output = p["prediction"] if task == "regression" else p["probability"]
            if card["shap_output"] == "log_odds":
                output = np.log(output / (1 - output))
            assert abs(total - output) < 1e-9
            assert list(p["shap"]) == FEATURES


def test_unseen_category_is_refused_by_default_naming_the_known_values(table, tmp_path, monkeypatch):
    spec = {"exclude": ["applicant id", "grade", "amount"], "required": ["debt ratio"],
            "constraints": {"years-employed": {"integer": True, "min": 0, "max": 60}}}
    result = run_build(tmp_path, "--data", str(table), "--target", "default", "--estimator", "lightgbm",
                       "--params", json.dumps(SMALL["lightgbm"]), "--spec", json.dumps(spec))
    assert result.returncode == 0, result.stderr
    app = load_app(tmp_path, monkeypatch)
    example = json.loads((tmp_path / "model_card.json").read_text())["example_request"]
    cases = [({"loan purpose": "boat"}, "unknown_category", 'unknown category "boat"; known: "business", "car"'),
             ({"debt ratio": None}, "missing_value", "debt ratio is required"),
             ({"years-employed": 2.5}, "wrong_type", "years-employed must be a whole number, got 2.5"),
             ({"years-employed": 61}, "out_of_range", "years-employed must be between 0 and 60, got 61"),
             ({"loan purpose": 3}, "wrong_type", "loan purpose must be a string"),
             ({"home owner": "yes"}, "wrong_type", "home owner must be true or false")]
    for change, code, message in cases:
        status, body = ask(app, dict(example, **change))
        assert (status, body["error"]["code"]) == (400, code), (change, body)
        assert message in body["error"]["message"] and body["error"]["field"] == next(iter(change))


@pytest.mark.parametrize("args, message", [
    (["--estimator", "catboost"], "unknown estimator 'catboost'; choose one of: random_forest, extra_trees"),
    (["--task", "binary", "--target", "grade"], "task 'binary' needs a target with two values"),
    (["--task", "regression", "--target", "grade"], "task 'regression' needs a numeric target"),
    (["--estimator", "hist_gradient_boosting", "--params", '{"max_bins": 3}'], "takes at most 3"),
])
def test_bad_model_configuration_exits_2_and_keeps_earlier_artifacts(table, tmp_path, args, message):
    (tmp_path / "model.json").write_text("earlier")
    base = ["--data", str(table), "--target", "default", "--spec", json.dumps({"exclude": ["applicant id"]})]
    result = run_build(tmp_path, *base, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert (tmp_path / "model.json").read_text() == "earlier"
