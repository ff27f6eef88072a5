"""A reference population for the export: its rows as the function reads them, and two oracles for
the function's interventional SHAP values.

* ``shap_oracle``: ``shap.TreeExplainer(estimator, data=R, feature_perturbation="interventional")``,
  with ``model_output="probability"`` for values in probability, where shap takes the model and is
  exact on it: not for categorical splits (shap refuses or misreads them), and only when shap's own
  values add up to the estimator's output. shap keeps its Shapley weights in float32, so it is matched
  to 1e-6 of the output's scale.
* ``direct_oracle``: the interventional game's closed form per leaf, record and reference row, from a
  walk of each leaf's path (no cells, groups or tables): for every leaf whose conditions are each met
  by the record or the row, ``v B(alpha, beta + 1)`` to the features met by the record only and
  ``-v B(alpha + 1, beta)`` to those met by the row only (reference_shap's note). Exact for any
  document, categorical splits and missing values included, at a cost of leaves x records x rows, as
  a few matrix products per leaf: run on a few hundred records.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .model_format import ExportError

SHAP_TOLERANCE = 1e-6


def encode(transformer, frame: pd.DataFrame, input_names: list[str], position: list[int]) -> np.ndarray:
    """Rows of raw columns as the estimator sees them, columns in the features' order: (n, features)."""
    x = transformer.transform(frame) if transformer is not None else frame[input_names].to_numpy(dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    ordered = np.empty_like(x)
    ordered[:, position] = x
    return ordered


def _goes_left(tree: dict, node: int, value: np.ndarray) -> np.ndarray:
    """The branch each (cast) value takes at a split node: model_format's rule, vectorised."""
    missing = np.isnan(value)
    categories = tree.get("cat_left")
    codes = categories[node] if categories else None
    if codes is not None:
        left = np.isin(value, codes)
    else:
        with np.errstate(invalid="ignore"):
            left = value <= tree["threshold"][node]
    return np.where(missing, tree["missing_left"][node] == 1, left)


def _sides(tree: dict, x: np.ndarray) -> np.ndarray:
    """(nodes, n): whether each row goes left at each split node (False at the leaves)."""
    sides = np.zeros((len(tree["feature"]), x.shape[0]), dtype=bool)
    for node, (left, feature) in enumerate(zip(tree["children_left"], tree["feature"])):
        if left != -1:
            sides[node] = _goes_left(tree, node, x[:, feature])
    return sides


def _leaves(tree: dict):
    """Each leaf with its path: the split nodes above it and whether the path goes left at each."""
    stack = [(0, [], [])]
    while stack:
        node, nodes, lefts = stack.pop()
        left, right = tree["children_left"][node], tree["children_right"][node]
        if left == -1:
            yield node, np.array(nodes, dtype=np.intp), np.array(lefts, dtype=bool)
        else:
            stack.append((left, nodes + [node], lefts + [True]))
            stack.append((right, nodes + [node], lefts + [False]))


def _beta(p: int, q: int) -> float:
    """B(p, q) = (p - 1)! (q - 1)! / (p + q - 1)!, 0 where p or q is 0."""
    return math.exp(math.lgamma(p) + math.lgamma(q) - math.lgamma(p + q)) if p and q else 0.0


# A leaf's pair of a record and a reference row, keyed by WIDE * alpha + beta (features met by the record
# only, by the row only; paths read at most 64 features), or NEITHER where some feature is met by neither:
# the weights of its hot shares, B(alpha, beta + 1), and of its cold ones, B(alpha + 1, beta).
WIDE = 65
NEITHER = WIDE * WIDE
_HOT = np.array([_beta(a, b + 1) for a in range(WIDE) for b in range(WIDE)] + [0.0])
_COLD = np.array([_beta(a + 1, b) for a in range(WIDE) for b in range(WIDE)] + [0.0])


def _sigmoid(margin: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-margin))


def _slope(margin_x: np.ndarray, margin_r: np.ndarray) -> np.ndarray:
    """(n, R): (sigmoid(F) - sigmoid(f)) / (F - f) of each record's margin F and row's f, sigmoid'(F) where
    they meet."""
    fx, fr = margin_x[:, None], margin_r[None, :]
    sx, sr = _sigmoid(fx), _sigmoid(fr)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(fx == fr, sx * (1 - sx), (sx - sr) / (fx - fr))


def direct_oracle(ensemble: dict, x: np.ndarray, reference: np.ndarray, probability: bool,
                  margin_x: np.ndarray, margin_r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values (n, outputs, features), base value (outputs,)): the mean over the reference rows of each
    row's interventional values, weighed by the slope for values in probability; margins of the records
    (n, K) and rows (R, K) as the trees give them.

    Per leaf and (record, row) pair, with a 0/1 matrix of which of the leaf's features each meets (all
    of a feature's conditions), the features met by the record only (alpha of them), by the row only
    (beta) and by neither are counts of matrix products; the pairs with none met by neither reach the
    leaf in some hybrid, and give the record-only features ``v B(alpha, beta + 1)`` and the row-only ones
    ``-v B(alpha + 1, beta)``, summed over the rows by one more product each."""
    cast = {"float32": np.float32, "float64": np.float64}[ensemble["compare"]]
    x = x.astype(cast).astype(np.float64)
    reference = reference.astype(cast).astype(np.float64)
    n, rows, n_features = x.shape[0], reference.shape[0], x.shape[1]
    if probability:
        weight = _slope(margin_x[:, 0], margin_r[:, 0]) / rows
        base = np.array([_sigmoid(margin_r[:, 0]).mean()])
    else:
        weight = np.full((n, rows), 1.0 / rows)
        base = margin_r.mean(axis=0)
    out = np.zeros((n, ensemble["n_outputs"], n_features))
    for tree in ensemble["trees"]:
        output = tree.get("output", 0)
        feature = np.asarray(tree["feature"], dtype=np.intp)
        sides_x, sides_r = _sides(tree, x), _sides(tree, reference)
        for leaf, nodes, lefts in _leaves(tree):
            value = tree["value"][leaf]
            if value == 0 or not nodes.size:
                continue  # a lone leaf: the same for every hybrid record, no feature moves it
            order = np.argsort(feature[nodes], kind="stable")
            nodes, lefts = nodes[order], lefts[order][:, None]
            on = feature[nodes]
            first = np.flatnonzero(np.r_[True, on[1:] != on[:-1]])
            # (n, d) and (R, d): 1 where the record (row) meets every condition on the feature.
            met_x = np.logical_and.reduceat(sides_x[nodes] == lefts, first, axis=0).T.astype(np.float64)
            met_r = np.logical_and.reduceat(sides_r[nodes] == lefts, first, axis=0).T.astype(np.float64)
            # WIDE * alpha + beta + NEITHER * (features met by neither), in one product.
            key = np.hstack([WIDE * met_x, 1 - met_x, NEITHER * (1 - met_x)]) @ np.hstack([1 - met_r, met_r, 1 - met_r]).T
            key = np.minimum(key, NEITHER).astype(np.intp)
            hot, cold = weight * _HOT[key], weight * _COLD[key]
            out[:, output, on[first]] += value * (met_x * (hot @ (1 - met_r)) - (1 - met_x) * (cold @ met_r))
    return out, base


def shap_oracle(estimator, x_est: np.ndarray, r_est: np.ndarray, probability: bool,
                n_outputs: int) -> tuple[np.ndarray, np.ndarray] | None:
    """shap's interventional values on the estimator's own input as (n, outputs, estimator columns) and
    its expected values, for the document's outputs (classes[1] of a binary model), or None where shap
    refuses the model. The caller checks that they add up (shap misreads some models)."""
    import warnings

    import shap

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # A masker of all the rows: given the rows as data, shap silently keeps a sample of 100.
            background = shap.maskers.Independent(r_est, max_samples=len(r_est))
            explainer = shap.TreeExplainer(estimator, data=background, feature_perturbation="interventional",
                                           model_output="probability" if probability else "raw")
            values = np.asarray(explainer.shap_values(x_est, check_additivity=False), dtype=np.float64)
        expected = np.asarray(explainer.expected_value, dtype=np.float64).reshape(-1)
    except Exception:  # noqa: BLE001 - shap refuses many models in many ways; the direct oracle remains
        return None
    if values.ndim == 2:
        values = values[:, :, None]
    if values.shape[2] == 2 and n_outputs == 1:  # a classifier's two class probabilities
        values, expected = values[:, :, 1:], expected[1:]
    if values.shape[2] != n_outputs or expected.size != n_outputs:
        return None
    return values.transpose(0, 2, 1), expected


def check_space(requested: str | None, adapted: dict, has_reference: bool, setting: str) -> str:
    """The document's shap_output for the requested space (None: the model's own)."""
    own = adapted["shap_output"]
    if requested is None or requested == own:
        return own
    if requested == "probability" and adapted["link"] == "sigmoid" and adapted["task"] == "binary":
        if not has_reference:
            raise ExportError(f"{setting} 'probability' needs a reference population (model.reference): "
                              "SHAP values in probability are measured against reference rows")
        return "probability"
    allowed = "'probability' (with a reference) or 'log_odds'" if adapted["link"] == "sigmoid" and \
        adapted["task"] == "binary" else repr(own)
    raise ExportError(f"{setting} is {requested!r}, but this {adapted['task']} model's SHAP values can be {allowed}")


def reference_summary(info: dict, rows: int, sha256: str, score: np.ndarray | None, score_of: str | None) -> dict:
    """The card's ``reference``: where the rows come from and how far they reach, never the rows."""
    summary = {**info, "rows": rows, "sha256": sha256, "file": "reference.csv"}
    if score is not None and len(score):
        summary["reach"] = {"min": float(np.min(score)), "max": float(np.max(score)), "of": score_of}
    summary["description"] = describe(summary)
    return summary


def describe(reference: dict) -> str:
    """The reference in words, as the page and the CLI say it."""
    rows = reference["rows"]
    kind = reference.get("from")
    if kind == "near-cutoff":
        threshold, band = reference["threshold"], reference["band"]
        below = reference.get("side", "negative") == "negative"
        side = "below" if below else "at or above"
        label = reference.get("label")
        cutoff = f"the {threshold:.0%} cutoff" + (f" ({label})" if label is not None else "")
        reach = reference.get("reach")
        if reference.get("within_band", rows) >= rows:
            span = f": {reach['min']:.1%} to {reach['max']:.1%}" if reach else ""
            return f"{rows} training rows scored within {band * 100:g} points {side} {cutoff}{span}"
        far = f"; they score {reach['min']:.1%} to {reach['max']:.1%}" if reach else ""
        return (f"the {rows} training rows scored nearest {side} {cutoff}: {reference['within_band']} within "
                f"{band * 100:g} points of it{far}")
    if kind == "training":
        return f"{rows} rows sampled from the training data"
    if kind == "file":
        return f"the {rows} rows of {reference.get('source', 'a reference file')}"
    return f"{rows} reference rows"
