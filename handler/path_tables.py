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
  condition). The output needs no table of its own: SHAP values add up to it from the base value.
* At request time a record costs one small integer gather to build every unit's pattern, then a
  float gather per unit and feature (or one row per unit, for small tables) and the sums.

Against a reference population (interventional TreeSHAP) only the leaves' own tables differ
(reference_shap.ReferenceLeaves fills them); units, patterns and requests are the same.
"""

from __future__ import annotations

import math

import numpy as np

from feature_cells import FeatureCells
from path_quadrature import gauss_legendre
from tree_paths import LeafPaths


# Elements of the build's work arrays: small enough to be reused from the heap rather than mapped
# and page-faulted afresh at each step, which made a cold start's build twice as slow as a warm one.
BUILD_ELEMENTS = 1 << 16


def table_entries(paths: LeafPaths, unit_bits: np.ndarray, unit_features: np.ndarray) -> np.ndarray:
    """Per unit, the table entries tabulating it would take (its tables plus its leaves' own)."""
    leaf_cost = np.bincount(paths.unit, weights=paths.depth * np.exp2(paths.depth),
                            minlength=unit_bits.size)
    return unit_features * np.exp2(unit_bits) + leaf_cost


def _pattern_weights(z: np.ndarray) -> np.ndarray:
    """W(R_s) for every pattern s of every leaf in a group sharing path length d. z: (m, d).

    By the Beta integral, W(R_s) = integral_0^1 prod_j g_j(u) / (1 - u) du with g_j = z_j (1 - u)
    for a cold bit and z_j (1 - u) + u for a hot one: a polynomial of degree d - 1 whenever a bit is
    cold (the only patterns used), integrated exactly by ceil(d / 2) Gauss-Legendre nodes. At each
    node the products over all patterns are a Kronecker product, built one bit at a time.
    """
    m, d = z.shape
    u, weight = gauss_legendre(max(1, -(-d // 2)))
    # Nodes outermost, patterns innermost: each step multiplies long contiguous rows.
    cold = (1.0 - u)[:, None, None, None] * z.T[None, :, :, None]  # (nodes, d, m, 1)
    hot = cold + u[:, None, None, None]
    product = np.empty((u.size, m, 1 << d))
    product[:, :, 0] = (weight / (1.0 - u))[:, None]
    for k in range(d):
        half = 1 << k  # the new bit k is the high bit of the index so far
        np.multiply(product[:, :, :half], hot[:, k], out=product[:, :, half: 2 * half])
        product[:, :, :half] *= cold[:, k]
    return product.sum(axis=0)  # (m, 2^d); the all-hot pattern is not a polynomial's and not used


def _fill_leaf_block(block: np.ndarray, values: np.ndarray, z: np.ndarray) -> None:
    """The tables of m leaves of one path length d >= 1 into ``block`` (m, d, 2^d): per path position k
    the contributions T[s] = v (bit_k(s) - z_k) / z_k W(R_{s & ~bit_k}). z: (m, d)."""
    m, d = z.shape
    size = 1 << d
    weights = _pattern_weights(z)  # (m, 2^d)
    value = values[:, None, None]
    for k in range(d):
        # Patterns as (high bits, bit k, low bits): both halves read the weights of the pattern with
        # bit k cold, scaled by (1 - z_k) / z_k when hot and by -1 when cold.
        shape = (m, size >> (k + 1), 2, 1 << k)
        cold_weights = weights.reshape(shape)[:, :, 0, :]
        row = block[:, k].reshape(shape)
        zk = z[:, k][:, None, None]
        np.multiply(cold_weights, value * (1.0 - zk) / zk, out=row[:, :, 1, :])
        np.multiply(cold_weights, -value, out=row[:, :, 0, :])


# Longest segment summed by steps (each step is a few numpy calls); past it reduceat is faster.
STEPPED_SEGMENT = 8


def _segment_sums(rows: np.ndarray, firsts: np.ndarray) -> np.ndarray:
    """``np.add.reduceat(rows, firsts, axis=0)``: for short segments the same sums in the same order, a
    vectorised step per segment length rather than reduceat's element-wise loop on wide rows
    (several times faster when most segments are a row or two)."""
    lengths = np.diff(firsts, append=rows.shape[0])
    if lengths.max(initial=0) > STEPPED_SEGMENT:
        return np.add.reduceat(rows, firsts, axis=0)
    out = rows[firsts]
    longer = np.nonzero(lengths > 1)[0]
    k = 1
    while longer.size:
        out[longer] += rows[firsts[longer] + k]
        k += 1
        longer = longer[lengths[longer] > k]
    return out


# Up to this many records, a request's per-target sums take one reduceat call.
FEW_RECORDS = 8
# Row layout (see UnitTables) while the rows hold at most this many entries, and the elements of a
# request's gathered rows at a time. Past a few megabytes of table the rows stop fitting the caches
# and the slot layout's blocked gathers win (a 300-tree LightGBM model: twice as fast).
ROW_ENTRIES = 1_500_000
ROW_WORK = 1 << 20
# One record's request gathers a row per unit wherever the rows fit this many entries (48 MB), even where
# the slots layout serves batches: a unit's row is one or two cache lines where its slots' entries are
# one line each. A 300-tree LightGBM model (2.2 M slot entries, 3.8 M in rows): 40% less time in the
# tables for one record, for a copy of the table built at load (13-20 ms here, and its page faults).
RECORD_ROW_ENTRIES = 6_000_000
# Slots x records per block of a larger request (whose records come a few hundred at most at a
# time): the block's indices and entries (1 MB each) stay in cache between the steps; 32 times
# smaller blocks were slower again, by their Python overhead.
BLOCK_ELEMENTS = 1 << 17


class UnitTables:
    """The tabulated units of a model; ``accumulate`` adds their SHAP values to ``out``.

    Two layouts of the same entries. Slots: each (unit, feature) slot's 2^bits entries in a block of
    its own, the blocks by target; a request gathers one entry per slot and record, then sums each
    target's segment. Rows: one row per (unit, pattern) holding the unit's entries for every target,
    so a request gathers one row per unit and record and sums them: a fifth as many gathers where
    units use about half the features, for rows that also carry the zeros of the features a unit
    does not use. Rows serve small tables (a 100-tree HistGradientBoosting model: some 30% faster),
    slots large ones; a large table also gets a rows copy for one-record requests (RECORD_ROW_ENTRIES),
    where the slots' batch locality buys nothing.
    """

    def __init__(self, paths: LeafPaths, cells: FeatureCells, units: np.ndarray, n_outputs: int, reference=None):
        """``reference``: a source of interventional leaf tables (reference_shap.ReferenceLeaves); without
        one the tables are path-dependent TreeSHAP's."""
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

        # A leaf's own table (leaves, d, 2^d) for leaves of one path length, given by their local index.
        def fill(block: np.ndarray, group: np.ndarray) -> None:
            if reference is None:
                _fill_leaf_block(block, values[group], z[group, : block.shape[1]])
            else:
                reference.fill(block, leaves[group])

        # Unit slots: one per (unit, feature it uses); ordered by target (output, feature), then by the
        # unit's bits and the unit: each target is one contiguous segment, and in it the slots of units of
        # one size (so the rows copy below takes each such run of blocks whole).
        unit_output = np.zeros(n_units, dtype=np.int64)
        unit_output[leaf_unit] = output
        slot_id = np.full((n_units, n_feat), -1, dtype=np.int64)
        slot_id[cond_unit, paths.cond_feat[cond_id]] = 0
        some_unit, some_column = np.nonzero(slot_id >= 0)
        target = unit_output[some_unit] * n_feat + some_column
        order = np.lexsort((some_unit, unit_bits[some_unit], target))
        slot_unit, slot_target = some_unit[order], target[order]
        slot_id[slot_unit, some_column[order]] = np.arange(slot_unit.size)

        # The table: in slots, the slots' (2^bits)-entry blocks in slot order, so that a request's
        # gather walks each target's segment at increasing addresses; in rows, (unit, pattern) rows of
        # one column per target. Entry (slot, pattern) is at base[slot] + pattern * stride.
        sizes = np.left_shift(1, unit_bits[slot_unit])
        starts = np.cumsum(sizes) - sizes
        bounds = np.searchsorted(slot_target, np.arange(n_outputs * n_feat + 1))
        used = np.nonzero(bounds[1:] > bounds[:-1])[0]  # the targets with slots, each one segment
        unit_rows = np.left_shift(1, unit_bits)
        n_rows = int(unit_rows.sum())
        if n_rows * used.size <= ROW_ENTRIES:
            unit_base = np.cumsum(unit_rows) - unit_rows
            base = unit_base[slot_unit] * used.size + np.searchsorted(used, slot_target)
            stride = used.size
            table = np.zeros(n_rows * used.size)
        else:
            unit_base, base, stride = None, starts, 1
            table = np.zeros(int(sizes.sum()))

        # A unit of one leaf whose pattern bits are its path's conditions in path order (conditions are
        # numbered by feature: every one): its slots' blocks are the leaf's own table rows, copied in.
        lone = np.bincount(leaf_unit, minlength=n_units)[leaf_unit] == 1
        lone &= ((bit_of_leaf == np.arange(width)) | (np.arange(width) >= depth[:, None])).all(axis=1)
        for d in np.unique(depth[lone & (depth > 0)]).tolist():
            same = np.nonzero(lone & (depth == d))[0]
            per_chunk = max(1, BUILD_ELEMENTS // (d << d))
            for a in range(0, same.size, per_chunk):
                group = same[a: a + per_chunk]
                block = np.empty((group.size, d, 1 << d))
                fill(block, group)
                rows = base[slot_id[leaf_unit[group][:, None], leaf_feat[group, :d]]]
                table[rows.reshape(-1, 1) + np.arange(1 << d) * stride] = block.reshape(-1, 1 << d)

        for bits in np.unique(unit_bits).tolist():
            size = 1 << bits
            unit_patterns = ((np.arange(size)[None, :] >> np.arange(max(bits, 1))[:, None]) & 1).astype(np.float64)
            of_bits = np.nonzero((unit_bits[leaf_unit] == bits) & ~lone & (depth > 0))[0]
            # Leaves of one path length at a time, a few hundred kilobytes of (rows x patterns) work per
            # chunk: few numpy calls per leaf. A unit's leaves can fall in several chunks: each adds.
            for d in np.unique(depth[of_bits]).tolist():
                same = of_bits[depth[of_bits] == d]
                per_chunk = max(1, BUILD_ELEMENTS // (d * size))
                rows_k = np.arange(d)
                for a in range(0, same.size, per_chunk):
                    group = same[a: a + per_chunk]
                    rows_leaf = np.repeat(np.arange(group.size), d)
                    ks = np.tile(rows_k, group.size)
                    # Each leaf's own pattern for every pattern of its unit: sum over its conditions k of
                    # bit_k(unit pattern) << k, as one small matrix product.
                    place = np.zeros((group.size, max(bits, 1)))
                    place[rows_leaf, bit_of_leaf[group[rows_leaf], ks]] = np.exp2(ks)
                    own = (place @ unit_patterns).astype(np.intp)  # (leaves, 2^bits)
                    leaf_table = np.empty((group.size, d, 1 << d))
                    fill(leaf_table, group)
                    # Every SHAP row of these leaves by target, so that the gathered (rows x patterns)
                    # block is already sorted for the sums.
                    targets = slot_id[leaf_unit[group[rows_leaf]], leaf_feat[group[rows_leaf], ks]]
                    first = np.arange(rows_leaf.size) << d  # row i of leaf_table starts at i 2^d
                    order = np.argsort(targets, kind="stable")
                    targets = targets[order]
                    firsts = np.flatnonzero(np.r_[True, targets[1:] != targets[:-1]])
                    index = own[rows_leaf[order]]
                    index += first[order][:, None]
                    summed = np.take(leaf_table, index)
                    if firsts.size < targets.size:  # some target sums several leaves' rows
                        summed = _segment_sums(summed, firsts)
                    table[base[targets[firsts]][:, None] + np.arange(size) * stride] += summed

        self._table = table
        self._slot_start = starts.astype(np.intp)
        self._slot_unit = slot_unit.astype(np.intp)
        self._targets = used
        self._target_starts = bounds[used]
        self._segments = [(t, int(bounds[t]), int(bounds[t + 1])) for t in used.tolist()]
        self._n_units = n_units
        self.entries = int(table.size)
        self.layout = "slots" if unit_base is None else "rows"
        self._rows = None if unit_base is None else table.reshape(n_rows, used.size)
        self._unit_base = None if unit_base is None else unit_base.astype(np.intp)[:, None]
        self._record_rows = self._record_base = None
        if unit_base is None and n_rows * used.size <= RECORD_ROW_ENTRIES:
            self._record_rows, self._record_base = self._rows_of_slots(unit_bits, bounds[used])
        # Sums over units or slots are matrix-vector products with it: BLAS does them in about half the
        # time of add.reduce along the first axis (100 records: ~8% of a request's explain).
        self._ones = np.ones(max(n_units, min(slot_unit.size, BLOCK_ELEMENTS)))
        self._scratch: tuple | None = None

    def _rows_of_slots(self, unit_bits: np.ndarray, target_starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The slot table's entries in the rows layout, (unit rows, targets), and each unit's first row.
        The copy's units are ordered by bits, so those of b bits are one (units, 2^b, targets) block, and
        in a target's segment the slots of b-bit units are one run of (slots, 2^b) entries."""
        n_units = unit_bits.size
        by_bits = np.lexsort((np.arange(n_units), unit_bits))
        unit_rows = np.left_shift(1, unit_bits[by_bits])
        unit_base = np.empty(n_units, dtype=np.intp)
        unit_base[by_bits] = np.cumsum(unit_rows) - unit_rows
        width = target_starts.size
        rows = np.zeros((int(unit_rows.sum()), width))
        sorted_bits = unit_bits[by_bits]
        first_unit = np.searchsorted(sorted_bits, np.arange(int(sorted_bits.max(initial=0)) + 2))
        slot_bits = unit_bits[self._slot_unit]
        bounds = np.r_[target_starts, self._slot_unit.size]
        for column in range(width):
            a, b = int(bounds[column]), int(bounds[column + 1])
            runs = np.searchsorted(slot_bits[a:b], np.arange(first_unit.size)) + a  # sorted within the segment
            for bits in range(first_unit.size - 1):
                lo, hi = int(runs[bits]), int(runs[bits + 1])
                if lo == hi:
                    continue
                size, u0, u1 = 1 << bits, int(first_unit[bits]), int(first_unit[bits + 1])
                block = rows[int(unit_base[by_bits[u0]]):][: (u1 - u0) * size].reshape(u1 - u0, size, width)
                start = int(self._slot_start[lo])
                # The unit's place among the b-bit units: its rank in the copy's order less the first's.
                place = (unit_base[self._slot_unit[lo:hi]] - unit_base[by_bits[u0]]) >> bits
                block[place, :, column] = self._table[start: start + (hi - lo) * size].reshape(hi - lo, size)
        return rows, unit_base[:, None]

    def _buffers(self, shape: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # Allocated once: fresh temporaries would be mapped and page-faulted on every request. (A
        # Lambda container serves one request at a time.)
        if self._scratch is None:
            size = max(self._slot_unit.size * FEW_RECORDS, BLOCK_ELEMENTS)
            # Indices as intp: take converts any other index type into a fresh array of them first.
            self._scratch = (np.empty(size, dtype=self.pattern_dtype), np.empty(size, dtype=np.intp),
                             np.empty(size))
        return tuple(buffer[: math.prod(shape)].reshape(shape) for buffer in self._scratch)

    def _gather(self, by_unit: np.ndarray, first: int, last: int) -> np.ndarray:
        """The table entries of slots [first, last): (slots, n) for the records' unit patterns
        ``by_unit`` (units, n), or (slots,) for one record's (units,): flat gathers are a third faster
        than (slots, 1) ones."""
        slot_patterns, idx, contrib = self._buffers((last - first,) + by_unit.shape[1:])
        starts = self._slot_start[first:last]
        if by_unit.ndim == 1:  # the few unit patterns as indices first, then one gather of them
            np.take(by_unit.astype(np.intp), self._slot_unit[first:last], out=idx, mode="wrap")
            idx += starts
        else:
            np.take(by_unit, self._slot_unit[first:last], axis=0, out=slot_patterns)
            np.copyto(idx, slot_patterns)  # then a same-type add: faster than one mixed-type add
            idx += starts[:, None]
        # In range by construction; "wrap" then only compares, where "raise" and "clip" do more.
        return np.take(self._table, idx, out=contrib, mode="wrap")

    def accumulate(self, rows: np.ndarray, out: np.ndarray) -> None:
        """Adds every unit's SHAP values for the records whose cell rows are given."""
        n = out.shape[1]
        total = self._slot_unit.size
        if not total:
            return
        patterns = self._patterns(rows)
        if self._rows is not None:
            self._accumulate_rows(patterns, out, self._rows, self._unit_base)
            return
        if n == 1 and self._record_rows is not None:
            self._accumulate_rows(patterns, out, self._record_rows, self._record_base)
            return
        if n == 1:
            out[self._targets, 0] += np.add.reduceat(self._gather(patterns[0], 0, total), self._target_starts)
            return
        by_unit = np.ascontiguousarray(patterns.T)  # (units, n): the slot gather below copies whole rows
        if n <= FEW_RECORDS:  # small arrays: one gather, one call for every target's sum
            contrib = self._gather(by_unit, 0, total)
            out[self._targets] += np.add.reduceat(contrib, self._target_starts, axis=0)
            return
        # Blocks of slots small enough that the indices and entries gathered stay in cache (whole
        # arrays moved some 100 MB through memory for 100 records of a 300-tree LightGBM model);
        # each target's segment is summed block by block, with whole-block sums (reduceat along
        # axis 0 is slow on wide blocks).
        step = max(1, BLOCK_ELEMENTS // n)
        segments, i = self._segments, 0
        for first in range(0, total, step):
            last = min(first + step, total)
            contrib = self._gather(by_unit, first, last)
            while segments[i][2] <= first:
                i += 1
            j = i
            while j < len(segments) and segments[j][1] < last:
                target, a, b = segments[j]
                lo, hi = max(a, first) - first, min(b, last) - first
                out[target] += self._ones[: hi - lo] @ contrib[lo:hi]
                j += 1

    def _accumulate_rows(self, patterns: np.ndarray, out: np.ndarray, rows: np.ndarray, unit_base: np.ndarray) -> None:
        """The rows layout (``rows``, each unit's first row at ``unit_base``, (units, 1)): each unit's row for
        each record, summed over the units, a few records at a time."""
        width = self._targets.size
        step = max(1, ROW_WORK // (self._n_units * width))
        for first in range(0, patterns.shape[0], step):
            index = patterns[first: first + step].T.astype(np.intp)  # (units, records)
            index += unit_base
            gathered = np.take(rows, index, axis=0, mode="wrap")  # (units, records, targets)
            summed = self._ones[: self._n_units] @ gathered.reshape(self._n_units, -1)
            out[self._targets, first: first + step] += summed.reshape(-1, width).T
