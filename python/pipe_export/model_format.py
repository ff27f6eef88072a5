"""The ``ensemble`` part of model.json: every supported tree library exported to one plain-data form.

An adapter (trees_sklearn, trees_lightgbm, trees_xgboost) turns a fitted estimator into::

    {"task": "binary" | "multiclass" | "regression",
     "classes": [label, ...] | None,          # the estimator's own labels (int, str, bool), None for regression
     "link": "identity" | "sigmoid" | "softmax",
     "shap_output": "probability" | "log_odds" | "raw",
     "native_missing": bool,                  # True when the estimator itself routes NaN (else: impute first)
     "ensemble": {
        "n_outputs": K,                       # 1 for binary (the positive class, classes[1]) and regression
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
SHAP values are those of ``margin`` (path-dependent TreeSHAP with ``cover``), so
``base_value[k] + sum(shap[k]) == margin[k]`` in the space ``shap_output`` names.

Feature indices are the estimator's input columns; categorical columns hold integer codes
(0..n_categories-1), missing values are NaN.
"""

from __future__ import annotations

FORMAT = "pipe.tree-model.v2"
TASKS = ("binary", "multiclass", "regression")
LINKS = ("identity", "sigmoid", "softmax")
SHAP_OUTPUTS = ("probability", "log_odds", "raw")


class ExportError(Exception):
    """The estimator cannot be represented in the runtime format; the message names what is supported."""
