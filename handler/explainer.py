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
        # A leaf worth 0 adds nothing to any probability, SHAP value or the base value: skip its work.
        leaves = [leaf for tree in trees for leaf in _tree_leaves(tree, n_features, scale) if leaf.value != 0.0]
        self._build(leaves)

    def _build(self, leaves: list[_Leaf]) -> None:
        n_feat = self.n_features
        n_leaves = len(leaves)
        depth = np.array([len(leaf.feats) for leaf in leaves], dtype=np.int64)
        max_d = int(depth.max(initial=0))
        entries = int(np.sum(depth << depth))
        if entries > MAX_TABLE_ENTRIES:
            raise ModelFormatError(
                f"trees too deep for the tabulated explainer ({entries} table entries, limit "
                f"{MAX_TABLE_ENTRIES}); lower max_depth"
            )
        self._pattern_dtype = np.uint8 if max_d <= 8 else np.uint16 if max_d <= 16 else np.uint32
        values = np.array([leaf.value for leaf in leaves])

        # Slots = (leaf, path position), ordered by feature then leaf for a segmented sum per feature.
        slot_leaf = np.repeat(np.arange(n_leaves), depth)
        slot_pos = np.concatenate([np.arange(d) for d in depth]) if n_leaves else np.zeros(0, np.int64)
        slot_feat = np.array([f for leaf in leaves for f in leaf.feats], dtype=np.int64)
        slot_lo = np.array([t for leaf in leaves for t in leaf.lo], dtype=np.float64)
        slot_hi = np.array([t for leaf in leaves for t in leaf.hi], dtype=np.float64)
        slot_z = np.array([t for leaf in leaves for t in leaf.z], dtype=np.float64)
        order = np.lexsort((slot_pos, slot_leaf, slot_feat))
        slot_leaf, slot_pos, slot_feat = slot_leaf[order], slot_pos[order], slot_feat[order]
        slot_lo, slot_hi, slot_z = slot_lo[order], slot_hi[order], slot_z[order]
        bounds = np.searchsorted(slot_feat, np.arange(n_feat + 1))

        # Threshold cells per feature: a record's cell c = #thresholds strictly below x, so that
        # x <= thr[m] <=> c <= m and x > thr[m] <=> c > m. Slot k is hot for cells a < c <= b.
        self._thresholds = []
        cell_offsets = np.zeros(n_feat + 1, dtype=np.int64)
        first_row = np.empty(slot_feat.size, dtype=np.int64)
        end_row = np.empty(slot_feat.size, dtype=np.int64)
        for f in range(n_feat):
            seg = slice(bounds[f], bounds[f + 1])
            lo, hi = slot_lo[seg], slot_hi[seg]
            thr = np.unique(np.concatenate([lo[np.isfinite(lo)], hi[np.isfinite(hi)]]))
            self._thresholds.append(thr)
            cell_offsets[f + 1] = cell_offsets[f] + thr.size + 1
            a = np.where(np.isfinite(lo), np.searchsorted(thr, lo), -1)
            b = np.where(np.isfinite(hi), np.searchsorted(thr, hi), thr.size)
            first_row[seg] = cell_offsets[f] + a + 1
            end_row[seg] = cell_offsets[f] + b + 1
        # bits[row, leaf]: the pattern bits a feature's cell sets in each leaf. Built as a running
        # sum of +bit at the first hot cell and -bit past the last one.
        steps = np.zeros((int(cell_offsets[-1]) + 1, n_leaves), dtype=np.int64)
        slot_bit = np.left_shift(1, slot_pos)
        np.add.at(steps, (first_row, slot_leaf), slot_bit)
        np.add.at(steps, (end_row, slot_leaf), -slot_bit)
        self._bits = np.cumsum(steps, axis=0)[:-1].astype(self._pattern_dtype)
        self._cell_offsets = cell_offsets[:-1]
        self._full = ((np.int64(1) << depth) - 1).astype(self._pattern_dtype)
        self._leaf_values = values

        # Per-leaf pattern weights W(R_s), grouped by path length so each group is one vectorised pass.
        z_by_leaf = np.ones((n_leaves, max(max_d, 1)))
        z_by_leaf[slot_leaf, slot_pos] = slot_z
        self.base_value = float(values @ np.prod(z_by_leaf, axis=1))
        q_start = np.zeros(n_leaves, dtype=np.int64)
        q_parts, offset = [], 0
        for d in range(1, max_d + 1):
            group = np.nonzero(depth == d)[0]
            if group.size:
                q_parts.append(_pattern_weights(z_by_leaf[group, :d]).ravel())
                q_start[group] = offset + (np.arange(group.size) << d)
                offset += group.size << d
        q_flat = np.concatenate(q_parts) if q_parts else np.zeros(0)

        # One flat table: slot j owns 2^d consecutive entries, T[s] = v (bit_k(s) - z_k) / z_k W(R_{s & ~bit_k}).
        sizes = np.left_shift(1, depth[slot_leaf])
        starts = np.cumsum(sizes) - sizes
        table = np.empty(int(sizes.sum()))
        for d in range(1, max_d + 1):
            group = np.nonzero(sizes == (1 << d))[0]
            if not group.size:
                continue
            patterns = np.arange(1 << d)[None, :]
            k = slot_pos[group][:, None]
            hot = (patterns >> k) & 1
            zk = slot_z[group][:, None]
            q = q_flat[q_start[slot_leaf[group]][:, None] + (patterns & ~np.left_shift(1, k))]
            table[starts[group][:, None] + patterns] = values[slot_leaf[group]][:, None] * (hot - zk) / zk * q
        self._table = table
        self._slot_start = starts.astype(np.int32)[:, None]  # < MAX_TABLE_ENTRIES: int32 is enough
        self._slot_leaf = slot_leaf
        self._feat_segments = [(f, (int(bounds[f]), int(bounds[f + 1])))
                               for f in range(n_feat) if bounds[f + 1] > bounds[f]]
        self._scratch: tuple[int, np.ndarray, np.ndarray, np.ndarray] | None = None

    def _buffers(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # Reused between calls of the same batch size: fresh multi-megabyte temporaries would be
        # mmap-ed and page-faulted on every request. (A Lambda container serves one request at a time.)
        if self._scratch is None or self._scratch[0] != n:
            shape = (self._slot_leaf.size, n)
            self._scratch = (n, np.empty(shape, dtype=self._pattern_dtype), np.empty(shape, dtype=np.int32),
                             np.empty(shape))
        return self._scratch[1:]

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
        patterns = np.zeros((n, self._full.size), dtype=self._pattern_dtype)
        for f in range(self.n_features):
            rows = np.searchsorted(self._thresholds[f], x[:, f], side="left") + self._cell_offsets[f]
            patterns |= self._bits[rows]
        by_leaf = np.ascontiguousarray(patterns.T)  # (leaves, n): the slot gather below copies whole rows

        probability = self._leaf_values @ (by_leaf == self._full[:, None])
        shap = np.zeros((self.n_features, n))
        if self._slot_leaf.size:
            slot_patterns, idx, contrib = self._buffers(n)
            np.take(by_leaf, self._slot_leaf, axis=0, out=slot_patterns)
            np.add(slot_patterns, self._slot_start, out=idx)
            np.take(self._table, idx, out=contrib, mode="clip")  # in range by construction
            for f, (a, b) in self._feat_segments:
                np.sum(contrib[a:b], axis=0, out=shap[f])
        return Explanation(probability=probability, shap=shap.T, base_value=self.base_value)
