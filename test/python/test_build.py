"""The training CLI: deterministic deployed artifacts, the proof, options and their errors."""

import hashlib
import json
from xml.etree import ElementTree

import joblib

from conftest import run_build, run_build_cli
from test_credit_data import kaggle_csv

DEPLOYED = ("model.json", "model_card.json")


def test_same_seed_gives_byte_identical_deployed_artifacts(tmp_path, artifacts):
    again = run_build_cli(tmp_path / "again", "--rows", "4000", "--seed", "3")
    assert again.returncode == 0, again.stderr
    for name in DEPLOYED:
        assert (tmp_path / "again" / name).read_bytes() == (artifacts / name).read_bytes(), name
    other = run_build(tmp_path / "other", "--rows", "4000", "--seed", "4")
    assert other.returncode == 0, other.stderr
    assert (tmp_path / "other" / "model.json").read_bytes() != (artifacts / "model.json").read_bytes()


def check_importance_plot(path, card):
    """Every feature named once, largest mean |SHAP value| first, each with its value, said of what."""
    svg = ElementTree.parse(path).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    texts = [t.text for t in svg.iter(ns + "text")]
    names = [t.text for t in svg.iter(ns + "text") if t.get("text-anchor") == "end"]
    assert sorted(names) == sorted(f["name"] for f in card["features"])
    values = [float(t.text.replace(",", "")) for t in svg.iter(ns + "text") if t.get("font-size") == "11"]
    assert len(values) == len(names) and values == sorted(values, reverse=True) and values[0] > 0
    widths = [float(r.get("width")) for r in svg.iter(ns + "rect")][1:]  # after the background
    assert widths == sorted(widths, reverse=True) and widths[0] == 420
    assert f"mean |SHAP value| per feature, {card['explainer']['verified_rows']} rows" in texts
    assert "mean |SHAP value| (change in the probability that SeriousDlqin2yrs is 1)" in texts
    assert svg.find(ns + "title").text.startswith(f"What drives the model's {card['task']} output")


def test_artifacts_are_complete_and_consistent(artifacts):
    for name in (*DEPLOYED, "metrics.json", "shap_importance.svg", "model.joblib"):
        assert (artifacts / name).stat().st_size > 0, name
    model_bytes = (artifacts / "model.json").read_bytes()
    card = json.loads((artifacts / "model_card.json").read_text())
    document = json.loads(model_bytes)
    assert card["artifacts"]["model.json"]["sha256"] == hashlib.sha256(model_bytes).hexdigest()
    assert document["base_value"] == [card["base_value"]]
    assert [f["name"] for f in card["features"]] == [f["name"] for f in document["features"]]
    assert len(document["ensemble"]["trees"]) == card["model"]["params"]["n_estimators"] == 50
    # A forest routes missing values itself (scikit-learn >= 1.4): every feature may be null.
    assert {f["missing"] for f in card["features"]} == {"native"} and card["task"] == "binary"
    assert card["shap_output"] == "probability" and card["classes"] == [0, 1]
    assert card["decision"]["positive"] == "decline" and card["decision"]["negative"] == "approve"
    assert card["explainer"]["verified_rows"] >= 200 and card["explainer"]["max_abs_shap_diff"] <= 1e-6
    check_importance_plot(artifacts / "shap_importance.svg", card)
    metrics = json.loads((artifacts / "metrics.json").read_text())
    assert 0.5 < metrics["roc_auc"] <= 1 and 0 < metrics["log_loss"]
    assert 0 < metrics["validation_positive_rate"] < 0.2
    assert b"pickle" not in model_bytes and set(card["example_request"]) == {f["name"] for f in document["features"]}


def test_params_reach_the_estimator_as_written_and_progress_is_printed(tmp_path):
    result = run_build(tmp_path, "--rows", "2000", "--params", '{"n_estimators": 7, "max_depth": 3}')
    assert result.returncode == 0, result.stderr
    card = json.loads((tmp_path / "model_card.json").read_text())
    assert card["model"]["params"] == {"n_estimators": 7, "max_depth": 3, "random_state": 0}
    # Nothing of the example's own settings (max_leaf_nodes 30) is added to a user's.
    pipeline = joblib.load(tmp_path / "model.joblib")
    assert pipeline.named_steps["model"].get_params()["max_leaf_nodes"] is None
    assert "proof passed" in result.stdout and "training RandomForestClassifier" in result.stdout


def test_the_validation_rows_are_written_and_give_the_metrics(tmp_path):
    data = kaggle_csv(tmp_path / "cs-training.csv", rows=1500)
    result = run_build(tmp_path / "out", "--data", str(data), "--target", "SeriousDlqin2yrs",
                       "--params", '{"n_estimators": 10, "max_depth": 4}')
    assert result.returncode == 0, result.stderr
    rows = [int(line) for line in (tmp_path / "out" / "validation_index.csv").read_text().splitlines()[1:]]
    assert rows == sorted(set(rows)) and len(rows) == 300 and 0 <= rows[0] and rows[-1] < 1500
    import pandas as pd
    from sklearn.metrics import roc_auc_score
    frame = pd.read_csv(data).iloc[:, 1:].iloc[rows]  # the file's leading unnamed index column is dropped
    pipeline = joblib.load(tmp_path / "out" / "model.joblib")
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    features = [c for c in frame.columns if c != "SeriousDlqin2yrs"]
    auc = roc_auc_score(frame["SeriousDlqin2yrs"] == 1, pipeline.predict_proba(frame[features])[:, 1])
    assert abs(auc - metrics["roc_auc"]) < 1e-12 and metrics["validation_rows"] == len(rows)


def test_the_example_without_hyperparameters_uses_its_own(tmp_path):
    result = run_build(tmp_path, "--rows", "2000")
    assert result.returncode == 0, result.stderr
    card = json.loads((tmp_path / "model_card.json").read_text())
    assert card["model"]["params"] == {"n_estimators": 50, "max_depth": 6, "max_leaf_nodes": 30, "random_state": 0}


def test_kaggle_csv_trains(tmp_path):
    data = kaggle_csv(tmp_path / "cs-training.csv", rows=1500)
    result = run_build(tmp_path / "out", "--data", str(data), "--target", "SeriousDlqin2yrs")
    assert result.returncode == 0, result.stderr
    card = json.loads((tmp_path / "out" / "model_card.json").read_text())
    assert card["training_data"]["kind"] == "csv"
    assert card["training_data"]["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert card["name"] == "cs-training"  # the table's, for the card and the what-if page's title


def test_bad_arguments_exit_2(tmp_path):
    for args, message in ((["--params", "[1]"], "JSON object"), (["--params", "{bad"], "not valid JSON"),
                          (["--params", '{"n_trees": 3}'], "invalid hyperparameters"),
                          (["--estimator", "catboost"], "choose one of: random_forest"), (["--check-rows", "10"], "at least 200")):
        result = run_build_cli(tmp_path, "--rows", "600", *args)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr


def test_a_table_smaller_than_the_proof_is_verified_on_its_rows_with_values_missing(tmp_path):
    data = kaggle_csv(tmp_path / "small.csv", rows=120)
    result = run_build(tmp_path / "out", "--data", str(data), "--target", "SeriousDlqin2yrs")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "out" / "model_card.json").read_text())["explainer"]["verified_rows"] >= 200


def test_the_plot_names_the_output_of_a_target_whose_name_has_brackets():
    from pipe_export.card import output_meaning, space_meaning

    document = {"shap_output": "raw", "task": "regression"}
    assert output_meaning(document, "Sale price (€)") == "predicted value of Sale price (€), in its own unit"
    assert space_meaning(document, "Sale price (€)") == "the predicted value of Sale price (€), in its own unit"
    binary = {"shap_output": "log_odds", "task": "binary", "positive_class": "bad"}
    assert output_meaning(binary, "Status (at 12 months)") == "log-odds that Status (at 12 months) is bad"


def test_an_imputed_value_is_said_as_the_reasons_write_numbers():
    from pipe_export.card import missing_meaning

    def said(**feature):
        return missing_meaning({"name": "x", "type": "number", "missing": "impute", **feature})

    assert said(impute_value=69.15728265128445).startswith("null is replaced by 69.16 (from the training data)")
    assert said(impute_value=2.0).startswith("null is replaced by 2 (")
    assert said(impute_value=215000.0).startswith("null is replaced by 215,000 (")
    assert said(impute_value=1.0, type="boolean").startswith("null is replaced by true (")
    assert said(impute_value=1.0, type="category", categories=["Ja", "Nein"]).startswith("null is replaced by 'Nein' (")


def test_the_build_log_names_the_most_missing_columns_of_a_wide_table():
    import build_model_artifacts as build

    assert build.missing_summary({}) == "none missing"
    assert build.missing_summary({"Income": 0.198, "Dependents": 0.026}) == "Income 19.8%, Dependents 2.6% missing"
    survey = {f"Survey Q{k:02d}": k / 100 for k in range(1, 26)}
    line = build.missing_summary({**survey, "Telematics score": 0.969})
    assert line.startswith("Telematics score 96.9%, Survey Q25 25.0%, Survey Q24 24.0%, Survey Q23 23.0%, Survey Q22 22.0%, "
                           "Survey Q21 21.0% missing; 20 more features have missing values")


def test_the_build_log_says_a_nearly_empty_column_is_not_empty_and_names_constant_ones():
    import pandas as pd

    import build_model_artifacts as build

    assert build.missing_summary({"Telematics": 2399 / 2400, "Notes": 1 / 2400}) == "Telematics >99.9%, Notes <0.1% missing"
    assert build.missing_summary({"Empty": 1.0}) == "Empty 100.0% missing"
    frame = pd.DataFrame({"Country": ["CH"] * 4, "Code": [None] * 4, "Amount (CHF)": [1.0, 2.0, None, 2.0],
                          "One note": [None, None, "x", None]})
    assert build.constant_note(frame, ["Amount (CHF)", "One note"]) is None
    assert build.constant_note(frame, ["Country", "Amount (CHF)"]).startswith(
        "Country: the same value in every row, so no split can use it: its SHAP value is always 0")
    assert build.constant_note(frame, ["Country", "Code"]).startswith("Country, Code: the same value in every row, so "
                                                                      "no split can use them: their SHAP values are")
