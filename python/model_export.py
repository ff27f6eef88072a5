"""Turns a fitted scikit-learn tree classifier into the plain-data documents the function loads.

Output is canonical JSON (sorted keys, shortest round-trip floats, no NaN, no timestamps), so the
same model always produces the same bytes.
"""

from __future__ import annotations

import json

import numpy as np
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier

MODEL_FORMAT = "pipe.tree-ensemble.v1"


class ExportError(Exception):
    """The estimator cannot be represented in the runtime format."""


def canonical_json(document: object) -> bytes:
    return (json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=False) + "\n").encode()


def _export_tree(tree) -> dict:
    values = tree.value[:, 0, :]
    totals = values.sum(axis=1)
    # scikit-learn >= 1.4 stores class fractions already; normalising again keeps older layouts right.
    positive = np.divide(values[:, 1], totals, out=np.zeros_like(totals), where=totals > 0)
    return {
        "children_left": [int(v) for v in tree.children_left],
        "children_right": [int(v) for v in tree.children_right],
        "feature": [int(v) for v in tree.feature],
        "threshold": [float(v) for v in tree.threshold],
        "value": [float(v) for v in positive],
        "cover": [float(v) for v in tree.weighted_n_node_samples],
    }


def export_ensemble(model) -> dict:
    """Binary tree classifiers whose predict_proba is the mean of the trees' leaf class fractions."""
    if isinstance(model, (RandomForestClassifier, ExtraTreesClassifier)):
        estimators = model.estimators_
    elif isinstance(model, DecisionTreeClassifier):
        estimators = [model]
    else:
        raise ExportError(f"unsupported estimator {type(model).__name__}: use a random forest or a decision tree")
    if list(model.classes_) != [0, 1] or model.n_outputs_ != 1:
        raise ExportError(f"expected a single binary target with classes [0, 1], got {list(model.classes_)}")
    return {"aggregation": "mean", "output": "probability of class 1",
            "trees": [_export_tree(e.tree_) for e in estimators]}


def model_document(features: list[str], medians: list[float], model) -> dict:
    """model.json: everything the function needs to impute, predict and explain."""
    return {
        "format": MODEL_FORMAT,
        "features": list(features),
        "imputer": {"strategy": "median", "values": [float(m) for m in medians]},
        "ensemble": export_ensemble(model),
    }
