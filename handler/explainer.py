"""Exact path-dependent TreeSHAP for a tree ensemble stored as plain arrays, with numpy only.

The values equal ``shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")``.
Instead of walking every tree per record (classic TreeSHAP, O(L D^2) per tree), the work that
does not depend on the record is done once at load time, in the spirit of Fast TreeSHAP v2
(Yang 2021):

* Every leaf ``L`` has a path of ``d`` distinct features (repeated splits on one feature merge
  into an interval ``(lo, hi]`` whose cover fraction ``z`` is the product of the split ratios).
  For a record, the leaf's contribution depends only on which path features are *hot*
  (the record lies inside that feature's interval): a ``d``-bit pattern ``s``.
* For a cold feature set the standard TreeSHAP weight sum is a polynomial identity:
  with ``R_s(t) = prod_{hot j}(z_j + t) * prod_{cold j} z_j`` and
  ``W(R) = sum_m m!(d-1-m)!/d! * [t^m] R``, the SHAP value of path feature ``k`` is
  ``v * (o_k - z_k) / z_k * W(R_{s without k})``. All ``2^d`` patterns are tabulated per leaf.
* At request time a record costs one ``searchsorted`` per feature (which threshold cell it is in),
  one small integer gather to build every leaf's pattern, and one float gather + segmented sum.

Probabilities come out of the same patterns: a leaf is reached exactly when all its bits are hot.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import factorial

import numpy as np

# Tables grow as 2^d per path slot; a forest deeper than this is refused at load time instead of
# silently exhausting memory in the function.
MAX_TABLE_ENTRIES = 20_000_000


class ModelFormatError(ValueError):
    """The model document does not describe a tree ensemble this explainer can evaluate."""


@dataclass(frozen=True)
class Explanation:
    """Per-record outputs; ``base_value + shap.sum(axis=1) == probability`` up to rounding."""

    probability: np.ndarray  # (n,)
    shap: np.ndarray  # (n, n_features)
    base_value: float


@dataclass
class _Leaf:
    value: float  # leaf output already scaled by the ensemble weight
    feats: list[int]  # distinct path features, in first-seen order from the root
    lo: list[float]
    hi: list[float]
    z: list[float]


def _tree_leaves(tree: dict, n_features: int, scale: float) -> list[_Leaf]:
    left = tree["children_left"]
    right = tree["children_right"]
    feature = tree["feature"]
    threshold = tree["threshold"]
    value = tree["value"]
    cover = tree["cover"]
    n_nodes = len(left)
    for name in ("children_right", "feature", "threshold", "value", "cover"):
        if len(tree[name]) != n_nodes:
            raise ModelFormatError(f"tree field {name!r} has {len(tree[name])} entries, expected {n_nodes}")

    leaves: list[_Leaf] = []
    # (node, {feature: [lo, hi, z]}, order of first appearance)
    stack: list[tuple[int, dict[int, list[float]], list[int]]] = [(0, {}, [])]
    while stack:
        node, bounds, order = stack.pop()
        if left[node] < 0:
            leaves.append(
                _Leaf(
                    value=float(value[node]) * scale,
                    feats=list(order),
                    lo=[bounds[f][0] for f in order],
                    hi=[bounds[f][1] for f in order],
                    z=[bounds[f][2] for f in order],
                )
            )
            continue
        f = int(feature[node])
        if not 0 <= f < n_features:
            raise ModelFormatError(f"node {node} splits on feature index {f}, model has {n_features} features")
        thr = float(threshold[node])
        parent_cover = float(cover[node])
        for child, is_left in ((left[node], True), (right[node], False)):
            if not 0 < child < n_nodes:
                raise ModelFormatError(f"node {node} has child index {child} outside the tree")
            ratio = float(cover[child]) / parent_cover if parent_cover > 0 else 0.0
            if not ratio > 0:
                raise ModelFormatError(f"node {child} has zero cover; path-dependent SHAP is undefined")
            nb = dict(bounds)
            lo, hi, z = nb.get(f, (-np.inf, np.inf, 1.0))
            nb[f] = [lo, min(hi, thr), z * ratio] if is_left else [max(lo, thr), hi, z * ratio]
            stack.append((child, nb, order if f in bounds else order + [f]))
    return leaves


def _pattern_weights(z: np.ndarray) -> np.ndarray:
    """W(R_s) for every pattern s of every leaf in a group sharing path length d. z: (m, d)."""
    m, d = z.shape
    poly = np.zeros((m, 1, d + 1))
    poly[:, :, 0] = 1.0
    for k in range(d):
        zk = z[:, k][:, None, None]
        cold = poly * zk
        hot = cold.copy()
        hot[:, :, 1:] += poly[:, :, :-1]
        poly = np.concatenate([cold, hot], axis=1)  # new bit k is the high bit of the index
    w = np.array([factorial(j) * factorial(d - 1 - j) / factorial(d) for j in range(d)] + [0.0])
    return poly @ w  # (m, 2^d)


class TreeEnsembleExplainer:
    """Loads the ``ensemble`` part of model.json and explains batches of float records."""

    def __init__(self, ensemble: dict, n_features: int):
        trees = ensemble.get("trees")
        if not isinstance(trees, list) or not trees:
            raise ModelFormatError("ensemble.trees must be a non-empty list")
        if ensemble.get("aggregation") != "mean":
            raise ModelFormatError("ensemble.aggregation must be 'mean'")
        self.n_features = n_features
        scale = 1.0 / len(trees)
        leaves = [leaf for tree in trees for leaf in _tree_leaves(tree, n_features, scale)]
        self._build(leaves)

    def _build(self, leaves: list[_Leaf]) -> None:
        n_feat = self.n_features
        n_leaves = len(leaves)
        depth = np.array([len(leaf.feats) for leaf in leaves], dtype=np.int64)
        max_d = int(depth.max(initial=0))
        entries = int(sum(len(leaf.feats) << len(leaf.feats) for leaf in leaves))
        if entries > MAX_TABLE_ENTRIES:
            raise ModelFormatError(
                f"trees too deep for the tabulated explainer ({entries} table entries, limit "
                f"{MAX_TABLE_ENTRIES}); lower max_depth"
            )
        self._pattern_dtype = np.uint8 if max_d <= 8 else np.uint16 if max_d <= 16 else np.uint32
        values = np.array([leaf.value for leaf in leaves])

        # Threshold cells per feature: a record's cell c = #thresholds strictly below x, so that
        # x <= thr[m] <=> c <= m and x > thr[m] <=> c > m.
        thresholds = [sorted({t for leaf in leaves for f, lo, hi in zip(leaf.feats, leaf.lo, leaf.hi)
                              if f == feat for t in (lo, hi) if np.isfinite(t)}) for feat in range(n_feat)]
        self._thresholds = [np.array(t, dtype=np.float64) for t in thresholds]
        cell_offsets = np.cumsum([0] + [len(t) + 1 for t in thresholds])
        # bits[row, leaf]: the pattern bits feature f contributes to each leaf when x_f is in cell c.
        bits = np.zeros((int(cell_offsets[-1]), n_leaves), dtype=self._pattern_dtype)

        # Slots (leaf, path position) ordered by feature, then leaf, for a segmented sum per feature.
        slot_rows: list[tuple[int, int, int]] = []  # (feature, leaf, position)
        for li, leaf in enumerate(leaves):
            for k, f in enumerate(leaf.feats):
                thr = self._thresholds[f]
                a = -1 if not np.isfinite(leaf.lo[k]) else int(np.searchsorted(thr, leaf.lo[k]))
                b = len(thr) if not np.isfinite(leaf.hi[k]) else int(np.searchsorted(thr, leaf.hi[k]))
                base = cell_offsets[f]
                bits[base + a + 1: base + b + 1, li] |= self._pattern_dtype(1 << k)
                slot_rows.append((f, li, k))
        slot_rows.sort()
        self._cell_offsets = cell_offsets[:-1]
        self._bits = bits
        self._full = ((np.int64(1) << depth) - 1).astype(self._pattern_dtype)
        self._leaf_values = values
        self.base_value = 0.0

        # Per-leaf pattern tables, grouped by path length so each group is one vectorised pass.
        q_tables: list[np.ndarray | None] = [None] * n_leaves
        base_terms = np.zeros(n_leaves)
        for d in range(max_d + 1):
            idx = np.nonzero(depth == d)[0]
            if idx.size == 0:
                continue
            if d == 0:
                base_terms[idx] = values[idx]
                continue
            z = np.array([leaves[i].z for i in idx])
            base_terms[idx] = values[idx] * np.prod(z, axis=1)
            q = _pattern_weights(z)
            for row, li in enumerate(idx):
                q_tables[li] = q[row]
        self.base_value = float(np.sum(base_terms))

        # One flat table: slot j owns 2^d_leaf consecutive entries, T[s] = v (bit_k(s) - z_k)/z_k q[s & ~bit_k].
        sizes = [1 << int(depth[li]) for _, li, _ in slot_rows]
        starts = np.cumsum([0] + sizes)[:-1]
        table = np.empty(int(sum(sizes)))
        for j, (_, li, k) in enumerate(slot_rows):
            leaf = leaves[li]
            patterns = np.arange(sizes[j])
            hot = (patterns >> k) & 1
            zk = leaf.z[k]
            table[starts[j]: starts[j] + sizes[j]] = (
                leaf.value * (hot - zk) / zk * q_tables[li][patterns & ~(1 << k)]
            )
        self._table = table
        self._slot_start = starts.astype(np.int64)
        self._slot_leaf = np.array([li for _, li, _ in slot_rows], dtype=np.int64)
        slot_feat = np.array([f for f, _, _ in slot_rows], dtype=np.int64)
        bounds = np.searchsorted(slot_feat, np.arange(n_feat + 1))
        self._feat_segments = [(f, (int(bounds[f]), int(bounds[f + 1])))
                               for f in range(n_feat) if bounds[f + 1] > bounds[f]]

    def explain(self, x: np.ndarray) -> Explanation:
        """x: (n, n_features) finite floats (already imputed). Compared as float32, as scikit-learn does."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"expected shape (n, {self.n_features}), got {x.shape}")
        x = x.astype(np.float32).astype(np.float64)
        if not np.isfinite(x).all():
            raise ValueError("records must be finite: impute missing values before explaining")
        n = x.shape[0]
        # Bits from different features never overlap, so OR-ing the rows builds each leaf's pattern.
        patterns = None
        for f in range(self.n_features):
            rows = np.searchsorted(self._thresholds[f], x[:, f], side="left") + self._cell_offsets[f]
            if patterns is None:
                patterns = self._bits[rows]
            else:
                patterns |= self._bits[rows]
        by_leaf = np.ascontiguousarray(patterns.T)  # (leaves, n): slot gathers below copy whole rows

        probability = self._leaf_values @ (by_leaf == self._full[:, None])
        shap = np.zeros((self.n_features, n))
        if self._slot_leaf.size:
            idx = np.add(by_leaf[self._slot_leaf], self._slot_start[:, None], dtype=np.int64)
            contrib = np.take(self._table, idx, mode="clip")  # indices are in range by construction
            for f, (a, b) in self._feat_segments:
                shap[f] = contrib[a:b].sum(axis=0)
        return Explanation(probability=probability, shap=shap.T, base_value=self.base_value)
