"""export_sklearn against scikit-learn itself: predictions, margins and SHAP values of real models.

Every estimator x task (binary with int labels, multiclass with string labels, regression) is fitted
on small synthetic data: NaN in two columns where the estimator takes missing values, and an
integer-coded column that HistGradientBoosting is also given as a native categorical feature
(code 3 never seen in training, codes 6..7 out of the training range, NaN). The document, after a
JSON round trip, is walked by doc_walker (the format's text, record by record) and must reproduce
predict_proba / predict and the margins (decision_function) within 1e-9, on held-out records and on
records exactly on, just below and just above every threshold.

SHAP oracles (measured on these models, max abs error, all ~1e-15):
* shap.TreeExplainer(tree_path_dependent) is exact for trees, forests, GradientBoostingRegressor,
  binary GradientBoostingClassifier and numeric HistGradientBoosting, NaN rows included (shap 0.51
  routes NaN with scikit-learn's missing_go_to_left);
* multiclass / exponential-loss / init='zero' GradientBoosting go through shap's dict model
  (reference_explanation), also exact;
* HistGradientBoosting with categorical features: shap reads categorical splits as numeric and the
  encoder-reordered column indices, so brute_shapley (exact enumeration, F <= 8) is the oracle.
brute_shapley is itself checked against shap where shap is exact.
"""

from __future__ import annotations

import functools
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits
import shap
from sklearn import ensemble, tree
from sklearn.linear_model import LogisticRegression

import brute_shapley
import doc_walker
from pipe_export.model_format import ExportError
from pipe_export.trees_sklearn import LARGEST, export_sklearn, reference_explanation

N_TRAIN, N_EVAL, N_FEATURES = 300, 60, 5
CODE = 4  # the integer-coded column (categorical for "hgb_categorical")
PREDICTION_TOL, SHAP_TOL, ADDITIVITY_TOL = 1e-9, 1e-6, 1e-9
TASKS = ("binary", "multiclass", "regression")
KINDS = ("decision_tree", "random_forest", "extra_trees", "gradient_boosting", "hgb", "hgb_categorical")
NATIVE_MISSING = {"decision_tree", "random_forest", "extra_trees", "hgb", "hgb_categorical"}



@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One OpenMP thread: on two shared cores a tiny fit with the default threads can take seconds."""
    with threadpool_limits(limits=1):
        yield

def make_estimator(kind: str, task: str):
    classify = task != "regression"
    forest = dict(n_estimators=8, max_depth=5, random_state=0)
    boost = dict(max_iter=8, max_leaf_nodes=8, learning_rate=0.3, random_state=0)
    if kind == "decision_tree":
        return (tree.DecisionTreeClassifier if classify else tree.DecisionTreeRegressor)(max_depth=6, random_state=0)
    if kind == "random_forest":
        return (ensemble.RandomForestClassifier if classify else ensemble.RandomForestRegressor)(**forest)
    if kind == "extra_trees":
        return (ensemble.ExtraTreesClassifier if classify else ensemble.ExtraTreesRegressor)(**forest)
    if kind == "gradient_boosting":
        return (ensemble.GradientBoostingClassifier if classify else ensemble.GradientBoostingRegressor)(
            n_estimators=8, max_depth=3, random_state=0)
    hist = ensemble.HistGradientBoostingClassifier if classify else ensemble.HistGradientBoostingRegressor
    if kind == "hgb":
        return hist(**boost)
    categorical = np.arange(N_FEATURES) == CODE
    return hist(categorical_features=categorical, min_samples_leaf=5, **boost)


def records(rng, n: int, missing: bool, unseen: bool) -> np.ndarray:
    x = rng.normal(size=(n, N_FEATURES))
    x[:, 3] = np.round(x[:, 3] * 2) / 2  # repeated values: thresholds fall between them
    x[:, CODE] = rng.choice([0, 1, 2, 4, 5], size=n)
    if unseen:
        x[: n // 5, CODE] = rng.choice([3, 6, 7], size=n // 5)
    if missing:
        x[rng.random(n) < 0.15, 1] = np.nan
        x[rng.random(n) < 0.15, CODE] = np.nan
    return x


def labels(x: np.ndarray, task: str) -> np.ndarray:
    level = np.array([1.0, -1.0, 0.5, 0.0, 2.0, -2.0, 0.0, 0.0])
    code = np.nan_to_num(x[:, CODE], nan=3).astype(int)
    s = x[:, 0] - np.nan_to_num(x[:, 1], nan=1.0) + 0.7 * x[:, 2] * x[:, 3] + level[code]
    s = s + np.where(np.isnan(x[:, CODE]), 1.5, 0.0)
    noise = np.random.default_rng(1).normal(scale=0.3, size=len(s))
    if task == "binary":
        return (s + noise > 0).astype(int)
    if task == "multiclass":
        return np.array(["low", "mid", "high"])[np.digitize(s + noise, [-0.7, 0.7])]
    return 2.0 + s + noise


@functools.lru_cache(maxsize=None)
def fitted(kind: str, task: str):
    """(model, adapter dict after a JSON round trip, evaluation records)."""
    rng = np.random.default_rng(7)
    missing = kind in NATIVE_MISSING
    x = records(rng, N_TRAIN, missing, unseen=False)
    model = make_estimator(kind, task).fit(x, labels(x, task))
    adapted = json.loads(json.dumps(export_sklearn(model), allow_nan=False))
    x_eval = records(rng, N_EVAL, missing, unseen=True)
    x_eval = np.concatenate([x_eval, doc_walker.boundary_records(adapted["ensemble"], x_eval, skip=LARGEST)])
    return model, adapted, x_eval


def own_predictions(model, task: str, x: np.ndarray) -> np.ndarray:
    if task == "regression":
        return model.predict(x)[:, None]
    proba = model.predict_proba(x)
    return proba[:, 1:] if task == "binary" else proba


def own_margins(model, kind: str, task: str, x: np.ndarray) -> np.ndarray:
    if kind in ("gradient_boosting", "hgb", "hgb_categorical") and task != "regression":
        return model.decision_function(x).reshape(len(x), -1)
    return own_predictions(model, task, x)


def tree_model_explainer():
    explainer = pytest.importorskip("explainer")
    if not hasattr(explainer, "TreeModelExplainer"):
        pytest.skip("handler/explainer.py has no TreeModelExplainer yet")
    return explainer.TreeModelExplainer


def check_structure(adapted: dict, kind: str, task: str) -> None:
    ensemble_ = adapted["ensemble"]
    k = 3 if task == "multiclass" else 1
    assert adapted["task"] == task and ensemble_["n_outputs"] == k == len(ensemble_["init"])
    assert adapted["native_missing"] is (kind in NATIVE_MISSING)
    assert ensemble_["compare"] == ("float64" if kind.startswith("hgb") else "float32")
    boosted = kind in ("gradient_boosting", "hgb", "hgb_categorical")
    expected_link = {"binary": "sigmoid", "multiclass": "softmax"}.get(task, "identity") if boosted else "identity"
    assert adapted["link"] == expected_link
    assert adapted["shap_output"] == ("raw" if task == "regression" else "log_odds" if boosted else "probability")
    assert adapted["classes"] == {"binary": [0, 1], "multiclass": ["high", "low", "mid"]}.get(task)
    for t in ensemble_["trees"]:
        assert 0 <= t["output"] < k
        for i, (a, b) in enumerate(zip(t["children_left"], t["children_right"])):
            assert (a == -1) == (b == -1)
            if a != -1:
                assert a > i and b > i and 0 <= t["feature"][i] < N_FEATURES
    if kind == "hgb_categorical":
        codes = [c for t in ensemble_["trees"] for c in t.get("cat_left", []) if c is not None]
        assert codes, "expected categorical splits"
        assert all(c == sorted(set(c)) and all(0 <= v < 255 for v in c) for c in codes)


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("kind", KINDS)
def test_document_predicts_like_the_estimator(kind, task):
    model, adapted, x = fitted(kind, task)
    check_structure(adapted, kind, task)
    if kind in NATIVE_MISSING:
        assert np.isnan(x).any(axis=0)[[1, CODE]].all()
    margin, prediction = doc_walker.predict(adapted, x)
    np.testing.assert_allclose(prediction, own_predictions(model, task, x), rtol=0, atol=PREDICTION_TOL)
    np.testing.assert_allclose(margin, own_margins(model, kind, task, x), rtol=0, atol=PREDICTION_TOL)


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("kind", KINDS)
def test_reference_explanation_is_the_exact_path_dependent_shap(kind, task):
    """reference_explanation (shap) against brute-force enumeration over the document; None where
    shap cannot be trusted (HistGradientBoosting with categorical features)."""
    model, adapted, x = fitted(kind, task)
    found = reference_explanation(model, x)
    if kind == "hgb_categorical":
        assert found is None
        return
    values, expected, margin = found
    exact, base, exact_margin = brute_shapley.shapley(adapted["ensemble"], x, N_FEATURES)
    np.testing.assert_allclose(margin, exact_margin, rtol=0, atol=PREDICTION_TOL)
    np.testing.assert_allclose(values, exact, rtol=0, atol=SHAP_TOL)
    np.testing.assert_allclose(expected, base, rtol=0, atol=SHAP_TOL)


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("kind", KINDS)
def test_explainer_matches_the_oracle(kind, task):
    explainer_class = tree_model_explainer()
    model, adapted, x = fitted(kind, task)
    ours = explainer_class(adapted["ensemble"], N_FEATURES).explain(x)
    if kind == "hgb_categorical":
        values, expected, _ = brute_shapley.shapley(adapted["ensemble"], x, N_FEATURES)
    else:
        values, expected, _ = reference_explanation(model, x)
    np.testing.assert_allclose(ours.margin, own_margins(model, kind, task, x), rtol=0, atol=PREDICTION_TOL)
    np.testing.assert_allclose(ours.shap, values, rtol=0, atol=SHAP_TOL)
    np.testing.assert_allclose(ours.base_value, expected, rtol=0, atol=SHAP_TOL)
    np.testing.assert_allclose(ours.base_value + ours.shap.sum(axis=2), ours.margin, rtol=0, atol=ADDITIVITY_TOL)


def test_shap_is_wrong_on_categorical_hist_gradient_boosting():
    """Why brute_shapley exists: shap 0.51 reads HGB's categorical splits as numeric thresholds."""
    model, adapted, x = fitted("hgb_categorical", "regression")
    exact, _, _ = brute_shapley.shapley(adapted["ensemble"], x, N_FEATURES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shap_values = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent").shap_values(x)
    assert np.abs(shap_values - exact[:, 0, :]).max() > 1e-3


def test_unseen_categories_take_the_missing_branch_in_hist_gradient_boosting():
    """scikit-learn's encoder turns an unseen code into NaN: where NaN goes left, so do unseen codes."""
    model, adapted, _ = fitted("hgb_categorical", "binary")
    nodes = [(t, i) for t in adapted["ensemble"]["trees"] for i, c in enumerate(t.get("cat_left", []))
             if c is not None]
    left_missing = [(t, i) for t, i in nodes if t["missing_left"][i] == 1]
    assert left_missing and len(left_missing) < len(nodes)  # both directions occur in this model
    for t, i in left_missing:
        assert {3, 6, 7, 254} <= set(t["cat_left"][i]) and 255 not in t["cat_left"][i]
    for t, i in nodes:
        if t["missing_left"][i] == 0:
            assert not {3, 6, 7} & set(t["cat_left"][i])
    probe = np.zeros((4, N_FEATURES))
    probe[:, CODE] = [3, 6, 200, np.nan]
    _, prediction = doc_walker.predict(adapted, probe)
    np.testing.assert_allclose(prediction[:, 0], model.predict_proba(probe)[:, 1], rtol=0, atol=PREDICTION_TOL)
    assert np.ptp(prediction) == 0  # all four are "missing" to the estimator


@pytest.mark.parametrize("make", [
    lambda: ensemble.GradientBoostingClassifier(loss="exponential", n_estimators=6, max_depth=3),
    lambda: ensemble.GradientBoostingRegressor(init="zero", n_estimators=6, max_depth=3),
    lambda: ensemble.GradientBoostingRegressor(loss="huber", n_estimators=6, max_depth=3),
    lambda: ensemble.GradientBoostingRegressor(loss="quantile", alpha=0.3, n_estimators=6, max_depth=3),
    lambda: ensemble.GradientBoostingRegressor(loss="absolute_error", n_estimators=6, max_depth=3),
    lambda: ensemble.HistGradientBoostingRegressor(loss="quantile", quantile=0.7, max_iter=6),
    lambda: ensemble.HistGradientBoostingRegressor(loss="absolute_error", max_iter=6),
], ids=["gb-exponential", "gb-init-zero", "gb-huber", "gb-quantile", "gb-absolute", "hgb-quantile", "hgb-absolute"])
def test_other_losses_and_inits(make):
    model = make()
    task = "binary" if hasattr(model, "predict_proba") else "regression"
    x = records(np.random.default_rng(3), N_TRAIN, missing=False, unseen=False)
    model.fit(x, labels(x, task))
    adapted = json.loads(json.dumps(export_sklearn(model), allow_nan=False))
    margin, prediction = doc_walker.predict(adapted, x[:80])
    np.testing.assert_allclose(prediction, own_predictions(model, task, x[:80]), rtol=0, atol=PREDICTION_TOL)
    values, expected, own_margin = reference_explanation(model, x[:80])
    np.testing.assert_allclose(margin, own_margin, rtol=0, atol=PREDICTION_TOL)
    exact, base, _ = brute_shapley.shapley(adapted["ensemble"], x[:80], N_FEATURES)
    np.testing.assert_allclose(values, exact, rtol=0, atol=SHAP_TOL)
    np.testing.assert_allclose(expected, base, rtol=0, atol=SHAP_TOL)


def test_native_missing_follows_what_predict_accepts():
    x = records(np.random.default_rng(4), N_TRAIN, missing=False, unseen=False)
    y = labels(x, "regression")
    constrained = tree.DecisionTreeRegressor(max_depth=3, monotonic_cst=[1, 0, 0, 0, 0]).fit(x, y)
    assert export_sklearn(constrained)["native_missing"] is False  # predict refuses NaN with constraints
    assert export_sklearn(tree.DecisionTreeRegressor(max_depth=3).fit(x, y))["native_missing"] is True


def test_split_on_missing_only_has_a_finite_threshold():
    """scikit-learn's threshold +inf (every number left, NaN right) becomes the largest double."""
    x = records(np.random.default_rng(5), N_TRAIN, missing=True, unseen=False)
    y = np.isnan(x[:, 1]).astype(int)
    model = tree.DecisionTreeClassifier(max_depth=2, random_state=0).fit(x, y)
    assert np.isinf(model.tree_.threshold).any()
    adapted = json.loads(json.dumps(export_sklearn(model), allow_nan=False))
    assert LARGEST in adapted["ensemble"]["trees"][0]["threshold"]
    _, prediction = doc_walker.predict(adapted, x)
    np.testing.assert_allclose(prediction[:, 0], model.predict_proba(x)[:, 1], rtol=0, atol=PREDICTION_TOL)


def _names_supported(message: str) -> None:
    assert "supported" in message


@pytest.mark.parametrize("make, fit_y, match", [
    (lambda: LogisticRegression(), "binary", "RandomForestClassifier"),
    (lambda: ensemble.AdaBoostClassifier(n_estimators=2), "binary", "HistGradientBoostingRegressor"),
    (lambda: ensemble.RandomForestRegressor(n_estimators=2), "two-targets", "2 targets"),
    (lambda: ensemble.HistGradientBoostingRegressor(loss="poisson", max_iter=2), "positive", "poisson"),
    (lambda: ensemble.HistGradientBoostingRegressor(loss="gamma", max_iter=2), "positive", "gamma"),
    (lambda: ensemble.GradientBoostingRegressor(n_estimators=2, init=tree.DecisionTreeRegressor(max_depth=2)),
     "regression", "init"),
    (lambda: ensemble.GradientBoostingClassifier(n_estimators=2, init=LogisticRegression()), "binary", "init"),
], ids=["logistic", "adaboost", "multi-output", "hgb-poisson", "hgb-gamma", "gb-tree-init", "gb-logistic-init"])
def test_unsupported_models_are_refused(make, fit_y, match):
    x = records(np.random.default_rng(6), 120, missing=False, unseen=False)
    y = {"binary": labels(x, "binary"), "regression": labels(x, "regression"),
         "positive": np.abs(labels(x, "regression")) + 0.1,
         "two-targets": np.c_[labels(x, "regression"), labels(x, "regression")]}[fit_y]
    with pytest.raises(ExportError, match=match) as info:
        export_sklearn(make().fit(x, y))
    _names_supported(str(info.value))


def test_unfitted_estimators_are_refused():
    with pytest.raises(ExportError, match="not fitted"):
        export_sklearn(ensemble.RandomForestClassifier())


def test_categorical_values_must_be_small_integer_codes():
    x = records(np.random.default_rng(8), N_TRAIN, missing=False, unseen=False)
    y = labels(x, "regression")
    shifted = x.copy()
    shifted[:, CODE] += 0.5
    model = ensemble.HistGradientBoostingRegressor(categorical_features=[CODE], max_iter=2).fit(shifted, y)
    with pytest.raises(ExportError, match="integer"):
        export_sklearn(model)
    frame = pd.DataFrame(x, columns=[f"c{i}" for i in range(N_FEATURES)])
    frame["c4"] = pd.Categorical(np.array(["a", "b", "c", "d", "e", "f"])[x[:, CODE].astype(int)])
    model = ensemble.HistGradientBoostingRegressor(max_iter=2).fit(frame, y)  # categories from the dtype
    with pytest.raises(ExportError, match="non-numeric"):
        export_sklearn(model)
