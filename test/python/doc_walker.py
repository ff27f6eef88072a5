"""A plain reference reading of model_format.py: one record, one tree, one node at a time.

Deliberately slow and literal, so that it can be checked by eye against the format's text; tests use
it as an independent check that an exported document predicts what its estimator predicts.
"""

from __future__ import annotations

import math

import numpy as np

COMPARE = {"float32": np.float32, "float64": np.float64}


def cast_record(record, compare: str) -> list[float]:
    """``records are cast to this type before any comparison``: each value through float32 or float64."""
    dtype = COMPARE[compare]
    return [float(dtype(v)) for v in np.asarray(record, dtype=np.float64)]


def goes_left(tree: dict, node: int, value: float) -> bool:
    """The branch a (cast) value takes at a split node."""
    if math.isnan(value):
        return tree["missing_left"][node] == 1
    cat_left = tree.get("cat_left")
    if cat_left is not None and cat_left[node] is not None:
        return value in cat_left[node]  # the listed codes go left, every other code right
    return value <= tree["threshold"][node]


def leaf_of(tree: dict, record: list[float]) -> int:
    node = 0
    while tree["children_left"][node] != -1:
        left = goes_left(tree, node, record[tree["feature"][node]])
        node = tree["children_left"][node] if left else tree["children_right"][node]
    return node


def margins(ensemble: dict, x) -> np.ndarray:
    """(n, K): ``init[k] + sum(value of the leaf reached in every tree with output k)``."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    out = np.zeros((x.shape[0], ensemble["n_outputs"]))
    for i, row in enumerate(x):
        record = cast_record(row, ensemble["compare"])
        total = [float(v) for v in ensemble["init"]]
        for tree in ensemble["trees"]:
            total[tree["output"]] += tree["value"][leaf_of(tree, record)]
        out[i] = total
    return out


def link(name: str, margin: np.ndarray) -> np.ndarray:
    """(n, K) predictions: sigmoid -> P(classes[1]), softmax -> class probabilities, identity -> itself."""
    if name == "identity":
        return margin.copy()
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-margin))
    if name == "softmax":
        e = np.exp(margin - margin.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    raise ValueError(f"unknown link {name!r}")


def predict(adapted: dict, x) -> tuple[np.ndarray, np.ndarray]:
    """The adapter dict's (margins (n, K), linked predictions (n, K))."""
    margin = margins(adapted["ensemble"], x)
    return margin, link(adapted["link"], margin)


def boundary_records(ensemble: dict, x: np.ndarray, limit: int = 60, skip: float | None = None) -> np.ndarray:
    """Records exactly on numeric thresholds, one float64 and one float32 step either side (a threshold
    equal to ``skip``, a stand-in for infinity, is left out)."""
    rows = []
    for t in ensemble["trees"]:
        cat_left = t.get("cat_left") or [None] * len(t["feature"])
        for node, feature in enumerate(t["feature"]):
            threshold = t["threshold"][node]
            if feature < 0 or cat_left[node] is not None or threshold == skip:
                continue
            t32 = np.float32(threshold)
            for value in (threshold, np.nextafter(threshold, -np.inf), np.nextafter(threshold, np.inf),
                          np.nextafter(t32, np.float32(-np.inf)), np.nextafter(t32, np.float32(np.inf))):
                row = x[len(rows) % len(x)].copy()
                row[feature] = value
                rows.append(row)
        if len(rows) >= limit:
            break
    return np.array(rows[:limit]).reshape(-1, x.shape[1])
