"""Tabulated path-dependent TreeSHAP: the work that does not depend on the record is done at load.

In the spirit of Fast TreeSHAP v2 (Yang 2021):

* For a record, a leaf's contribution depends only on which of its path conditions are *hot*
  (the record meets them): a ``d``-bit pattern ``s``.
* For a cold feature set the standard TreeSHAP weight sum is a polynomial identity:
  with ``R_s(t) = prod_{hot j}(z_j + t) * prod_{cold j} z_j`` and
  ``W(R) = sum_m m!(d-1-m)!/d! * [t^m] R``, the SHAP value of path feature ``k`` is
  ``v * (o_k - z_k) / z_k * W(R_{s without k})``. All ``2^d`` patterns are tabulated per leaf.
* Leaves are grouped into *units*: the largest subtrees whose leaves together use at most a few
  distinct conditions. A unit's table, indexed by the pattern of those conditions, holds the
  summed contributions of all its leaves per feature (a sibling pair shares all but one
  condition), and one more table its share of the output (a leaf is reached when all its
  conditions hold).
* At request time a record costs one small integer gather to build every unit's pattern, and one
  float gather + segmented sum.
"""

from __future__ import annotations

from math import factorial

import numpy as np

from feature_cells import FeatureCells
from tree_paths import LeafPaths


def table_entries(paths: LeafPaths, unit_bits: np.ndarray, unit_features: np.ndarray) -> np.ndarray:
    """Per unit, the table entries tabulating it would take (its tables plus its leaves' own)."""
    leaf_cost = np.bincount(paths.unit, weights=paths.depth * np.exp2(paths.depth),
                            minlength=unit_bits.size)
    return (unit_features + 1) * np.exp2(unit_bits) + leaf_cost


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


class UnitTables:
    """The tabulated units of a model; ``accumulate`` adds their SHAP values and outputs to ``out``."""

    def __init__(self, paths: LeafPaths, cells: FeatureCells, units: np.ndarray, n_outputs: int):
        n_feat = cells.n_features
        # The chosen units, renumbered 0..U-1, and the leaves and path slots inside them.
        unit_of = np.full(int(paths.unit.max(initial=-1)) + 1, -1, dtype=np.int64)
        unit_of[units] = np.arange(units.size)
        leaves = np.nonzero(unit_of[paths.unit] >= 0)[0]
        local_leaf = np.full(paths.unit.size, -1, dtype=np.int64)
        local_leaf[leaves] = np.arange(leaves.size)
        slots = np.nonzero(local_leaf[paths.slot_leaf] >= 0)[0]
        values, depth, output = paths.value[leaves], paths.depth[leaves], paths.output[leaves]
        leaf_unit = unit_of[paths.unit[leaves]]
        slot_leaf, slot_k = local_leaf[paths.slot_leaf[slots]], paths.slot_k[slots]
        n_leaves, n_units = leaves.size, units.size

        # Each unit's distinct conditions, numbered inside the unit: its pattern bits.
        n_cond = max(paths.cond_feat.size, 1)
        unit_cond, slot_pair = np.unique(leaf_unit[slot_leaf] * n_cond + paths.slot_cond[slots], return_inverse=True)
        cond_unit, cond_id = unit_cond // n_cond, unit_cond % n_cond
        cond_pos = np.arange(unit_cond.size) - np.searchsorted(cond_unit, np.arange(n_units))[cond_unit]
        slot_bit = cond_pos[slot_pair.ravel()]
        unit_bits = np.bincount(cond_unit, minlength=n_units)
        max_bits = int(unit_bits.max(initial=0))
        self.pattern_dtype = np.uint8 if max_bits <= 8 else np.uint16 if max_bits <= 16 else np.uint32
        self._patterns = cells.patterns(cond_id, cond_unit, cond_pos, n_units, self.pattern_dtype)

        width = max(int(depth.max(initial=0)), 1)
        z = np.ones((n_leaves, width))
        z[slot_leaf, slot_k] = paths.slot_z[slots]
        leaf_feat = np.zeros((n_leaves, width), dtype=np.int64)
        leaf_feat[slot_leaf, slot_k] = paths.slot_feat[slots]
        bit_of_leaf = np.zeros((n_leaves, width), dtype=np.int64)
        bit_of_leaf[slot_leaf, slot_k] = slot_bit

        # Unit slots: one per (unit, feature it uses), plus (unit, n_feat) for its output; ordered
        # by target (output, feature) then unit, so each target is one contiguous segment.
        unit_output = np.zeros(n_units, dtype=np.int64)
        unit_output[leaf_unit] = output
        slot_id = np.full((n_units, n_feat + 1), -1, dtype=np.int64)
        slot_id[cond_unit, paths.cond_feat[cond_id]] = 0
        slot_id[:, n_feat] = 0
        some_unit, some_column = np.nonzero(slot_id >= 0)
        target = unit_output[some_unit] * (n_feat + 1) + some_column
        order = np.lexsort((some_unit, target))
        slot_unit, slot_target = some_unit[order], target[order]
        slot_id[slot_unit, some_column[order]] = np.arange(slot_unit.size)
        sizes = np.left_shift(1, unit_bits[slot_unit])
        starts = np.cumsum(sizes) - sizes

        leaf_table, leaf_slot_start = _leaf_tables(values, depth, z)
        full = (np.int64(1) << depth) - 1
        table = np.zeros(int(sizes.sum()))
        for bits in np.unique(unit_bits):
            group = np.nonzero(unit_bits[leaf_unit] == bits)[0]
            if not group.size:
                continue
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
            out_order = order[~is_shap] - n_shap
            rows[~is_shap] = values[group[out_order]][:, None] * (own[out_order] == full[group[out_order]][:, None])
            table[starts[targets[firsts]][:, None] + patterns] = np.add.reduceat(rows, firsts, axis=0)

        self._table = table
        self._slot_start = starts.astype(np.int32)[:, None]  # < the table budget: int32 is enough
        self._slot_unit = slot_unit.astype(np.intp)
        bounds = np.searchsorted(slot_target, np.arange(n_outputs * (n_feat + 1) + 1))
        self._segments = [(t, int(bounds[t]), int(bounds[t + 1])) for t in range(bounds.size - 1)
                          if bounds[t + 1] > bounds[t]]
        self._n_units = n_units
        self.entries = int(table.size)
        self._scratch: tuple | None = None

    def _buffers(self, n: int, chunk: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # Allocated once, ``chunk`` records wide: fresh multi-megabyte temporaries would be mmap-ed
        # and page-faulted on every request. (A Lambda container serves one request at a time.)
        if self._scratch is None:
            size = self._slot_unit.size * chunk
            self._scratch = (np.empty(size, dtype=self.pattern_dtype), np.empty(size, dtype=np.int32),
                             np.empty(size))
        shape = (self._slot_unit.size, n)
        return tuple(buffer[: shape[0] * n].reshape(shape) for buffer in self._scratch)

    def accumulate(self, rows: list[np.ndarray], out: np.ndarray, chunk: int) -> None:
        """Adds every unit's SHAP values and output share for the records whose cell rows are given."""
        n = out.shape[1]
        patterns = self._patterns(rows)
        by_unit = np.ascontiguousarray(patterns.T)  # (units, n): the slot gather below copies whole rows
        if self._slot_unit.size:
            slot_patterns, idx, contrib = self._buffers(n, chunk)
            np.take(by_unit, self._slot_unit, axis=0, out=slot_patterns)
            np.add(slot_patterns, self._slot_start, out=idx)
            np.take(self._table, idx, out=contrib, mode="clip")  # in range by construction
            for target, a, b in self._segments:
                out[target] += contrib[a:b].sum(axis=0)
