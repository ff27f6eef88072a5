"""What a binary model's numbers are of (the positive class), and a proof that scales with the output.

On a German-credit-style table (Status good/bad, words as categories, mostly empty columns) and an
Ames-style house-price table (prices around 160,000).
"""

import json

import joblib
import lightgbm
import numpy as np
import pytest

import pipe_export
from conftest import run_build
from pipe_export import ExportError, ProofError, export_model
from pipe_export.classes import positive_index
from real_tables import credit, houses
from test_models_end_to_end import ask, load_app

SMALL_LGB = {"n_estimators": 30, "num_leaves": 15}


@pytest.fixture(scope="module")
def credit_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("credit") / "german credit.csv"
    credit(800, seed=4).to_csv(path, index=False)
    return path


def build_credit(csv, out, estimator="lightgbm", params=SMALL_LGB, **spec):
    spec = {"exclude": ["Application No."], **spec}
    return run_build(out, "--data", str(csv), "--target", "Status", "--estimator", estimator,
                     "--params", json.dumps(params), "--spec", json.dumps(spec))


def served(out, monkeypatch):
    app = load_app(out, monkeypatch)
    card = json.loads((out / "model_card.json").read_text())
    rows = credit(40, seed=9).drop(columns=["Application No.", "Status"])
    records = [{k: (None if v is None or isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
               for r in rows.to_dict(orient="records")]
    status, body = ask(app, records)
    assert status == 200, body
    return card, rows, body


def test_words_as_labels_are_refused_until_the_positive_class_is_set(credit_csv, tmp_path):
    (tmp_path / "model.json").write_text("earlier")
    result = build_credit(credit_csv, tmp_path)
    assert result.returncode == 2, result.stderr
    assert "'bad' and 'good'" in result.stderr and "model.positiveClass" in result.stderr
    assert "Traceback" not in result.stderr and (tmp_path / "model.json").read_text() == "earlier"


@pytest.mark.parametrize("estimator, params", [("lightgbm", SMALL_LGB),
                                               ("random_forest", {"n_estimators": 10, "max_depth": 6})])
@pytest.mark.parametrize("positive", ["bad", "good"])
def test_the_probability_decision_and_reasons_are_of_the_positive_class(credit_csv, tmp_path, monkeypatch,
                                                                        estimator, params, positive):
    other = {"bad": "good", "good": "bad"}[positive]
    result = build_credit(credit_csv, tmp_path, estimator, params, positiveClass=positive,
                          decision={"positive": positive, "negative": other, "threshold": 0.4})
    assert result.returncode == 0, result.stderr
    card, rows, body = served(tmp_path, monkeypatch)
    assert card["positive_class"] == positive and card["classes"] == ["bad", "good"]
    assert card["shap_output_meaning"].startswith(("log-odds that Status is " + positive,
                                                   "probability that Status is " + positive))
    pipeline = joblib.load(tmp_path / "model.joblib")
    expected = pipeline.predict_proba(rows)[:, list(pipeline.classes_).index(positive)]
    got = np.array([p["probability"] for p in body["predictions"]])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    assert [p["decision"] for p in body["predictions"]] == [positive if p >= 0.4 else other for p in expected]
    for p in body["predictions"]:
        output = p["probability"] if card["shap_output"] == "probability" else np.log(p["probability"] / (1 - p["probability"]))
        assert abs(p["base_value"] + sum(p["shap"].values()) - output) < 1e-9
        assert all(f"that Status is {positive} by" in r["text"] for r in p["reasons"])
    # The metrics are of the positive class too: the AUC of P(positive) against Status == positive.
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["roc_auc"] > 0.5


def test_a_decision_label_that_names_the_other_class_is_refused(credit_csv, tmp_path):
    result = build_credit(credit_csv, tmp_path, positiveClass="bad", decision={"positive": "good", "negative": "bad"})
    assert result.returncode == 2
    assert "model.decision.positive is 'good'" in result.stderr and "positive class 'bad'" in result.stderr
    result = build_credit(credit_csv, tmp_path, positiveClass="bad", decision={"negative": "bad"})
    assert result.returncode == 2 and "model.decision.negative is 'bad'" in result.stderr
    # Free words are free: approve / decline name no class.
    result = build_credit(credit_csv, tmp_path, positiveClass="bad", decision={"positive": "decline", "negative": "approve"})
    assert result.returncode == 0, result.stderr


def test_a_positive_class_that_is_no_class_is_refused(credit_csv, tmp_path):
    result = build_credit(credit_csv, tmp_path, positiveClass="Bad")
    assert result.returncode == 2 and "'Bad', which is not a class" in result.stderr


def test_a_regression_refuses_a_positive_class_a_decision_or_probability_before_training(tmp_path):
    import build_model_artifacts as build
    from estimators import UsageError
    from tabular_data import read_table

    csv = tmp_path / "houses.csv"
    houses(200, seed=2).to_csv(csv, index=False)
    table = read_table(csv, "SalePrice")
    for spec, message in (({"positiveClass": "yes"}, "model.positiveClass is set, but the task is regression"),
                          ({"decision": {"threshold": 0.5}}, "model.decision is set, but the task is regression: a "
                           "decision is a threshold on a binary model's probability, and this model's prediction is "
                           "the value itself; remove model.decision"),
                          ({"shapOutput": "probability", "reference": {"from": "training", "size": 50}},
                           "model.shapOutput is 'probability', but the task is regression")):
        with pytest.raises(UsageError) as refused:
            build.settled_settings(table, "regression", spec)
        assert message in str(refused.value)
    assert build.settled_settings(table, "regression", {"reference": {"from": "training", "size": 50}})[0] is None
    # Through the command line it is exit 2, with nothing trained or written.
    result = run_build(tmp_path / "out", "--data", str(csv), "--target", "SalePrice", "--spec", json.dumps({"decision": {}}))
    assert result.returncode == 2 and "model.decision is set" in result.stderr, result.stderr
    assert "training" not in result.stdout + result.stderr and not (tmp_path / "out").exists()


@pytest.mark.parametrize("classes, given, expected", [
    ([0, 1], None, 1), ([False, True], None, 1), (["no", "yes"], None, 1), (["N", "Y"], None, 1),
    (["positive", "negative"], None, 0), ([0, 1], "0", 0), ([False, True], "false", 0), (["bad", "good"], "bad", 0),
    ([1, 2], 2, 1),
])
def test_defaults_and_given_classes(classes, given, expected):
    assert positive_index(classes, given) == expected


@pytest.mark.parametrize("classes", [[1, 2], ["approved", "declined"], ["churn", "stay"], [-1, 1]])
def test_any_other_pair_of_labels_needs_the_setting(classes):
    with pytest.raises(ExportError, match="set positive_class"):
        positive_index(classes, None)


@pytest.fixture(scope="module")
def prices():
    frame = houses(900, seed=1)
    numeric = [c for c in frame.columns if frame[c].dtype != object and c not in ("Order", "SalePrice")]
    x = frame[numeric]
    model = lightgbm.LGBMRegressor(n_estimators=120, num_leaves=31, verbose=-1, random_state=0).fit(x, frame["SalePrice"])
    return model, x


def test_a_price_model_passes_the_scaled_proof(prices, tmp_path):
    model, x = prices
    result = export_model(model, x, tmp_path, name="houses")
    assert result.proof.max_abs_prediction_diff < 1e-9 * float(np.max(np.abs(model.predict(x))))


def test_a_price_model_off_by_one_part_in_a_million_fails_it(prices, tmp_path, monkeypatch):
    model, x = prices
    exact = pipe_export.trees_lightgbm.export_lightgbm

    def off(estimator):
        adapted = exact(estimator)
        for tree in adapted["ensemble"]["trees"]:
            tree["value"] = [v * (1 + 1e-6) for v in tree["value"]]
        return adapted

    monkeypatch.setattr(pipe_export.trees_lightgbm, "export_lightgbm", off)
    with pytest.raises(ProofError, match="predictions differ from the estimator's"):
        export_model(model, x, tmp_path, name="houses")
    assert not (tmp_path / "model.json").exists()
