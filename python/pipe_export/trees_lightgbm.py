"""LightGBM adapter: a fitted LightGBM 4 model to the ``ensemble`` form of model_format.py, read from
``booster.dump_model()``.

What the dump holds (checked against LightGBM 4.7's own predict(raw_score=True) and pred_contrib):

* ``tree_info[i].tree_structure`` is a nested tree; a split node's ``threshold`` is a double and a
  record goes left when ``x <= threshold`` (compared in float64). ``missing_type`` says what NaN
  does there: 'NaN' follows ``default_left``; 'None' means NaN is read as 0.0, so it goes where 0.0
  goes; 'Zero' (zero_as_missing) also sends zeros to the default side, which the format cannot say.
* LightGBM reads any |x| <= kZeroThreshold (1e-35f) as 0.0 before comparing (predict and
  pred_contrib alike). A threshold inside that band (LightGBM puts its zero splits at +-1e-35f) is
  moved to the band's edge on the side 0.0 takes, so every value in the band goes where 0.0 goes.
* A categorical split (``decision_type`` '==') lists the codes going left as 'a||b||c'; every other
  code, NaN and negative values go right.
* ``leaf_value`` includes the learning rate, and the first tree holds the boost-from-average
  start, so init is 0. ``average_output`` (boosting='rf') divides the sum by the number of
  iterations: the leaf values are divided here instead.
* LightGBM's TreeSHAP (pred_contrib) weighs nodes by their data counts ``internal_count`` /
  ``leaf_count``, not by ``internal_weight`` (the hessian sum): those counts are the cover.
* Tree i adds to class ``i % num_tree_per_iteration``.

``binary`` with ``sigmoid:s`` predicts ``1 / (1 + exp(-s * raw))``: values are multiplied by s, so
the margin is the log-odds (s = 1 by default).
"""

from __future__ import annotations

import numpy as np

from .model_format import ExportError

BINARY = ("binary",)
MULTICLASS = ("multiclass",)
REGRESSION = ("regression", "regression_l1", "huber", "fair", "quantile", "mape")
SUPPORTED = (f"LightGBM objectives {', '.join(BINARY + MULTICLASS + REGRESSION)} (alias softmax for multiclass; "
             "not reg_sqrt), boosting gbdt, dart, goss or rf, numerical splits with missing_type None or NaN, "
             "categorical splits, no linear_tree")
ORACLE = "lightgbm pred_contrib"
# LightGBM's kZeroThreshold: the float 1e-35f, as a double.
ZERO_BAND = float(np.float32(1e-35))


def export_lightgbm(model) -> dict:
    """The adapter dict of model_format.py for an LGBMClassifier, LGBMRegressor or Booster."""
    booster = _booster(model)
    dump = booster.dump_model()
    task, link, shap_output, n_outputs, scale = _objective(dump)
    per_iteration = int(dump.get("num_tree_per_iteration", 1))
    if per_iteration != n_outputs:
        raise ExportError(f"the model has {per_iteration} tree(s) per iteration for {n_outputs} output(s)")
    infos = dump["tree_info"]
    if not infos:
        raise ExportError("the LightGBM model has no trees")
    scale *= _averaging(dump, n_outputs)
    trees = [_tree(info["tree_structure"], i % per_iteration, scale) for i, info in enumerate(infos)]
    return {
        "task": task,
        "classes": _classes(model, task, n_outputs),
        "link": link,
        "shap_output": shap_output,
        "native_missing": True,
        "ensemble": {"n_outputs": n_outputs, "init": [0.0] * n_outputs, "compare": "float64", "trees": trees},
    }


def reference_explanation(model, X):
    """LightGBM's own TreeSHAP: ``(pred_contrib (n, K, F), expected value (K,), raw_score (n, K))``,
    scaled like the document (sigmoid:s, average_output). Exact for every model export_lightgbm
    accepts, categorical splits and NaN included: LightGBM walks its own trees."""
    booster = _booster(model)
    dump = booster.dump_model()
    _, _, _, n_outputs, scale = _objective(dump)
    # raw_score and pred_contrib are the trees' plain sums even with average_output (LightGBM 4.7):
    # only predict's own output is averaged. Scaled here like the document's leaf values.
    scale *= _averaging(dump, n_outputs)
    contrib = np.asarray(booster.predict(X, pred_contrib=True), dtype=np.float64)
    contrib = contrib.reshape(contrib.shape[0], n_outputs, -1) * scale
    raw = np.asarray(booster.predict(X, raw_score=True), dtype=np.float64).reshape(contrib.shape[0], n_outputs)
    return contrib[:, :, :-1], contrib[0, :, -1].copy(), raw * scale


def _booster(model):
    booster = getattr(model, "booster_", model)
    if not hasattr(booster, "dump_model"):
        raise ExportError(f"cannot read a LightGBM model from {type(model).__name__}; pass a fitted "
                          "LGBMClassifier, LGBMRegressor or Booster")
    return booster


def _averaging(dump: dict, n_outputs: int) -> float:
    """Random-forest mode (average_output): predict divides each output's sum by the iterations."""
    if not dump.get("average_output"):
        return 1.0
    return n_outputs / len(dump["tree_info"])


def _objective(dump: dict) -> tuple[str, str, str, int, float]:
    """(task, link, shap_output, n_outputs, leaf value scale) from the dump's objective string."""
    text = str(dump.get("objective", ""))
    name, *params = text.split() or [""]
    options = dict(p.split(":", 1) for p in params if ":" in p)
    if name in BINARY:
        return "binary", "sigmoid", "log_odds", 1, float(options.get("sigmoid", 1.0))
    if name in MULTICLASS:
        n_class = int(dump.get("num_class", options.get("num_class", 0)))
        if n_class < 2:
            raise ExportError(f"multiclass model with num_class={n_class}: expected at least 2 classes")
        return "multiclass", "softmax", "log_odds", n_class, 1.0
    if name in REGRESSION:
        if "sqrt" in params:
            raise ExportError("LightGBM regression with reg_sqrt=True (predictions are squared) is not supported; "
                              f"supported: {SUPPORTED}")
        return "regression", "identity", "raw", 1, 1.0
    raise ExportError(f"LightGBM objective {text!r} is not supported (its prediction is not a sigmoid, softmax "
                      f"or the raw sum of the trees); supported: {SUPPORTED}")


def _tree(root: dict, output: int, scale: float) -> dict:
    """The nested tree in pre-order (parents before children), one entry per node."""
    out = {k: [] for k in ("children_left", "children_right", "feature", "threshold", "missing_left",
                           "cat_left", "value", "cover")}
    # (node, index of the parent's slot to fill with this node's id); the root has none.
    stack: list[tuple[dict, tuple[str, int] | None]] = [(root, None)]
    while stack:
        node, slot = stack.pop()
        me = len(out["value"])
        if slot is not None:
            out[slot[0]][slot[1]] = me
        if "split_feature" not in node:
            _leaf(out, node, scale)
            continue
        _split(out, node)
        # Right pushed first so the left subtree is numbered first: pre-order.
        stack.append((node["right_child"], ("children_right", me)))
        stack.append((node["left_child"], ("children_left", me)))
    if all(c is None for c in out["cat_left"]):
        del out["cat_left"]
    return {"output": output, **out}


def _leaf(out: dict, node: dict, scale: float) -> None:
    if "leaf_value" not in node:
        raise ExportError(f"malformed LightGBM tree node: {sorted(node)}")
    if "leaf_coeff" in node:
        raise ExportError(f"LightGBM linear trees (linear_tree=True) are not supported; supported: {SUPPORTED}")
    # A tree that is one leaf has no leaf_count; its cover weighs nothing (no split to share).
    for key, item in (("children_left", -1), ("children_right", -1), ("feature", -1), ("threshold", 0.0),
                      ("missing_left", 0), ("cat_left", None), ("value", float(node["leaf_value"]) * scale),
                      ("cover", float(node.get("leaf_count", 1)))):
        out[key].append(item)


def _split(out: dict, node: dict) -> None:
    decision = node.get("decision_type")
    missing = node.get("missing_type", "None")
    if decision == "<=":
        threshold = _threshold(float(node["threshold"]))
        if missing == "NaN":
            missing_left = bool(node.get("default_left", False))
        elif missing == "None":
            missing_left = 0.0 <= threshold  # LightGBM reads NaN as 0.0 here
        else:
            raise ExportError(f"LightGBM missing_type {missing!r} (zero_as_missing=True sends zeros to the "
                              f"default side) is not supported; supported: {SUPPORTED}")
        cat_left = None
    elif decision == "==":
        threshold, missing_left = 0.0, False  # NaN and codes not listed go right
        cat_left = sorted({int(c) for c in str(node["threshold"]).split("||")})
    else:
        raise ExportError(f"LightGBM decision_type {decision!r} is not supported; supported: {SUPPORTED}")
    for key, item in (("children_left", -1), ("children_right", -1), ("feature", int(node["split_feature"])),
                      ("threshold", threshold), ("missing_left", int(missing_left)), ("cat_left", cat_left),
                      ("value", 0.0), ("cover", float(node["internal_count"]))):
        out[key].append(item)


def _threshold(threshold: float) -> float:
    """The same split for doubles that LightGBM first reads as 0.0 (|x| <= ZERO_BAND)."""
    if -ZERO_BAND <= threshold < ZERO_BAND:
        return ZERO_BAND if threshold >= 0.0 else float(np.nextafter(-ZERO_BAND, -np.inf))
    return threshold


def _classes(model, task: str, n_outputs: int) -> list | None:
    """The classifier's labels as JSON values (numpy scalars to Python); 0..K-1 for a bare Booster."""
    if task == "regression":
        return None
    labels = getattr(model, "classes_", None)
    if labels is None:
        return list(range(max(2, n_outputs)))
    return [v.item() if isinstance(v, np.generic) else v for v in labels]
