"""export_model as a user's own training script calls it: their Pipeline, their column order, their mistakes."""

import importlib
import json
import sys

import lightgbm
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

import pipe_export
from pipe_export import ExportError, ProofError, export_model
from test_models_end_to_end import FEATURES, ask, loans


def user_frame():
    frame = loans(600, seed=2)
    frame["home owner"] = frame["home owner"] == "true"
    return frame


def test_a_user_pipeline_with_its_own_column_order(tmp_path, monkeypatch):
    frame = user_frame()
    # Categories first, numbers after: the estimator's columns are not the frame's order.
    encode = ColumnTransformer([
        ("categories", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan),
         ["loan purpose", "home owner"]),
    ], remainder="passthrough")
    model = Pipeline([("encode", encode), ("gbm", lightgbm.LGBMClassifier(n_estimators=25, verbose=-1))])
    x = frame[FEATURES]
    model.fit(x, frame["default"], gbm__categorical_feature=[0])
    result = export_model(model, x, tmp_path, target="default", name="loans", metrics={"auc": 0.5})
    assert [f["name"] for f in result.document["features"]] == FEATURES
    assert result.card["explainer"]["verified_against"] == "lightgbm pred_contrib"
    assert result.card["metrics"] == {"auc": 0.5} and result.card["name"] == "loans"

    monkeypatch.setenv("PIPE_ARTIFACTS_DIR", str(tmp_path))
    sys.modules.pop("app", None)
    app = importlib.import_module("app")
    rows = x.iloc[:40]
    records = [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
               for r in rows.to_dict(orient="records")]
    status, body = ask(app, records)
    assert status == 200, body
    np.testing.assert_allclose([p["probability"] for p in body["predictions"]], model.predict_proba(rows)[:, 1],
                               rtol=0, atol=1e-9)
    sys.modules.pop("app", None)


def test_a_bare_estimator_on_numeric_columns(tmp_path):
    frame = user_frame()[["income / month", "years-employed", "debt ratio", "amount"]]
    model = RandomForestRegressor(n_estimators=8, max_depth=5, random_state=0).fit(frame.iloc[:, :3], frame["amount"])
    result = export_model(model, frame, tmp_path, target="amount")
    assert result.document["task"] == "regression" and result.document["shap_output"] == "raw"
    assert {f["missing"] for f in result.document["features"]} == {"native"}


@pytest.mark.parametrize("build, message", [
    (lambda f: LogisticRegression().fit(f[["debt ratio"]], f["default"]), "supported: scikit-learn DecisionTree"),
    (lambda f: Pipeline([("encode", ColumnTransformer([("onehot", OneHotEncoder(), ["loan purpose"])],
                                                      remainder="passthrough")),
                         ("rf", RandomForestRegressor(n_estimators=3))]).fit(
        f[["loan purpose", "debt ratio"]].fillna({"loan purpose": "car"}), f["amount"]), "one-hot"),
])
def test_models_the_function_cannot_serve_are_refused_and_nothing_is_written(tmp_path, build, message):
    frame = user_frame()
    with pytest.raises(ExportError, match=message):
        export_model(build(frame), frame.fillna({"loan purpose": "car"}), tmp_path, target="default")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_proof_writes_nothing(tmp_path, monkeypatch):
    frame = user_frame()[["income / month", "debt ratio", "amount"]]
    model = RandomForestRegressor(n_estimators=4, max_depth=4, random_state=0).fit(frame.iloc[:, :2], frame["amount"])
    from pipe_export import trees_sklearn

    honest = trees_sklearn.export_sklearn

    def off_by_one(estimator):
        adapted = honest(estimator)
        adapted["ensemble"]["init"] = [adapted["ensemble"]["init"][0] + 1.0]
        return adapted

    monkeypatch.setattr(trees_sklearn, "export_sklearn", off_by_one)
    (tmp_path / "model.json").write_text("earlier")
    with pytest.raises(ProofError, match="predictions differ"):
        export_model(model, frame, tmp_path, target="amount")
    assert (tmp_path / "model.json").read_text() == "earlier" and not (tmp_path / "model_card.json").exists()
    assert json.dumps(pipe_export.SUPPORTED)
