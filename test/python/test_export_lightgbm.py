"""export_lightgbm against LightGBM itself: predictions, raw scores and pred_contrib of real models.

Small models on synthetic data with NaN in a column trained with missing values (missing_type
'NaN'), NaN in a column trained without (missing_type 'None': LightGBM reads NaN as 0.0) and a
native categorical column (code 3 never seen in training, codes 8..9 out of range, NaN). The
document, after a JSON round trip, is walked by doc_walker and must reproduce predict_proba /
predict and raw_score within 1e-9, also on records exactly on and one double either side of every
threshold. LightGBM's pred_contrib (through reference_explanation) is the SHAP oracle: it agrees
with brute-force enumeration over the document to ~1e-15 on these models, which also pins the
cover down to the data counts (internal_count / leaf_count), not the hessian sums.
"""

from __future__ import annotations

import functools
import json

import lightgbm as lgb
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import brute_shapley
import doc_walker
from pipe_export.model_format import ExportError, leaf_margins, pack_trees
from pipe_export.trees_lightgbm import export_lightgbm, reference_explanation

N_TRAIN, N_EVAL, N_FEATURES = 400, 60, 5
CATEGORY = 3
PREDICTION_TOL, SHAP_TOL, ADDITIVITY_TOL = 1e-9, 1e-6, 1e-9
PARAMS = dict(n_estimators=6, num_leaves=8, min_child_samples=5, min_data_per_group=5, cat_smooth=1.0,
              learning_rate=0.3, random_state=0, verbose=-1, n_jobs=1)
RF = dict(boosting_type="rf", bagging_freq=1, bagging_fraction=0.7)
# name: (estimator class or "booster", task, extra parameters)
MODELS = {
    "binary": (lgb.LGBMClassifier, "binary", {}),
    "multiclass": (lgb.LGBMClassifier, "multiclass", {}),
    "softmax": (lgb.LGBMClassifier, "multiclass", {"objective": "softmax"}),
    "regression": (lgb.LGBMRegressor, "regression", {}),
    "regression_l1": (lgb.LGBMRegressor, "regression", {"objective": "regression_l1"}),
    "huber": (lgb.LGBMRegressor, "regression", {"objective": "huber"}),
    "fair": (lgb.LGBMRegressor, "regression", {"objective": "fair"}),
    "quantile": (lgb.LGBMRegressor, "regression", {"objective": "quantile", "alpha": 0.3}),
    "mape": (lgb.LGBMRegressor, "regression", {"objective": "mape"}),
    "sigmoid2": (lgb.LGBMClassifier, "binary", {"sigmoid": 2.0}),
    "dart": (lgb.LGBMClassifier, "binary", {"boosting_type": "dart"}),
    "rf_binary": (lgb.LGBMClassifier, "binary", RF),
    "rf_multiclass": (lgb.LGBMClassifier, "multiclass", RF),
    "rf_regression": (lgb.LGBMRegressor, "regression", RF),
    "booster_binary": ("booster", "binary", {"objective": "binary"}),
    "booster_multiclass": ("booster", "multiclass", {"objective": "multiclass", "num_class": 3}),
}



@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One OpenMP thread: on two shared cores a tiny fit with the default threads can take seconds."""
    with threadpool_limits(limits=1):
        yield

def records(rng, n: int, unseen: bool) -> np.ndarray:
    x = rng.normal(size=(n, N_FEATURES))
    x[:, 4] = np.round(x[:, 4] * 2) / 2
    x[:, CATEGORY] = rng.choice([0, 1, 2, 4, 5, 6, 7], size=n)
    x[rng.random(n) < 0.2, 1] = np.nan
    x[rng.random(n) < 0.1, CATEGORY] = np.nan
    if unseen:
        x[: n // 5, CATEGORY] = rng.choice([3, 8, 9], size=n // 5)
        x[n // 5: n // 4, 0] = np.nan  # column 0 had no NaN in training: read as 0.0
        x[n // 4: n // 3, 1] = 0.0
    return x


def labels(x: np.ndarray, task: str) -> np.ndarray:
    level = np.array([1.5, -1.0, 2.0, 0.0, -2.0, 0.5, -0.5, 1.0, 0.0, 0.0])
    code = np.nan_to_num(x[:, CATEGORY], nan=3).astype(int)
    s = x[:, 0] - np.nan_to_num(x[:, 1], nan=1.0) + 0.5 * x[:, 2] * x[:, 4] + level[code]
    noise = np.random.default_rng(1).normal(scale=0.3, size=len(s))
    if task == "binary":
        return (s + noise > 0).astype(int)
    if task == "multiclass":
        return np.array(["low", "mid", "high"])[np.digitize(s + noise, [-0.7, 0.7])]
    return 10.0 + s + noise  # positive: mape divides by the label


@functools.lru_cache(maxsize=None)
def fitted(name: str):
    """(model, task, adapter dict after a JSON round trip, evaluation records)."""
    kind, task, extra = MODELS[name]
    rng = np.random.default_rng(11)
    x = records(rng, N_TRAIN, unseen=False)
    y = labels(x, task)
    if kind == "booster":
        codes = {"low": 0, "mid": 1, "high": 2}
        y = np.array([codes[v] for v in y]) if task == "multiclass" else y
        params = {k: v for k, v in PARAMS.items() if k not in ("n_estimators", "random_state", "n_jobs")}
        params.update(extra, seed=0, num_threads=1)
        model = lgb.train(params, lgb.Dataset(x, y, categorical_feature=[CATEGORY]), num_boost_round=6)
    else:
        model = kind(**{**PARAMS, **extra}).fit(x, y, categorical_feature=[CATEGORY])
    adapted = json.loads(json.dumps(export_lightgbm(model), allow_nan=False))
    x_eval = records(rng, N_EVAL, unseen=True)
    x_eval = np.concatenate([x_eval, doc_walker.boundary_records(adapted["ensemble"], x_eval)])
    return model, task, adapted, x_eval


def own_predictions(model, task: str, x: np.ndarray) -> np.ndarray:
    if isinstance(model, lgb.Booster):
        out = model.predict(x)
        return out.reshape(len(x), -1)
    if task == "regression":
        return model.predict(x)[:, None]
    proba = model.predict_proba(x)
    return proba[:, 1:] if task == "binary" else proba


def tree_model_explainer():
    explainer = pytest.importorskip("explainer")
    if not hasattr(explainer, "TreeModelExplainer"):
        pytest.skip("handler/explainer.py has no TreeModelExplainer yet")
    return explainer.TreeModelExplainer


@pytest.mark.parametrize("name", MODELS)
def test_document_predicts_like_lightgbm(name):
    model, task, adapted, x = fitted(name)
    k = 3 if task == "multiclass" else 1
    ens = adapted["ensemble"]
    assert (adapted["task"], ens["n_outputs"], ens["init"], ens["compare"]) == (task, k, [0.0] * k, "float64")
    assert adapted["native_missing"] is True
    assert adapted["link"] == {"binary": "sigmoid", "multiclass": "softmax"}.get(task, "identity")
    assert adapted["shap_output"] == ("raw" if task == "regression" else "log_odds")
    if name.startswith("booster"):
        assert adapted["classes"] == list(range(max(2, k)))
    else:
        assert adapted["classes"] == {"binary": [0, 1], "multiclass": ["high", "low", "mid"]}.get(task)
    codes = [c for t in ens["trees"] for c in t.get("cat_left", []) if c is not None]
    assert codes, "expected categorical splits"
    for t in ens["trees"]:
        for i, (a, b) in enumerate(zip(t["children_left"], t["children_right"])):
            assert (a == -1) == (b == -1) and (a == -1 or (a > i and b > i))
    margin, prediction = doc_walker.predict(adapted, x)
    np.testing.assert_allclose(prediction, own_predictions(model, task, x), rtol=0, atol=PREDICTION_TOL)
    _, _, raw = reference_explanation(model, x)
    np.testing.assert_allclose(margin, raw, rtol=0, atol=PREDICTION_TOL)


@pytest.mark.parametrize("name", ["binary", "multiclass", "regression", "dart", "booster_multiclass"])
def test_the_proofs_tree_walk_reads_the_document_as_written(name):
    # The build-time proof checks base value + sum(SHAP) against this walk: it must reach the leaves the
    # format's text says (missing values, categories unseen or out of range, records on thresholds),
    # from JSON lists and from the packed fields alike.
    _, task, adapted, x = fitted(name)
    expected = doc_walker.margins(adapted["ensemble"], x)
    np.testing.assert_array_equal(leaf_margins(adapted["ensemble"], x), expected)
    packed = json.loads(json.dumps(pack_trees(adapted["ensemble"])))
    np.testing.assert_array_equal(leaf_margins(packed, x), expected)


@pytest.mark.parametrize("name", ["binary", "multiclass", "regression", "sigmoid2", "rf_binary", "rf_multiclass"])
def test_pred_contrib_is_the_exact_path_dependent_shap(name):
    model, _, adapted, x = fitted(name)
    values, expected, raw = reference_explanation(model, x)
    exact, base, margin = brute_shapley.shapley(adapted["ensemble"], x, N_FEATURES)
    np.testing.assert_allclose(values, exact, rtol=0, atol=SHAP_TOL)
    np.testing.assert_allclose(expected, base, rtol=0, atol=SHAP_TOL)
    np.testing.assert_allclose(raw, margin, rtol=0, atol=PREDICTION_TOL)


def test_cover_is_the_data_count_not_the_hessian_sum():
    model, _, adapted, x = fitted("binary")
    values, _, _ = reference_explanation(model, x[:20])
    weighted = json.loads(json.dumps(adapted["ensemble"]))
    dump = model.booster_.dump_model()
    for t, info in zip(weighted["trees"], dump["tree_info"]):
        t["cover"] = _preorder_weights(info["tree_structure"])
    assert len(weighted["trees"][0]["cover"]) == len(adapted["ensemble"]["trees"][0]["cover"])
    hessian, _, _ = brute_shapley.shapley(weighted, x[:20], N_FEATURES)
    assert np.abs(hessian - values).max() > 1e-4


def _preorder_weights(node: dict) -> list[float]:
    if "split_feature" not in node:
        return [float(node.get("leaf_weight", 1.0))]
    return [float(node["internal_weight"])] + _preorder_weights(node["left_child"]) + \
        _preorder_weights(node["right_child"])


@pytest.mark.parametrize("name", MODELS)
def test_explainer_matches_pred_contrib(name):
    explainer_class = tree_model_explainer()
    model, _, adapted, x = fitted(name)
    values, expected, raw = reference_explanation(model, x)
    ours = explainer_class(adapted["ensemble"], N_FEATURES).explain(x)
    np.testing.assert_allclose(ours.margin, raw, rtol=0, atol=PREDICTION_TOL)
    np.testing.assert_allclose(ours.shap, values, rtol=0, atol=SHAP_TOL)
    np.testing.assert_allclose(ours.base_value, expected, rtol=0, atol=SHAP_TOL)
    np.testing.assert_allclose(ours.base_value + ours.shap.sum(axis=2), ours.margin, rtol=0, atol=ADDITIVITY_TOL)


def test_missing_rules_of_numeric_and_categorical_splits():
    """NaN: default_left where missing_type is 'NaN', where 0.0 goes for 'None'; right at a category split."""
    _, _, adapted, _ = fitted("binary")
    dump = fitted("binary")[0].booster_.dump_model()
    seen = set()
    for t, info in zip(adapted["ensemble"]["trees"], dump["tree_info"]):
        for i, node in enumerate(_preorder_nodes(info["tree_structure"])):
            if "split_feature" not in node:
                continue
            kind = node["decision_type"], node["missing_type"]
            seen.add(kind)
            if kind[0] == "==":
                assert t["missing_left"][i] == 0
                assert t["cat_left"][i] == sorted(int(c) for c in node["threshold"].split("||"))
            elif kind[1] == "NaN":
                assert t["missing_left"][i] == int(node["default_left"])
            else:
                assert t["missing_left"][i] == int(0.0 <= node["threshold"])
    assert {("<=", "NaN"), ("<=", "None")} <= seen and any(k[0] == "==" for k in seen)


def _preorder_nodes(node: dict) -> list[dict]:
    if "split_feature" not in node:
        return [node]
    return [node] + _preorder_nodes(node["left_child"]) + _preorder_nodes(node["right_child"])


def test_values_lightgbm_reads_as_zero_follow_zero():
    """LightGBM reads |x| <= 1e-35f as 0.0 and splits around zero at +-1e-35f: x == -1e-35f goes
    right there (as 0.0 does), not left as ``x <= threshold`` alone would say."""
    x = np.random.default_rng(0).choice([-1.0, 0.0, 1.0], size=(300, 1))
    y = (x[:, 0] < 0) + 2.0 * (x[:, 0] > 0)
    booster = lgb.train({"objective": "regression", "verbose": -1, "min_data_in_leaf": 5, "num_leaves": 3,
                         "num_threads": 1}, lgb.Dataset(x, y), num_boost_round=1)
    band = float(np.float32(1e-35))
    thresholds = [n["threshold"] for n in _preorder_nodes(booster.dump_model()["tree_info"][0]["tree_structure"])
                  if "threshold" in n]
    assert sorted(thresholds) == [-band, band]
    probe = np.array([[-2 * band], [np.nextafter(-band, -np.inf)], [-band], [-band / 2], [0.0], [band / 2],
                      [band], [np.nextafter(band, np.inf)], [2 * band], [np.nan]])
    adapted = export_lightgbm(booster)
    margin, _ = doc_walker.predict(adapted, probe)
    np.testing.assert_allclose(margin[:, 0], booster.predict(probe), rtol=0, atol=PREDICTION_TOL)
    assert len(set(margin[:, 0].round(9))) == 3


def test_single_leaf_trees():
    x = records(np.random.default_rng(2), 50, unseen=False)
    model = lgb.LGBMRegressor(n_estimators=3, min_child_samples=100, verbose=-1).fit(x, labels(x, "regression"))
    adapted = export_lightgbm(model)
    assert all(len(t["value"]) == 1 for t in adapted["ensemble"]["trees"])
    margin, prediction = doc_walker.predict(adapted, x)
    np.testing.assert_allclose(prediction[:, 0], model.predict(x), rtol=0, atol=PREDICTION_TOL)


def _names_supported(message: str) -> None:
    assert "supported" in message


@pytest.mark.parametrize("params, y_kind, match", [
    ({"objective": "poisson"}, "positive", "poisson"),
    ({"objective": "gamma"}, "positive", "gamma"),
    ({"objective": "tweedie"}, "positive", "tweedie"),
    ({"objective": "cross_entropy"}, "fraction", "cross_entropy"),
    ({"objective": "multiclassova", "num_class": 3}, "classes", "multiclassova"),
    ({"objective": "lambdarank"}, "rank", "lambdarank"),
    ({"objective": "regression", "reg_sqrt": True}, "positive", "reg_sqrt"),
    ({"objective": "regression", "zero_as_missing": True}, "regression", "zero_as_missing"),
    ({"objective": "regression", "linear_tree": True}, "regression", "linear_tree"),
], ids=["poisson", "gamma", "tweedie", "cross_entropy", "multiclassova", "lambdarank", "reg_sqrt",
        "zero_as_missing", "linear_tree"])
def test_unsupported_models_are_refused(params, y_kind, match):
    x = records(np.random.default_rng(3), 200, unseen=False)
    x[:, 2] = np.where(np.abs(x[:, 2]) < 0.5, 0.0, x[:, 2])  # zeros for zero_as_missing
    s = labels(x, "regression")
    y = {"positive": s, "regression": s - 10, "fraction": (s - s.min()) / np.ptp(s),
         "classes": np.digitize(s, [9.5, 10.5]), "rank": np.digitize(s, [9.5, 10.5])}[y_kind]
    data = lgb.Dataset(x, y, group=[20] * 10 if y_kind == "rank" else None)
    booster = lgb.train({**params, "verbose": -1, "num_threads": 1}, data, num_boost_round=2)
    with pytest.raises(ExportError, match=match) as info:
        export_lightgbm(booster)
    _names_supported(str(info.value))


def test_not_a_lightgbm_model():
    with pytest.raises(ExportError, match="LGBMClassifier"):
        export_lightgbm(object())
    with pytest.raises(ExportError, match="LGBMClassifier"):
        export_lightgbm(lgb.LGBMClassifier())  # not fitted
