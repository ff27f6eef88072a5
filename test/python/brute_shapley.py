"""Exact Shapley values of the path-dependent tree game, by enumerating every feature subset.

The game (Lundberg et al., "Consistent individualized feature attribution for tree ensembles",
Algorithm 1): v(S) = init + sum over trees of E_tree(x, S), where at a split node on a feature in S
the record is followed (doc_walker.goes_left: threshold, missing_left, cat_left), and at any other
split both children are averaged with weights cover[child] / cover[node]. Path-dependent TreeSHAP
computes exactly the Shapley values of this game, so this is an oracle for any document, whatever
its splits are, at a cost of 2^F subsets: meant for F <= 8.
"""

from __future__ import annotations

import math

import numpy as np

from doc_walker import cast_record, goes_left, margins

MAX_FEATURES = 8


def _leaf_paths(tree: dict):
    """(leaf, [(node, went_left)]) for every leaf."""
    stack = [(0, [])]
    while stack:
        node, path = stack.pop()
        left, right = tree["children_left"][node], tree["children_right"][node]
        if left == -1:
            yield node, path
            continue
        stack.append((left, path + [(node, True)]))
        stack.append((right, path + [(node, False)]))


def game_values(ensemble: dict, x, n_features: int) -> np.ndarray:
    """v(S) for every subset S (bit f of the subset index set <=> feature f in S): (2^F, n, K)."""
    if n_features > MAX_FEATURES:
        raise ValueError(f"brute force enumerates 2^F subsets; use F <= {MAX_FEATURES}")
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    records = [cast_record(row, ensemble["compare"]) for row in x]
    subsets = np.arange(2 ** n_features)
    member = ((subsets[:, None] >> np.arange(n_features)[None, :]) & 1).astype(bool)  # (2^F, F)
    values = np.zeros((subsets.size, x.shape[0], ensemble["n_outputs"]))
    values += np.asarray(ensemble["init"], dtype=np.float64)
    for tree in ensemble["trees"]:
        cover = tree["cover"]
        for leaf, path in _leaf_paths(tree):
            weight = np.ones((subsets.size, x.shape[0]))
            for node, went_left in path:
                child = tree["children_left"][node] if went_left else tree["children_right"][node]
                feature = tree["feature"][node]
                follows = np.array([goes_left(tree, node, r[feature]) == went_left for r in records], dtype=float)
                share = cover[child] / cover[node]
                weight *= np.where(member[:, feature][:, None], follows[None, :], share)
            values[:, :, tree["output"]] += tree["value"][leaf] * weight
    return values


def shapley(ensemble: dict, x, n_features: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(shap (n, K, F), base value (K,), margin (n, K)) of the path-dependent game."""
    v = game_values(ensemble, x, n_features)
    return _shapley_of(v, n_features), v[0, 0], v[-1]


def _shapley_of(v: np.ndarray, n_features: int) -> np.ndarray:
    """Shapley values of games v (2^F, ...) over F players: (..., F)."""
    phi = np.zeros(v.shape[1:] + (n_features,))
    for f in range(n_features):
        for subset in range(2 ** n_features):
            if subset >> f & 1:
                continue
            size = bin(subset).count("1")
            weight = math.factorial(size) * math.factorial(n_features - size - 1) / math.factorial(n_features)
            phi[..., f] += weight * (v[subset | (1 << f)] - v[subset])
    return phi


def interventional_shapley(ensemble: dict, x, reference, n_features: int,
                           probability: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(shap (n, K, F), base value (K,)) of the interventional game against reference rows R, by
    enumerating every coalition: v(S) = mean over r of f(x_S, r_notS), with f the walk down the trees
    (doc_walker.margins). With ``probability`` (one output), each reference row's values are the
    Shapley values of its own game rescaled by (sigmoid(f(x)) - sigmoid(f(r))) / (f(x) - f(r)), as
    shap's model_output="probability" defines them, and the base value is the mean of sigmoid(f(r)).
    An oracle for any document, categorical splits and missing values included: meant for F <= 8."""
    if n_features > MAX_FEATURES:
        raise ValueError(f"brute force enumerates 2^F subsets; use F <= {MAX_FEATURES}")
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    reference = np.atleast_2d(np.asarray(reference, dtype=np.float64))
    subsets = np.arange(2 ** n_features)
    member = ((subsets[:, None] >> np.arange(n_features)[None, :]) & 1).astype(bool)  # (2^F, F)
    # Every hybrid record x_S r_notS: (2^F, n, R, F).
    hybrid = np.where(member[:, None, None, :], x[None, :, None, :], reference[None, None, :, :])
    f = margins(ensemble, hybrid.reshape(-1, n_features)).reshape(subsets.size, x.shape[0], reference.shape[0], -1)
    per_reference = _shapley_of(f, n_features)  # (n, R, K, F)
    if not probability:
        return per_reference.mean(axis=1), f[0, 0].mean(axis=0)
    fx, fr = f[-1][:, :, 0], f[0][:, :, 0]  # (n, R): the record's own output, the reference row's
    sig = lambda m: 1.0 / (1.0 + np.exp(-m))  # noqa: E731
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(fx == fr, sig(fx) * (1 - sig(fx)), (sig(fx) - sig(fr)) / (fx - fr))
    values = (per_reference[:, :, 0, :] * slope[:, :, None]).mean(axis=1)[:, None, :]
    return values, np.array([sig(fr[0]).mean()])
