"""export_xgboost against XGBoost itself: margins, links and SHAP values of real models.

xgboost is not installable into the project env here, so test/python/xgb_oracle.py trains the models
with /usr/bin/python3 (Debian's python3-xgboost 1.7, installed by scripts/ensure-xgboost.sh) and
saves their JSON, records and XGBoost's own outputs; the exporter reads the JSON without xgboost.

Tolerances: XGBoost sums leaf values and computes pred_contribs in float32, the walk and the
explainer in float64. Measured on these models (margins up to ~10): margins within 1.6e-6, SHAP
values within 3.6e-6, biases within 1.4e-7; the checks use 1e-5 (plus 1e-6 relative). Routing is
exact: a record routed differently would be off by a whole leaf value (>= 1e-3 here), and the
records include values exactly on, just below and just above every numeric split condition.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pipe_export.model_format import ExportError
from pipe_export.trees_xgboost import export_xgboost

ORACLE_PYTHON = os.environ.get("PIPE_XGBOOST_PYTHON", "/usr/bin/python3")
ORACLE = Path(__file__).with_name("xgb_oracle.py")
MODELS = ["binary_default", "binary_base03", "logitraw_base03", "multi_softprob", "multi_softmax_base02",
          "reg_squared_base", "reg_absolute", "reg_pseudohuber", "reg_parallel", "binary_deep9",
          "cat_partition", "cat_onehot", "cat_multi"]
ATOL, RTOL = 1e-5, 1e-6


def _oracle_has_xgboost() -> bool:
    try:
        return subprocess.run([ORACLE_PYTHON, "-c", "import xgboost, pandas"], capture_output=True,
                              timeout=60).returncode == 0
    except OSError:
        return False


@pytest.fixture(scope="session")
def oracle(tmp_path_factory) -> Path:
    if not _oracle_has_xgboost():
        pytest.skip(f"{ORACLE_PYTHON} cannot import xgboost and pandas: run scripts/ensure-xgboost.sh as root")
    out = tmp_path_factory.mktemp("xgb_oracle")
    result = subprocess.run([ORACLE_PYTHON, str(ORACLE), str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest["models"]) == sorted(MODELS)
    return out


def _load(oracle: Path, name: str) -> tuple[dict, dict, dict]:
    """The exported adapter after a JSON round trip (no NaN allowed), XGBoost's arrays, the manifest entry."""
    adapter = json.loads(json.dumps(export_xgboost(oracle / f"{name}.json"), allow_nan=False))
    arrays = dict(np.load(oracle / f"{name}.npz"))
    info = json.loads((oracle / "manifest.json").read_text())["models"][name]
    return adapter, arrays, info


def walk_margins(ensemble: dict, x: np.ndarray) -> np.ndarray:
    """model_format.py's prediction, written from its text: init + the reached leaf of every tree."""
    dtype = {"float32": np.float32, "float64": np.float64}[ensemble["compare"]]
    xc = np.asarray(x, dtype=np.float64).astype(dtype).astype(np.float64)
    n = xc.shape[0]
    margin = np.tile(np.asarray(ensemble["init"], dtype=np.float64), (n, 1))
    for tree in ensemble["trees"]:
        left, right = np.array(tree["children_left"]), np.array(tree["children_right"])
        feature, threshold = np.array(tree["feature"]), np.array(tree["threshold"], dtype=np.float64)
        missing_left = np.array(tree["missing_left"]) == 1
        cat_left = tree.get("cat_left", [None] * left.size)
        node = np.zeros(n, dtype=np.int64)
        while True:
            rows = np.nonzero(left[node] != -1)[0]
            if not rows.size:
                break
            at = node[rows]
            v = xc[rows, feature[at]]
            go_left = v <= threshold[at]
            for j, (k, value) in enumerate(zip(at, v)):
                if cat_left[k] is not None and not np.isnan(value):
                    go_left[j] = int(value) in cat_left[k]
            go_left = np.where(np.isnan(v), missing_left[at], go_left)
            node[rows] = np.where(go_left, left[at], right[at])
        margin[:, tree["output"]] += np.array(tree["value"], dtype=np.float64)[node]
    return margin


def _check_structure(adapter: dict, info: dict) -> None:
    ens = adapter["ensemble"]
    assert adapter["native_missing"] is True and ens["compare"] == "float32"
    assert ens["n_outputs"] == info["n_outputs"] == len(ens["init"])
    for tree in ens["trees"]:
        for i, (a, b) in enumerate(zip(tree["children_left"], tree["children_right"])):
            assert (a == -1) == (b == -1)
            if a != -1:
                assert a > i and b > i and 0 <= tree["feature"][i] < info["n_features"]
        assert 0 <= tree["output"] < ens["n_outputs"]


@pytest.mark.parametrize("name", MODELS)
def test_margins_and_predictions_match_xgboost(oracle, name):
    adapter, arrays, info = _load(oracle, name)
    _check_structure(adapter, info)
    margin = walk_margins(adapter["ensemble"], arrays["x"])
    np.testing.assert_allclose(margin, arrays["margin"], atol=ATOL, rtol=RTOL)

    objective, pred = info["objective"], arrays["pred"]
    if objective == "binary:logistic":
        assert (adapter["task"], adapter["link"], adapter["shap_output"]) == ("binary", "sigmoid", "log_odds")
        np.testing.assert_allclose(1 / (1 + np.exp(-margin[:, 0])), pred, atol=1e-6)
    elif objective == "binary:logitraw":  # XGBoost predicts the margin; the format's link gives P(class 1)
        assert (adapter["task"], adapter["link"]) == ("binary", "sigmoid")
        np.testing.assert_allclose(margin[:, 0], pred, atol=ATOL)
    elif objective.startswith("multi:"):
        assert (adapter["task"], adapter["link"], adapter["shap_output"]) == ("multiclass", "softmax", "log_odds")
        assert adapter["classes"] == [0, 1, 2]
        if objective == "multi:softprob":
            e = np.exp(margin - margin.max(axis=1, keepdims=True))
            np.testing.assert_allclose(e / e.sum(axis=1, keepdims=True), pred.reshape(margin.shape), atol=1e-6)
        else:
            np.testing.assert_array_equal(margin.argmax(axis=1), pred)
    else:
        assert (adapter["task"], adapter["link"], adapter["shap_output"], adapter["classes"]) == \
            ("regression", "identity", "raw", None)
        np.testing.assert_allclose(margin[:, 0], pred, atol=ATOL, rtol=RTOL)
    if adapter["task"] == "binary":
        assert adapter["classes"] == [0, 1]


def test_boundary_records_need_the_float32_step(oracle):
    """XGBoost sends x == split_condition right: with threshold = split_condition the walk goes wrong."""
    adapter, arrays, _ = _load(oracle, "binary_default")
    naive = copy.deepcopy(adapter["ensemble"])
    for tree in naive["trees"]:
        tree["threshold"] = [float(np.nextafter(np.float32(t), np.float32(np.inf))) if left != -1 else t
                             for t, left in zip(tree["threshold"], tree["children_left"])]
    wrong = np.abs(walk_margins(naive, arrays["x"]) - arrays["margin"]).max(axis=1)
    assert (wrong > 1e-3).sum() >= 10


@pytest.mark.parametrize("name", ["cat_partition", "cat_onehot", "cat_multi"])
def test_categorical_splits_are_exported(oracle, name):
    adapter, arrays, info = _load(oracle, name)
    codes = arrays["x"][:, info["categorical"][0]]
    assert {8.0, 9.0} <= set(codes[~np.isnan(codes)].tolist())  # codes never seen in training
    nodes = [c for tree in adapter["ensemble"]["trees"] for c in tree.get("cat_left", []) if c is not None]
    assert nodes and all(c == sorted(set(c)) for c in nodes)
    if name == "cat_onehot":
        assert all(len(c) == 1 for c in nodes)
    else:
        assert any(len(c) > 1 for c in nodes)


@pytest.mark.parametrize("name", ["multi_softprob", "reg_parallel"])
def test_iteration_range_matches_xgboost(oracle, name):
    arrays = dict(np.load(oracle / f"{name}.npz"))
    begin, end = (int(v) for v in arrays["iteration_range"])
    full = export_xgboost(oracle / f"{name}.json")
    part = export_xgboost(oracle / f"{name}.json", iteration_range=(begin, end))
    assert 0 < len(part["ensemble"]["trees"]) < len(full["ensemble"]["trees"])
    np.testing.assert_allclose(walk_margins(part["ensemble"], arrays["x"]), arrays["margin_range"],
                               atol=ATOL, rtol=RTOL)


def _tree_model_explainer():
    explainer = pytest.importorskip("explainer")
    if not hasattr(explainer, "TreeModelExplainer"):
        pytest.skip("handler/explainer.py has no TreeModelExplainer yet")
    return explainer.TreeModelExplainer


@pytest.mark.parametrize("name", MODELS)
def test_explainer_shap_matches_pred_contribs(oracle, name):
    explainer_class = _tree_model_explainer()
    adapter, arrays, info = _load(oracle, name)
    explanation = explainer_class(adapter["ensemble"], info["n_features"]).explain(arrays["x"].astype(np.float64))
    contribs = arrays["contribs"]  # (n, K, F + 1), the last column XGBoost's bias
    np.testing.assert_allclose(explanation.margin, arrays["margin"], atol=ATOL, rtol=RTOL)
    np.testing.assert_allclose(explanation.shap, contribs[:, :, :-1], atol=ATOL, rtol=RTOL)
    np.testing.assert_allclose(np.broadcast_to(explanation.base_value, contribs[:, :, -1].shape),
                               contribs[:, :, -1], atol=ATOL, rtol=RTOL)
    np.testing.assert_allclose(explanation.base_value + explanation.shap.sum(axis=2), explanation.margin,
                               atol=1e-9, rtol=0)


@pytest.mark.parametrize("name", ["refused_dart", "refused_gblinear", "refused_poisson", "refused_reg_logistic"])
def test_real_unsupported_models_are_refused(oracle, name):
    with pytest.raises(ExportError) as info:
        export_xgboost(oracle / f"{name}.json")
    _names_supported(str(info.value))


# ---- hand-written JSON: no xgboost needed --------------------------------------------------------------


def _stump(k: int = 0) -> dict:
    return {"id": k, "left_children": [1, -1, -1], "right_children": [2, -1, -1], "parents": [2147483647, 0, 0],
            "split_indices": [0, 0, 0], "split_conditions": [0.5, -0.25 + k, 0.75], "default_left": [1, 0, 0],
            "split_type": [0, 0, 0], "sum_hessian": [10.0, 4.0, 6.0], "base_weights": [0.0, -0.25 + k, 0.75],
            "loss_changes": [1.0, 0.0, 0.0], "categories": [], "categories_nodes": [], "categories_segments": [],
            "categories_sizes": [], "tree_param": {"num_deleted": "0", "num_feature": "2", "num_nodes": "3",
                                                   "size_leaf_vector": "0"}}


def _doc(objective="binary:logistic", base_score="5E-1", num_class=0, booster="gbtree") -> dict:
    k = max(num_class, 1)
    trees = [_stump(i) for i in range(k)]
    gbtree = {"name": "gbtree", "model": {"gbtree_model_param": {"num_parallel_tree": "1", "num_trees": str(k)},
                                          "tree_info": list(range(k)), "trees": trees}}
    if booster == "dart":
        gbtree = {"name": "dart", "gbtree": gbtree, "weight_drop": [1.0] * k}
    elif booster == "gblinear":
        gbtree = {"name": "gblinear", "model": {"weights": [0.1, 0.2, 0.0]}}
    return {"version": [1, 7, 4], "learner": {
        "attributes": {}, "feature_names": [], "feature_types": [], "gradient_booster": gbtree,
        "learner_model_param": {"base_score": base_score, "boost_from_average": "1", "num_class": str(num_class),
                                "num_feature": "2", "num_target": "1"},
        "objective": {"name": objective}}}


@pytest.mark.parametrize("objective, num_class, scalar, listed", [
    ("binary:logistic", 0, "3E-1", "[3E-1]"),
    ("reg:squarederror", 0, "2.5E0", "[2.5E0]"),
    ("multi:softprob", 3, "5E-1", "[5E-1]"),
])
def test_base_score_list_string_reads_as_the_scalar(objective, num_class, scalar, listed):
    a = export_xgboost(_doc(objective, scalar, num_class))
    b = export_xgboost(_doc(objective, listed, num_class))
    assert a == b
    expected = np.log(0.3 / 0.7) if objective == "binary:logistic" else float(scalar)
    np.testing.assert_allclose(a["ensemble"]["init"], [expected] * max(num_class, 1), rtol=1e-6)


def test_base_score_per_class_list():
    init = export_xgboost(_doc("multi:softprob", "[-3.95E-2,1.97E-1,-1.57E-1]", 3))["ensemble"]["init"]
    np.testing.assert_allclose(init, [-3.95e-2, 1.97e-1, -1.57e-1], rtol=1e-6)
    with pytest.raises(ExportError, match="2 values for 3 outputs"):
        export_xgboost(_doc("multi:softprob", "[1E0,2E0]", 3))


def test_threshold_is_the_float32_below_the_split_condition():
    tree = export_xgboost(_doc())["ensemble"]["trees"][0]
    assert tree["threshold"][0] == float(np.nextafter(np.float32(0.5), np.float32(-1)))
    assert tree["threshold"][0] < 0.5 and np.float32(tree["threshold"][0]) == tree["threshold"][0]
    assert tree["value"] == [0.0, -0.25, 0.75] and tree["cover"] == [10.0, 4.0, 6.0]
    assert tree["missing_left"] == [1, 0, 0] and "cat_left" not in tree


def test_categorical_node_lists_the_right_going_codes_as_left():
    doc = _doc()
    tree = doc["learner"]["gradient_booster"]["model"]["trees"][0]
    tree.update(split_type=[1, 0, 0], split_conditions=[float("nan"), -0.25, 0.75], default_left=[1, 0, 0],
                categories=[4, 1], categories_nodes=[0], categories_segments=[0], categories_sizes=[2])
    out = export_xgboost(doc)["ensemble"]["trees"][0]
    # XGBoost: codes 1 and 4 -> right child (0.75), others -> left (-0.25), NaN -> left (default_left).
    assert out["cat_left"][0] == [1, 4]
    assert out["value"][out["children_left"][0]] == 0.75 and out["value"][out["children_right"][0]] == -0.25
    assert out["missing_left"][0] == 0
    margins = walk_margins(export_xgboost(doc)["ensemble"], np.array([[1.0, 0], [4.0, 0], [0.0, 0], [9.0, 0],
                                                                      [np.nan, 0]]))
    np.testing.assert_allclose(margins[:, 0], [0.75, 0.75, -0.25, -0.25, -0.25])


def _names_supported(message: str) -> None:
    for name in ("gbtree", "binary:logistic", "binary:logitraw", "multi:softprob", "multi:softmax",
                 "reg:squarederror", "reg:absoluteerror", "reg:pseudohubererror", "reg:quantileerror"):
        assert name in message, message


@pytest.mark.parametrize("objective", ["reg:logistic", "count:poisson", "survival:cox", "survival:aft",
                                       "rank:pairwise", "reg:gamma", "reg:tweedie", "binary:hinge"])
def test_unsupported_objectives_are_refused(objective):
    with pytest.raises(ExportError, match=objective) as info:
        export_xgboost(_doc(objective))
    _names_supported(str(info.value))


def test_quantile_regression_with_one_quantile_only():
    doc = _doc("reg:quantileerror", "[1.5E0]")
    doc["learner"]["objective"]["quantile_loss_param"] = {"quantile_alpha": "[0.5]"}
    out = export_xgboost(doc)
    assert (out["task"], out["link"], out["ensemble"]["init"]) == ("regression", "identity", [1.5])
    doc["learner"]["objective"]["quantile_loss_param"] = {"quantile_alpha": "[0.1,0.9]"}
    with pytest.raises(ExportError, match="2 quantiles") as info:
        export_xgboost(doc)
    _names_supported(str(info.value))
    doc = _doc("reg:squarederror")
    doc["learner"]["learner_model_param"]["num_target"] = "2"
    with pytest.raises(ExportError, match="multi-target"):
        export_xgboost(doc)


@pytest.mark.parametrize("booster", ["dart", "gblinear"])
def test_unsupported_boosters_are_refused(booster):
    with pytest.raises(ExportError, match=booster) as info:
        export_xgboost(_doc(booster=booster))
    _names_supported(str(info.value))


def test_reads_estimators_boosters_text_and_paths(tmp_path):
    doc = _doc("multi:softprob", "5E-1", 3)
    raw = json.dumps(doc).encode()

    class Booster:
        def save_raw(self, raw_format="deprecated"):
            assert raw_format == "json"
            return bytearray(raw)

    class Classifier:
        classes_ = np.array([0, 1, 2])

        def get_booster(self):
            return Booster()

    path = tmp_path / "model.json"
    path.write_bytes(raw)
    expected = export_xgboost(doc)
    for model in (Booster(), Classifier(), raw, raw.decode(), path, str(path)):
        assert export_xgboost(model) == expected
    assert export_xgboost(Classifier())["classes"] == [0, 1, 2]
    with pytest.raises(ExportError, match="JSON"):
        export_xgboost(tmp_path / "model.ubj")
