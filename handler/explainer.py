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
* Leaves are then grouped into *units*: the largest subtrees whose leaves together use at most
  MAX_UNIT_BITS distinct (feature, interval) conditions. A unit's table, indexed by the pattern of
  those conditions, holds the summed contributions of all its leaves per feature (a sibling pair
  shares all but one condition), which cuts the per-record work by about 40% for typical forests.
  One more table per unit holds its share of the probability (a leaf is reached when all its
  conditions hold).
* At request time a record costs one ``searchsorted`` per feature (which threshold cell it is in),
  one small integer gather to build every unit's pattern, and one float gather + segmented sum.
"""

from __future__ import annotations

from math import factorial
from typing import NamedTuple

import numpy as np

from tree_paths import ForestPaths, ModelFormatError, forest_units

# Tables grow as 2^d per path slot; a forest deeper than this is refused at load time instead of
# silently exhausting memory in the function.
MAX_TABLE_ENTRIES = 20_000_000
# Conditions per unit: tables grow as 2^bits; 8 keeps patterns in a byte and the tables in cache.
MAX_UNIT_BITS = 8
# Records per vectorised pass: large enough to amortise numpy's call overhead, small enough that
# the per-slot work arrays stay a few megabytes for any batch.
CHUNK = 128


class Explanation(NamedTuple):
    """Per-record outputs; ``base_value + shap.sum(axis=1) == probability`` up to rounding."""

    probability: np.ndarray  # (n,)
    shap: np.ndarray  # (n, n_features)
    base_value: float


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


def _leaf_tables(values: np.ndarray, depth: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per (leaf, path position k) the 2^d contributions T[s] = v (bit_k(s) - z_k) / z_k W(R_{s & ~bit_k}).

    Returns the flat table and each (leaf, k)'s start in it, shape (leaves, max_d) (-1 past the path).
    """
    n_leaves, max_d = z.shape
    starts = np.full((n_leaves, max_d), -1, dtype=np.int64)
    sizes = np.where(np.arange(max_d)[None, :] < depth[:, None], np.left_shift(1, depth)[:, None], 0)
    flat_sizes = sizes.ravel()
    flat_starts = np.cumsum(flat_sizes) - flat_sizes
    starts.ravel()[flat_sizes > 0] = flat_starts[flat_sizes > 0]
    table = np.empty(int(flat_sizes.sum()))
    for d in range(1, max_d + 1):
        group = np.nonzero(depth == d)[0]
        if not group.size:
            continue
        q = _pattern_weights(z[group, :d])  # (m, 2^d)
        patterns = np.arange(1 << d)
        for k in range(d):
            hot = (patterns >> k) & 1
            zk = z[group, k][:, None]
            block = values[group][:, None] * (hot - zk) / zk * q[:, patterns & ~(1 << k)]
            table[starts[group, k][:, None] + patterns] = block
    return table, starts


class TreeEnsembleExplainer:
    """Loads the ``ensemble`` part of model.json and explains batches of float records."""

    def __init__(self, ensemble: dict, n_features: int):
        trees = ensemble.get("trees")
        if not isinstance(trees, list) or not trees:
            raise ModelFormatError("ensemble.trees must be a non-empty list")
        if ensemble.get("aggregation") != "mean":
            raise ModelFormatError("ensemble.aggregation must be 'mean'")
        self.n_features = n_features
        self._build(forest_units(trees, n_features, MAX_UNIT_BITS))

    def _build(self, paths: ForestPaths) -> None:
        n_feat = self.n_features
        values, depth, leaf_unit, unit_bits = paths.value, paths.depth, paths.unit, paths.unit_bits
        n_leaves, n_units = values.size, unit_bits.size
        max_d = int(depth.max(initial=0))
        if int(np.sum(depth << depth)) > MAX_TABLE_ENTRIES:
            raise ModelFormatError(f"trees too deep for the tabulated explainer (more than {MAX_TABLE_ENTRIES} "
                                   "table entries); lower max_depth")
        width = max(max_d, 1)
        z = np.ones((n_leaves, width))
        z[paths.slot_leaf, paths.slot_k] = paths.slot_z
        leaf_feat = np.zeros((n_leaves, width), dtype=np.int64)
        leaf_feat[paths.slot_leaf, paths.slot_k] = paths.slot_feat
        bit_of_leaf = np.zeros((n_leaves, width), dtype=np.int64)
        bit_of_leaf[paths.slot_leaf, paths.slot_k] = paths.slot_bit
        self.base_value = float(values @ np.prod(z, axis=1))

        max_bits = int(unit_bits.max(initial=0))
        self._pattern_dtype = np.uint8 if max_bits <= 8 else np.uint16 if max_bits <= 16 else np.uint32
        self._bits, self._thresholds, self._cell_offsets = self._condition_cells(
            n_units, paths.cond_unit, paths.cond_pos, paths.cond_feat, paths.cond_lo, paths.cond_hi)

        # Unit slots: one per (unit, feature it uses), plus (unit, n_feat) for the probability;
        # ordered by feature then unit so each feature is one contiguous segment.
        slot_id = np.full((n_units, n_feat + 1), -1, dtype=np.int64)
        slot_id[paths.cond_unit, paths.cond_feat] = 0
        slot_id[:, n_feat] = 0
        slot_feat, slot_unit = np.nonzero(slot_id.T >= 0)
        slot_id[slot_unit, slot_feat] = np.arange(slot_unit.size)
        sizes = np.left_shift(1, unit_bits[slot_unit])
        starts = np.cumsum(sizes) - sizes
        if int(sizes.sum()) > MAX_TABLE_ENTRIES:
            raise ModelFormatError(f"unit tables exceed {MAX_TABLE_ENTRIES} entries; lower max_depth")

        leaf_table, leaf_slot_start = _leaf_tables(values, depth, z)
        full = (np.int64(1) << depth) - 1
        table = np.zeros(int(sizes.sum()))
        for bits in np.unique(unit_bits):
            group = np.nonzero(unit_bits[leaf_unit] == bits)[0]
            patterns = np.arange(1 << bits)
            # Each leaf's own pattern for every pattern of its unit.
            own = np.zeros((group.size, patterns.size), dtype=np.int64)
            for k in range(int(depth[group].max(initial=0))):
                reads = depth[group] > k
                bit = (patterns[None, :] >> bit_of_leaf[group, k][:, None]) & 1
                own += np.where(reads[:, None], bit << k, 0)
            rows_leaf, rows_k = np.nonzero(np.arange(width)[None, :] < depth[group][:, None])
            leaf_ids = group[rows_leaf]
            # Targets first, so the (rows x patterns) blocks are built already sorted for reduceat.
            targets = np.concatenate([slot_id[leaf_unit[leaf_ids], leaf_feat[leaf_ids, rows_k]],
                                      slot_id[leaf_unit[group], n_feat]])
            order = np.argsort(targets, kind="stable")
            targets = targets[order]
            firsts = np.flatnonzero(np.r_[True, targets[1:] != targets[:-1]])
            n_shap = rows_leaf.size
            is_shap = order < n_shap
            rows = np.empty((order.size, patterns.size))
            shap_order = order[is_shap]
            rows[is_shap] = leaf_table[leaf_slot_start[leaf_ids[shap_order], rows_k[shap_order]][:, None]
                                       + own[rows_leaf[shap_order]]]
            proba_order = order[~is_shap] - n_shap
            rows[~is_shap] = values[group[proba_order]][:, None] * (
                own[proba_order] == full[group[proba_order]][:, None])
            table[starts[targets[firsts]][:, None] + patterns] = np.add.reduceat(rows, firsts, axis=0)

        self._table = table
        self._slot_start = starts.astype(np.int32)[:, None]  # < MAX_TABLE_ENTRIES: int32 is enough
        self._slot_unit = slot_unit.astype(np.intp)
        bounds = np.searchsorted(slot_feat, np.arange(n_feat + 2))
        self._segments = [(f, int(bounds[f]), int(bounds[f + 1])) for f in range(n_feat + 1)
                          if bounds[f + 1] > bounds[f]]
        self._n_units = n_units
        self._scratch: tuple | None = None

    def _condition_cells(self, n_units, cond_unit, cond_pos, cond_feat, cond_lo, cond_hi):
        """bits[row, unit]: the pattern bits a feature's threshold cell sets in each unit.

        A record's cell c for feature f = #thresholds of f strictly below x, so that x <= thr[m] <=>
        c <= m and x > thr[m] <=> c > m; condition (lo, hi] holds for cells a < c <= b. Built as a
        running sum of +bit at the first cell where a condition holds and -bit past the last one.
        """
        thresholds, offsets = [], [0]
        first_row = np.empty(cond_feat.size, dtype=np.int64)
        end_row = np.empty(cond_feat.size, dtype=np.int64)
        for f in range(self.n_features):
            mine = np.nonzero(cond_feat == f)[0]
            lo, hi = cond_lo[mine], cond_hi[mine]
            thr = np.unique(np.concatenate([lo[np.isfinite(lo)], hi[np.isfinite(hi)]]))
            thresholds.append(thr)
            a = np.where(np.isfinite(lo), np.searchsorted(thr, lo), -1)
            b = np.where(np.isfinite(hi), np.searchsorted(thr, hi), thr.size)
            first_row[mine] = offsets[-1] + a + 1
            end_row[mine] = offsets[-1] + b + 1
            offsets.append(offsets[-1] + thr.size + 1)
        # Unsigned wrap-around keeps the running sum exact: every true value fits the pattern type.
        steps = np.zeros((offsets[-1] + 1, n_units), dtype=self._pattern_dtype)
        bit = np.left_shift(1, cond_pos).astype(self._pattern_dtype)
        np.add.at(steps, (first_row, cond_unit), bit)
        np.add.at(steps, (end_row, cond_unit), np.negative(bit))
        bits = np.cumsum(steps, axis=0, dtype=self._pattern_dtype)[:-1]
        return bits, thresholds, np.array(offsets[:-1], dtype=np.int64)

    def _buffers(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # Allocated once, CHUNK records wide: fresh multi-megabyte temporaries would be mmap-ed and
        # page-faulted on every request. (A Lambda container serves one request at a time.)
        if self._scratch is None:
            size = self._slot_unit.size * CHUNK
            self._scratch = (np.empty(size, dtype=self._pattern_dtype), np.empty(size, dtype=np.int32),
                             np.empty(size))
        shape = (self._slot_unit.size, n)
        return tuple(buffer[: shape[0] * n].reshape(shape) for buffer in self._scratch)

    def explain(self, x: np.ndarray) -> Explanation:
        """x: (n, n_features) finite floats (already imputed). Compared as float32, as scikit-learn does."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"expected shape (n, {self.n_features}), got {x.shape}")
        x = x.astype(np.float32).astype(np.float64)
        if not np.isfinite(x).all():
            raise ValueError("records must be finite: impute missing values before explaining")
        out = np.zeros((self.n_features + 1, x.shape[0]))  # SHAP per feature, then the probability
        # Chunks bound the working memory (slots x records) whatever the batch size.
        for start in range(0, x.shape[0], CHUNK):
            self._explain_chunk(x[start: start + CHUNK], out[:, start: start + CHUNK])
        return Explanation(probability=out[-1], shap=out[:-1].T, base_value=self.base_value)

    def _explain_chunk(self, x: np.ndarray, out: np.ndarray) -> None:
        n = x.shape[0]
        # Bits from different conditions never overlap, so OR-ing the rows builds each unit's pattern.
        patterns = np.zeros((n, self._n_units), dtype=self._pattern_dtype)
        for f in range(self.n_features):
            rows = np.searchsorted(self._thresholds[f], x[:, f], side="left") + self._cell_offsets[f]
            patterns |= self._bits[rows]
        by_unit = np.ascontiguousarray(patterns.T)  # (units, n): the slot gather below copies whole rows
        if self._slot_unit.size:
            slot_patterns, idx, contrib = self._buffers(n)
            np.take(by_unit, self._slot_unit, axis=0, out=slot_patterns)
            np.add(slot_patterns, self._slot_start, out=idx)
            np.take(self._table, idx, out=contrib, mode="clip")  # in range by construction
            for f, a, b in self._segments:
                np.sum(contrib[a:b], axis=0, out=out[f])
