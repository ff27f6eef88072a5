"""The ``ensemble`` part of model.json: every supported tree library exported to one plain-data form.

An adapter (trees_sklearn, trees_lightgbm, trees_xgboost) turns a fitted estimator into::

    {"task": "binary" | "multiclass" | "regression",
     "classes": [label, ...] | None,          # the estimator's own labels (int, str, bool), None for regression
     "link": "identity" | "sigmoid" | "softmax",
     "shap_output": "probability" | "log_odds" | "raw",
     "native_missing": bool,                  # True when the estimator itself routes NaN (else: impute first)
     "ensemble": {
        "n_outputs": K,                       # 1 for binary (an adapter's: classes[1]) and regression
        "init": [float] * K,                  # added to each output's sum of tree values
        "compare": "float32" | "float64",     # records are cast to this type before any comparison
        "trees": [{
            "output": k,                      # which output this tree adds to
            "children_left": [int],           # -1 at a leaf; a child's index is greater than its parent's
            "children_right": [int],
            "feature": [int],                 # input column split on (-1 at a leaf)
            "threshold": [float],             # numeric split: x <= threshold goes left (0 at a leaf)
            "missing_left": [0 | 1],          # where a missing value (NaN) goes at this node
            "cat_left": [None | [int]],       # optional; a categorical split: the codes listed go left,
                                              # every other code goes right (threshold unused there)
            "value": [float],                 # leaf value, already scaled: a forest's divided by its number
                                              # of trees per output, a booster's including the learning rate
            "cover": [float],                 # node weight as the library's own TreeSHAP uses it
        }, ...]}}

Prediction: ``margin[k] = init[k] + sum(value of the leaf reached in every tree with output k)``, then
the link: sigmoid gives the probability of classes[1], softmax the class probabilities, identity the
value itself (a forest's class-1 probability, a forest's per-class probabilities, or a regression).
model.json names a binary model's ``positive_class``; where it is classes[0], export_model has turned
the ensemble to it (values negated, init complemented: pipe_export.classes), so that the margin and
the SHAP values are always of the positive class.
SHAP values are those of ``margin`` (path-dependent TreeSHAP with ``cover``), so
``base_value[k] + sum(shap[k]) == margin[k]`` in the space ``shap_output`` names.

Feature indices are the estimator's input columns; categorical columns hold integer codes
(0..n_categories-1), missing values are NaN.

In model.json each of a tree's numeric fields may also be written as a string: the base64 of its
values as little-endian binary (int32 for children and feature, uint8 for missing_left, float64 for
threshold, value and cover). The exporter writes them so (``pack_trees``): the same numbers, exactly,
read some ten times faster at every cold start than JSON lists of them.
"""

from __future__ import annotations

import base64

import numpy as np

from .handler_code import handler_modules

FORMAT = "pipe.tree-model.v3"
TASKS = ("binary", "multiclass", "regression")
LINKS = ("identity", "sigmoid", "softmax")
SHAP_OUTPUTS = ("probability", "log_odds", "raw")


class ExportError(Exception):
    """The estimator cannot be represented in the runtime format; the message names what is supported."""


def pack_trees(ensemble: dict) -> dict:
    """The ensemble with each tree's numeric fields as base64 strings of their binary values, in the
    types the function's reader (handler/tree_paths.py PACKED) decodes."""
    [tree_paths] = handler_modules("tree_paths")
    trees = []
    for tree in ensemble["trees"]:
        packed = dict(tree)
        for name, dtype in tree_paths.PACKED.items():
            values = np.asarray(tree[name], dtype=np.float64)
            binary = values.astype(dtype)
            if not np.array_equal(binary.astype(np.float64), values):
                raise ExportError(f"tree field {name!r} holds a value that {np.dtype(dtype).name} cannot represent")
            packed[name] = base64.b64encode(binary.tobytes()).decode("ascii")
        trees.append(packed)
    return {**ensemble, "trees": trees}


def leaf_margins(ensemble: dict, x: np.ndarray) -> np.ndarray:
    """The format's own prediction, read off the trees: ``init[k]`` plus the value of the leaf each record
    reaches in every tree of output ``k``. x: (n, features) as the function's records (category codes,
    NaN for missing). Returns (n, K). A walk down the trees, independent of the SHAP algorithms."""
    [tree_paths] = handler_modules("tree_paths")
    x = np.asarray(x, dtype=np.float64).astype(ensemble["compare"]).astype(np.float64)
    margin = np.tile(np.asarray(ensemble["init"], dtype=np.float64), (x.shape[0], 1))
    for t, tree in enumerate(ensemble["trees"]):
        fields = {name: np.asarray(tree_paths.unpack_field(tree[name], name, t), dtype=np.float64)
                  for name in tree_paths.PACKED}
        left, right, feature = (fields[name].astype(np.int64) for name in ("children_left", "children_right",
                                                                           "feature"))
        categories = {node: codes for node, codes in enumerate(tree.get("cat_left") or []) if codes is not None}
        node = np.zeros(x.shape[0], dtype=np.int64)
        while True:
            at = np.nonzero(left[node] >= 0)[0]
            if not at.size:
                break
            split = node[at]
            value = x[at, feature[split]]
            goes_left = np.where(np.isnan(value), fields["missing_left"][split] > 0, value <= fields["threshold"][split])
            for cat_node in set(split.tolist()) & categories.keys():
                here = (split == cat_node) & ~np.isnan(value)
                goes_left[here] = np.isin(value[here], categories[cat_node])
            node[at] = np.where(goes_left, left[split], right[split])
        margin[:, tree.get("output", 0)] += fields["value"][node]
    return margin

