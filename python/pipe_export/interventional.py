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
  document, categorical splits and missing values included, at a cost of leaves x records x rows: run
  on a few records.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .model_format import ExportError

SHAP_TOLERANCE = 1e-6
# Records x reference rows the direct oracle works through per leaf.
DIRECT_PAIRS = 20_000


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
    codes = (tree.get("cat_left") or [None] * len(tree["feature"]))[node]
    if codes is not None:
        left = np.isin(value, codes)
    else:
        with np.errstate(invalid="ignore"):
            left = value <= tree["threshold"][node]
    return np.where(missing, tree["missing_left"][node] == 1, left)


def _leaves(tree: dict):
    stack = [(0, [])]
    while stack:
        node, path = stack.pop()
        left, right = tree["children_left"][node], tree["children_right"][node]
        if left == -1:
            yield node, path
        else:
            stack.append((left, path + [(node, True)]))
            stack.append((right, path + [(node, False)]))


def _beta_table(size: int = 66) -> np.ndarray:
    """B(p, q) = (p - 1)! (q - 1)! / (p + q - 1)! for p, q < size (paths read at most 64 features), 0
    where p or q is 0."""
    table = np.zeros((size, size))
    for i in range(1, size):
        for j in range(1, size):
            table[i, j] = math.exp(math.lgamma(i) + math.lgamma(j) - math.lgamma(i + j))
    return table


_BETA = _beta_table()


def _beta(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return _BETA[p, q]


def per_reference_values(ensemble: dict, x: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Each reference row's interventional SHAP values of each record: (n, R, outputs, features)."""
    cast = {"float32": np.float32, "float64": np.float64}[ensemble["compare"]]
    x = x.astype(cast).astype(np.float64)
    reference = reference.astype(cast).astype(np.float64)
    n, rows, n_features = x.shape[0], reference.shape[0], x.shape[1]
    out = np.zeros((n, rows, ensemble["n_outputs"], n_features))
    for tree in ensemble["trees"]:
        output = tree.get("output", 0)
        for leaf, path in _leaves(tree):
            value = tree["value"][leaf]
            if value == 0:
                continue
            meets_x: dict[int, np.ndarray] = {}
            meets_r: dict[int, np.ndarray] = {}
            for node, went_left in path:
                f = tree["feature"][node]
                meets_x[f] = meets_x.get(f, True) & (_goes_left(tree, node, x[:, f]) == went_left)
                meets_r[f] = meets_r.get(f, True) & (_goes_left(tree, node, reference[:, f]) == went_left)
            if not path:
                continue  # a lone leaf: the same for every hybrid record, no feature moves it
            only_x = {f: meets_x[f][:, None] & ~meets_r[f][None, :] for f in meets_x}
            only_r = {f: ~meets_x[f][:, None] & meets_r[f][None, :] for f in meets_x}
            neither = np.zeros((n, rows), dtype=bool)
            for f in meets_x:
                neither |= ~meets_x[f][:, None] & ~meets_r[f][None, :]
            alpha = sum(a.astype(np.int64) for a in only_x.values())
            beta = sum(b.astype(np.int64) for b in only_r.values())
            hot = np.where(neither, 0.0, value * _beta(alpha, beta + 1))
            cold = np.where(neither, 0.0, -value * _beta(alpha + 1, beta))
            for f in meets_x:
                out[:, :, output, f] += np.where(only_x[f], hot, 0.0) + np.where(only_r[f], cold, 0.0)
    return out


def direct_oracle(ensemble: dict, x: np.ndarray, reference: np.ndarray, probability: bool,
                  margin_x: np.ndarray, margin_r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values (n, outputs, features), base value (outputs,)) from the per-reference values; margins of
    the records (n, K) and rows (R, K) as the trees give them, for the probability's rescaling."""
    values = per_reference_values(ensemble, x, reference)
    if not probability:
        return values.mean(axis=1), margin_r.mean(axis=0)
    fx, fr = margin_x[:, 0][:, None], margin_r[:, 0][None, :]
    sig = lambda m: 1.0 / (1.0 + np.exp(-m))  # noqa: E731
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(fx == fr, sig(fx) * (1 - sig(fx)), (sig(fx) - sig(fr)) / (fx - fr))
    return (values * slope[:, :, None, None]).mean(axis=1), np.array([sig(margin_r[:, 0]).mean()])


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
