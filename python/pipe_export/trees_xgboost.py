"""XGBoost adapter: a gbtree model's JSON (``save_raw("json")`` / ``save_model("x.json")``) to the
``ensemble`` form of model_format.py, read without importing xgboost.

What XGBoost's JSON holds (checked against XGBoost 1.7.4's own predictions and ``pred_contribs``):

* ``learner.learner_model_param.base_score`` is a string: ``"5E-1"`` or, from XGBoost 3.1, a list
  string (``"[5E-1]"``, one value per class for multi-class). For ``binary:logistic`` it is a
  probability and the margin starts at ``logit(base_score)``; for every other supported objective
  (``binary:logitraw`` included, XGBoost >= 1.4) it is the margin itself.
* A tree node sends ``x`` left when ``float32(x) < split_condition`` (float32), NaN to
  ``default_left``. The format's ``x <= threshold`` with ``compare: float32`` is the same test when
  threshold is the next float32 below ``split_condition``.
* At a leaf ``split_conditions`` holds the leaf value, learning rate (and 1 / num_parallel_tree)
  included; ``sum_hessian`` is the cover XGBoost's TreeSHAP uses.
* A categorical split (``split_type`` 1) lists its categories in ``categories`` (the node's slice
  given by ``categories_nodes`` / ``categories_segments`` / ``categories_sizes``): a listed code goes
  to the RIGHT child, every other code (unseen ones included) to the left. The format lists the codes
  that go left, so such a node is emitted with its children swapped (and missing_left flipped).
* ``tree_info[i]`` is the class tree i adds to; trees of one iteration are num_class x
  num_parallel_tree consecutive entries; the margin just adds every tree's leaf.

Every tree is exported (like ``Booster.predict`` without ``iteration_range``): a model trained with
early stopping through the scikit-learn wrapper predicts with its best iteration only, so pass
``iteration_range=(0, best_iteration + 1)`` to export the same trees.
Missing values are NaN (XGBoost's default ``missing``); a model trained with another ``missing``
sentinel is not recognisable from its JSON.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from .model_format import ExportError

BINARY = ("binary:logistic", "binary:logitraw")
MULTICLASS = ("multi:softprob", "multi:softmax")
REGRESSION = ("reg:squarederror", "reg:absoluteerror", "reg:pseudohubererror", "reg:quantileerror")
SUPPORTED = (f"booster 'gbtree' with objective {', '.join(BINARY + MULTICLASS + REGRESSION)} "
             "(reg:quantileerror with one quantile)")


def export_xgboost(model: Any, iteration_range: tuple[int, int] | None = None) -> dict:
    """The adapter dict of model_format.py for an XGBoost gbtree model.

    ``model``: an XGBClassifier / XGBRegressor / Booster (anything with ``get_booster()`` or
    ``save_raw("json")``), a parsed JSON model dict, JSON text / bytes, or the path to a ``.json``
    model file. ``iteration_range=(begin, end)`` keeps the trees of boosting rounds begin..end-1.
    """
    doc = _load(model)
    try:
        learner = doc["learner"]
        objective = learner["objective"]
        name = objective["name"]
        booster = learner["gradient_booster"]
        param = learner["learner_model_param"]
    except (KeyError, TypeError) as exc:
        raise ExportError(f"not an XGBoost JSON model (missing {exc}); save it with "
                          "save_model('model.json') or booster.save_raw('json')") from exc

    booster_name = booster.get("name")
    if booster_name != "gbtree":
        raise ExportError(f"XGBoost booster {booster_name!r} is not supported; supported: {SUPPORTED}")
    n_targets = int(param.get("num_target", "1") or 1)
    if n_targets > 1:
        raise ExportError(f"XGBoost multi-target models (num_target={n_targets}) are not supported; "
                          f"supported: {SUPPORTED}")

    version = tuple(int(v) for v in doc.get("version", [0, 0, 0]))
    n_class = int(param.get("num_class", "0") or 0)
    if name in BINARY:
        task, link, shap_output, n_outputs = "binary", "sigmoid", "log_odds", 1
        if name == "binary:logitraw" and version < (1, 4, 0):
            raise ExportError("binary:logitraw models saved by XGBoost < 1.4 apply a different base_score "
                              "convention; retrain with XGBoost >= 1.4")
    elif name in MULTICLASS:
        task, link, shap_output, n_outputs = "multiclass", "softmax", "log_odds", n_class
        if n_class < 2:
            raise ExportError(f"{name} model with num_class={n_class}: expected at least 2 classes")
    elif name in REGRESSION:
        task, link, shap_output, n_outputs = "regression", "identity", "raw", 1
        if name == "reg:quantileerror":
            alphas = _floats(objective.get("quantile_loss_param", {}).get("quantile_alpha", "[0.5]"))
            if len(alphas) != 1:
                raise ExportError(f"reg:quantileerror with {len(alphas)} quantiles is not supported; "
                                  f"supported: {SUPPORTED}")
    else:
        raise ExportError(f"XGBoost objective {name!r} is not supported; supported: {SUPPORTED}")

    init = _init(param.get("base_score", "5E-1"), name, n_outputs)
    model_part = booster["model"]
    trees = model_part["trees"]
    tree_info = [int(k) for k in model_part.get("tree_info", [0] * len(trees))]
    if len(tree_info) != len(trees):
        raise ExportError(f"tree_info has {len(tree_info)} entries for {len(trees)} trees")
    if any(not 0 <= k < n_outputs for k in tree_info):
        raise ExportError(f"tree_info names classes outside 0..{n_outputs - 1}")
    selected = range(len(trees))
    if iteration_range is not None:
        per_round = n_outputs * int(model_part.get("gbtree_model_param", {}).get("num_parallel_tree", "1"))
        begin, end = (int(v) for v in iteration_range)
        if not 0 <= begin < end:
            raise ExportError(f"iteration_range must be (begin, end) with 0 <= begin < end, got {iteration_range}")
        selected = range(begin * per_round, min(end * per_round, len(trees)))
    out_trees = [_tree(trees[i], tree_info[i]) for i in selected]
    if not out_trees:
        raise ExportError("the XGBoost model has no trees in the exported range")

    return {
        "task": task,
        "classes": _classes(model, task, n_outputs),
        "link": link,
        "shap_output": shap_output,
        "native_missing": True,
        "ensemble": {"n_outputs": n_outputs, "init": init, "compare": "float32", "trees": out_trees},
    }


def _load(model: Any) -> dict:
    if isinstance(model, dict):
        return model
    if isinstance(model, (bytes, bytearray)):
        return _parse(bytes(model).decode("utf-8"))
    if isinstance(model, (str, os.PathLike)):
        text = str(model)
        if isinstance(model, str) and text.lstrip().startswith("{"):
            return _parse(text)
        path = Path(model)
        if path.suffix.lower() != ".json":
            raise ExportError(f"{path}: only XGBoost's JSON model format is read; save the model with "
                              "save_model('model.json')")
        return _parse(path.read_text(encoding="utf-8"))
    booster = model.get_booster() if hasattr(model, "get_booster") else model
    if hasattr(booster, "save_raw"):
        return _parse(bytes(booster.save_raw("json")).decode("utf-8"))
    raise ExportError(f"cannot read an XGBoost model from {type(model).__name__}: pass an XGBClassifier, "
                      "XGBRegressor, Booster, a JSON model dict or the path to a .json model")


def _parse(text: str) -> dict:
    try:
        doc = json.loads(text)  # categorical nodes hold NaN split conditions: json reads them
    except ValueError as exc:
        raise ExportError(f"not an XGBoost JSON model: {exc}") from exc
    if not isinstance(doc, dict):
        raise ExportError("not an XGBoost JSON model: the top level is not an object")
    return doc


def _floats(text: Any) -> list[float]:
    """'5E-1', '[5E-1]', '[1E0,2E0]' (or an already parsed number / list) as floats."""
    if isinstance(text, (int, float)):
        return [float(text)]
    if isinstance(text, list):
        return [float(v) for v in text]
    s = str(text).strip()
    if s.startswith("[") and s.endswith("]"):
        s = s[1:-1]
    try:
        return [float(v) for v in s.split(",") if v.strip()]
    except ValueError as exc:
        raise ExportError(f"cannot read XGBoost base_score / parameter {text!r}") from exc


def _init(base_score: Any, objective: str, n_outputs: int) -> list[float]:
    values = _floats(base_score)
    if len(values) == 1:
        values = values * n_outputs
    if len(values) != n_outputs:
        raise ExportError(f"base_score {base_score!r} has {len(values)} values for {n_outputs} outputs")
    out = []
    for v in values:
        v = float(np.float32(v))  # XGBoost keeps base_score as float32
        if objective == "binary:logistic":
            if not 0.0 < v < 1.0:
                raise ExportError(f"binary:logistic base_score {v} is not a probability in (0, 1)")
            v = math.log(v / (1.0 - v))
        out.append(float(np.float32(v)))  # the margin XGBoost starts from is float32 too
    return out


def _tree(tree: dict, output: int) -> dict:
    left = [int(v) for v in tree["left_children"]]
    right = [int(v) for v in tree["right_children"]]
    feature = [int(v) for v in tree["split_indices"]]
    cond = np.asarray(tree["split_conditions"], dtype=np.float64).astype(np.float32)
    default_left = [int(v) for v in tree["default_left"]]
    cover = [float(v) for v in tree["sum_hessian"]]
    n = len(left)
    if not (len(right) == len(feature) == cond.size == len(default_left) == len(cover) == n) or n == 0:
        raise ExportError(f"XGBoost tree {tree.get('id')}: node arrays of different lengths")
    size_leaf = int(tree.get("tree_param", {}).get("size_leaf_vector", "0") or 0)
    if size_leaf > 1:
        raise ExportError("XGBoost vector-leaf trees (multi_strategy='multi_output_tree') are not supported; "
                          f"supported: {SUPPORTED}")
    split_type = [int(v) for v in tree.get("split_type", [0] * n)]
    categories: dict[int, list[int]] = {}
    nodes = tree.get("categories_nodes", [])
    for j, node in enumerate(nodes):
        start, size = int(tree["categories_segments"][j]), int(tree["categories_sizes"][j])
        categories[int(node)] = sorted(int(c) for c in tree["categories"][start:start + size])
    # The threshold just below split_condition in float32: x32 < cond <=> x32 <= below.
    below = np.nextafter(cond, np.float32(-np.inf))

    out = {k: [] for k in ("children_left", "children_right", "feature", "threshold", "missing_left",
                           "cat_left", "value", "cover")}
    # Pre-order renumbering from the root: children always after their parent, unreachable (deleted)
    # nodes dropped.
    stack, new_id, order = [0], {}, []
    while stack:
        node = stack.pop()
        if not 0 <= node < n or node in new_id:
            raise ExportError(f"XGBoost tree {tree.get('id')}: malformed node links at node {node}")
        new_id[node] = len(order)
        order.append(node)
        if left[node] != -1:
            stack.extend((right[node], left[node]))
    has_cat = False
    for node in order:
        if left[node] == -1:
            out["children_left"].append(-1)
            out["children_right"].append(-1)
            out["feature"].append(-1)
            out["threshold"].append(0.0)
            out["missing_left"].append(0)
            out["cat_left"].append(None)
            out["value"].append(float(cond[node]))
        else:
            low, high, miss_left = left[node], right[node], default_left[node]
            if split_type[node] == 1:
                # XGBoost sends the listed categories right: list them as going left, children swapped.
                if node not in categories:
                    raise ExportError(f"XGBoost tree {tree.get('id')}: categorical node {node} has no categories")
                low, high, miss_left = high, low, 1 - miss_left
                out["cat_left"].append(categories[node])
                out["threshold"].append(0.0)
                has_cat = True
            elif split_type[node] == 0:
                if np.isnan(cond[node]):
                    raise ExportError(f"XGBoost tree {tree.get('id')}: numeric node {node} has no split value")
                out["cat_left"].append(None)
                out["threshold"].append(float(below[node]))
            else:
                raise ExportError(f"XGBoost tree {tree.get('id')}: unknown split_type {split_type[node]}")
            out["children_left"].append(low)  # old ids: renumbered below, once all are known
            out["children_right"].append(high)
            out["feature"].append(feature[node])
            out["missing_left"].append(int(bool(miss_left)))
            out["value"].append(0.0)
        out["cover"].append(cover[node])
    for side in ("children_left", "children_right"):
        out[side] = [new_id[c] if c != -1 else -1 for c in out[side]]
    if not has_cat:
        del out["cat_left"]
    return {"output": output, **out}


def _classes(model: Any, task: str, n_outputs: int) -> list | None:
    if task == "regression":
        return None
    labels = getattr(model, "classes_", None)  # the scikit-learn wrapper's labels, else 0..K-1
    if labels is not None:
        values = [v.item() if hasattr(v, "item") else v for v in list(labels)]
        if len(values) == max(2, n_outputs):
            return values
    return list(range(max(2, n_outputs)))


ORACLE = "xgboost pred_contribs"
# XGBoost sums leaves and computes pred_contribs in float32, the exported trees in float64: measured
# differences stay below 4e-6 on margins up to 10 (a wrong branch would be off by 1e-3 or more).
PREDICTION_TOLERANCE = 1e-5
SHAP_TOLERANCE = 1e-5


def reference_explanation(model: Any, x) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """XGBoost's own TreeSHAP on ``x`` (the estimator's input): (shap (n, K, F), expected (K,), margins (n, K)),
    or None where xgboost is not installed."""
    try:
        import xgboost
    except ImportError:
        return None
    booster = model.get_booster() if hasattr(model, "get_booster") else model
    matrix = xgboost.DMatrix(np.asarray(x, dtype=np.float64), missing=np.nan)
    contribs = np.asarray(booster.predict(matrix, pred_contribs=True), dtype=np.float64)
    margins = np.asarray(booster.predict(matrix, output_margin=True), dtype=np.float64)
    if contribs.ndim == 2:
        contribs, margins = contribs[:, None, :], margins.reshape(-1, 1)
    return contribs[:, :, :-1], contribs[0, :, -1], margins
