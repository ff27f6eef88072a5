"""Maps each feature's value to a *cell*, and each path condition to the cells that meet it.

A numeric feature's cells are the intervals between the thresholds its conditions use, then one
cell for a missing value; a categorical feature's cells are its codes, one 'other' cell for codes
no split names, then the missing cell. A condition is met exactly when the record's cell is one of
its cells, so at request time a record costs one ``searchsorted`` (or a clip) per feature, and a
table lookup gives, per group of conditions, the bit pattern of those it meets.
"""

from __future__ import annotations

from bisect import bisect_left

import numpy as np

from tree_paths import LeafPaths

# Largest (cell x group) pattern table; beyond it conditions are evaluated pair by pair.
DENSE_BYTES = 48 * 1024 * 1024
# Elements of the (records x conditions) work arrays of the pairwise evaluation.
PAIR_ELEMENTS = 1_000_000
# Up to this many records, cells are found in Python (a bisect per value) rather than by numpy calls,
# whose fixed cost dominates a request of one or two records.
FEW_RECORDS = 2
# Largest (features x records x groups) gather for one-call dense patterns.
GATHER_BYTES = 1 << 20
# Patterns per block of records where the gather is larger.
BLOCK_BYTES = 1 << 20


class FeatureCells:
    def __init__(self, paths: LeafPaths, n_features: int, compare: type):
        self.n_features = n_features
        self.compare = compare
        self.categorical = paths.cat_cells
        self.thresholds: list[np.ndarray] = []
        offsets = [0]
        for f in range(n_features):
            if self.categorical[f]:
                thr = np.empty(0)
                size = int(self.categorical[f]) + 1
            else:
                mine = paths.cond_feat == f
                lo, hi = paths.cond_lo[mine], paths.cond_hi[mine]
                thr = np.unique(np.concatenate([lo[np.isfinite(lo)], hi[np.isfinite(hi)]]))
                size = thr.size + 2
            self.thresholds.append(thr)
            offsets.append(offsets[-1] + size)
        self.offsets = np.array(offsets[:-1], dtype=np.int64)
        self.nan_rows = np.array(offsets[1:], dtype=np.int64) - 1
        self.n_rows = offsets[-1]
        self._paths = paths
        # For one binary search over every numeric feature at once: each feature's thresholds at its
        # rows, then +inf (the row after them is always its own: the missing-value cell's, at least).
        self._numeric = np.nonzero(self.categorical == 0)[0]
        counts = np.array([self.thresholds[f].size for f in self._numeric.tolist()], dtype=np.int64)
        edges = np.full(self.n_rows + 1, np.inf)
        for f in self._numeric.tolist():
            edges[self.offsets[f]: self.offsets[f] + self.thresholds[f].size] = self.thresholds[f]
        self._edges = edges
        self._base = self.offsets[self._numeric][:, None]
        self._last = (self._base[:, 0] + counts)[:, None]  # the +inf after the feature's thresholds
        top = int(counts.max(initial=0))
        self._steps = [1 << b for b in range(top.bit_length() - 1, -1, -1)]
        self._categorical_features = np.nonzero(self.categorical)[0].tolist()
        # For a few records: per feature (first row, thresholds as a list, or the last code of a
        # categorical feature, and the missing cell's row).
        self._by_feature = [(int(self.offsets[f]), self.thresholds[f].tolist(), int(self.categorical[f]) - 1,
                             int(self.nan_rows[f])) for f in range(n_features)]

    def rows(self, x: np.ndarray) -> np.ndarray:
        """(features, n): each record's row in the cell tables, per feature. x: (n, features), NaN for missing.

        A numeric value's cell is the number of its feature's thresholds strictly below it, found by
        one branchless binary search over all numeric features together (a few dozen numpy calls
        whatever the number of features, instead of a few per feature).
        """
        if x.shape[0] <= FEW_RECORDS:
            return self._few_rows(x)
        values = np.ascontiguousarray(x.astype(self.compare).astype(np.float64).T)  # (features, n)
        rows = np.empty(values.shape, dtype=np.int64)
        if self._numeric.size:
            v = values[self._numeric]
            cell = np.zeros(v.shape, dtype=np.int64)
            probe = np.empty(v.shape, dtype=np.int64)
            for step in self._steps:
                np.add(cell, self._base + (step - 1), out=probe)
                np.minimum(probe, self._last, out=probe)
                cell += (self._edges[probe] < v) * step
            rows[self._numeric] = cell + self._base
        for f in self._categorical_features:
            column = values[f]
            last = float(self.categorical[f] - 1)
            rows[f] = np.clip(np.where(np.isnan(column), 0.0, column), 0.0, last).astype(np.int64) + self.offsets[f]
        missing = np.isnan(values)
        if missing.any():
            rows[missing] = np.broadcast_to(self.nan_rows[:, None], rows.shape)[missing]
        return rows

    def _few_rows(self, x: np.ndarray) -> np.ndarray:
        """``rows`` for a few records: the same cells, by a bisect per value."""
        rows = []
        for record in x.astype(self.compare).astype(np.float64).tolist():
            cells = []
            for (offset, thresholds, last_code, nan_row), value in zip(self._by_feature, record):
                if value != value:
                    cells.append(nan_row)
                elif last_code < 0:  # numeric: the count of thresholds strictly below the value
                    cells.append(offset + bisect_left(thresholds, value))
                else:  # a category code, out-of-range codes clipped as the vectorised path does
                    cells.append(offset + int(min(max(value, 0.0), float(last_code))))
            rows.append(cells)
        return np.array(rows, dtype=np.int64).reshape(x.shape[0], self.n_features).T

    def conditions(self, cond: np.ndarray) -> "ConditionTest":
        """What tells, per record, whether it meets each listed condition (repeats allowed)."""
        return ConditionTest(self, cond)

    def intervals(self, cond: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(numeric, first, end): which conditions are numeric, and the rows [first, end) their intervals hold in.

        A record's cell c = #thresholds strictly below x meets (lo, hi] for a < c <= b. An interval can
        be empty (first >= end): a path only a missing value takes.
        """
        p = self._paths
        feat = p.cond_feat[cond]
        numeric = self.categorical[feat] == 0
        first = np.zeros(cond.size, dtype=np.int64)
        end = np.zeros(cond.size, dtype=np.int64)
        for f in np.unique(feat[numeric]):
            mine = np.nonzero(numeric & (feat == f))[0]
            thr, lo, hi = self.thresholds[f], p.cond_lo[cond[mine]], p.cond_hi[cond[mine]]
            first[mine] = self.offsets[f] + np.where(np.isfinite(lo), np.searchsorted(thr, lo), -1) + 1
            end[mine] = self.offsets[f] + np.where(np.isfinite(hi), np.searchsorted(thr, hi), thr.size) + 1
        return numeric, first, end

    def category_pairs(self, cond: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The (position in ``cond``, allowed cell) pairs of the categorical conditions listed in
        ``cond`` (numeric ones have none); LeafPaths lists its pairs sorted by condition."""
        p = self._paths
        per_cond = np.bincount(p.cat_cond, minlength=p.cond_feat.size)
        count = per_cond[cond]
        which = np.repeat(np.arange(cond.size), count)
        within = np.arange(which.size) - np.repeat(np.cumsum(count) - count, count)
        return which, p.cat_cell[(np.cumsum(per_cond) - per_cond)[cond[which]] + within]

    def category_members(self, cond: np.ndarray) -> np.ndarray:
        """(conditions, cells) booleans: the cells each listed categorical condition lets through."""
        member = np.zeros((cond.size, int(self.categorical.max(initial=0)) + 1), dtype=bool)
        member[self.category_pairs(cond)] = True
        return member

    def patterns(self, cond: np.ndarray, group: np.ndarray, pos: np.ndarray, n_groups: int,
                 dtype: type) -> "DensePatterns | PairPatterns":
        """What builds, per record, each group's pattern: bit ``pos`` set where condition ``cond`` holds.

        A table of every (cell, group) pair is the fastest (a gather per feature), but it grows as
        cells x groups; past DENSE_BYTES the conditions are evaluated one by one instead.
        """
        if (self.n_rows + 1) * n_groups * np.dtype(dtype).itemsize <= DENSE_BYTES:
            return DensePatterns(self._dense_bits(cond, group, pos, n_groups, dtype), n_groups)
        return PairPatterns(self, cond, group, pos, n_groups, dtype)

    def _dense_bits(self, cond: np.ndarray, group: np.ndarray, pos: np.ndarray, n_groups: int,
                    dtype: type) -> np.ndarray:
        """bits[row, group]: for each listed condition (in ``group`` at bit ``pos``), its bit in every row
        whose cell meets it.

        Numeric intervals are built as a running sum of +bit at their first row and -bit past their
        last one (which at most reaches the missing cell, where the sum is back to zero); missing cells
        and categorical cells are then set directly.
        """
        p = self._paths
        feat = p.cond_feat[cond]
        bit = np.left_shift(np.ones(cond.size, dtype=dtype), pos.astype(dtype))
        steps = np.zeros((self.n_rows + 1, n_groups), dtype=dtype)
        numeric, first, end = self.intervals(cond)
        # An empty interval gets no interval cells, else its -bit would come before its +bit.
        interval = numeric.copy()
        interval[numeric] = first[numeric] < end[numeric]
        # Unsigned wrap-around keeps the running sum exact: every true value fits the pattern type.
        # Flat indices: ufunc.at on one index array takes numpy's fast path (a tuple of them does not).
        flat = steps.reshape(-1)
        np.add.at(flat, first[interval] * n_groups + group[interval], bit[interval])
        np.add.at(flat, end[interval] * n_groups + group[interval], np.negative(bit[interval]))
        # The running sum row by row: numpy's cumsum along axis 0 walks each column with a stride,
        # some 30 times slower on a tall table than adding whole rows.
        for row in range(1, self.n_rows):
            np.add(steps[row], steps[row - 1], out=steps[row])
        bits = steps[:-1]
        nan = p.cond_nan[cond]
        np.bitwise_or.at(flat, self.nan_rows[feat[nan]] * n_groups + group[nan], bit[nan])
        # Categorical cells: every allowed cell of each listed categorical condition.
        which, cells = self.category_pairs(cond)
        np.bitwise_or.at(flat, (self.offsets[feat[which]] + cells) * n_groups + group[which], bit[which])
        return bits


class DensePatterns:
    """Patterns from the (cell x group) table: one gather and OR per feature."""

    def __init__(self, bits: np.ndarray, n_groups: int):
        self._bits = bits
        self.n_groups = n_groups

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        if rows.size * self.n_groups * self._bits.itemsize <= GATHER_BYTES:  # a few records: two calls
            return np.bitwise_or.reduce(self._bits[rows], axis=0)
        # Blocks of records whose patterns stay in cache across the features' ORs: the reference rows'
        # patterns at load (1,000 rows x 9,300 leaves, 19 MB) took twice as long in one piece.
        patterns = np.empty((rows.shape[1], self.n_groups), dtype=self._bits.dtype)
        step = max(1, BLOCK_BYTES // (self.n_groups * self._bits.itemsize))
        for start in range(0, rows.shape[1], step):
            block, out = rows[:, start: start + step], patterns[start: start + step]
            np.take(self._bits, block[0], axis=0, out=out)
            for feature_rows in block[1:]:
                out |= self._bits[feature_rows]
        return patterns


class PairPatterns:
    """Patterns from each (condition, group) pair evaluated on the record's cell: memory linear in the pairs."""

    def __init__(self, cells: FeatureCells, cond: np.ndarray, group: np.ndarray, pos: np.ndarray, n_groups: int,
                 dtype: type):
        p = cells._paths
        order = np.argsort(group, kind="stable")
        cond, group, pos = cond[order], group[order], pos[order]
        self._feat = p.cond_feat[cond]
        self._weight = np.left_shift(np.ones(cond.size, dtype=dtype), pos.astype(dtype))
        self._nan_row = np.where(p.cond_nan[cond], cells.nan_rows[self._feat], -1)
        numeric, self._first, self._end = cells.intervals(cond)
        # Categorical conditions: a membership row over the feature's cells (the missing cell excluded).
        self._categorical = np.nonzero(~numeric)[0]
        self._member = cells.category_members(cond[self._categorical])
        self._cat_offset = cells.offsets[self._feat[self._categorical]]
        self._groups, self._starts = np.unique(group, return_index=True)
        self.n_groups = n_groups
        self._dtype = dtype

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        n = rows.shape[1]
        by_feature = rows.T  # (n, features): global rows
        patterns = np.zeros((n, self.n_groups), dtype=self._dtype)
        step = max(1, PAIR_ELEMENTS // max(1, self._feat.size))
        for start in range(0, n, step):
            cell = by_feature[start: start + step][:, self._feat]  # (batch, pairs)
            hot = (cell >= self._first) & (cell < self._end) | (cell == self._nan_row)
            if self._categorical.size:
                local = cell[:, self._categorical] - self._cat_offset
                hot[:, self._categorical] |= self._member[np.arange(self._categorical.size), local]
            weighted = np.where(hot, self._weight, 0).astype(self._dtype)
            patterns[start: start + step, self._groups] = np.bitwise_or.reduceat(weighted, self._starts, axis=1)
        return patterns


class ConditionTest:
    """Whether each record meets each listed condition, as (conditions, records) booleans.

    A numeric condition holds on an interval of its feature's cells: one unsigned comparison of the
    record's cell minus the interval's first. A missing value's cell comes right after the last
    interval, so an interval reaching it (or an empty one) takes it in the same comparison; other
    conditions a missing value meets, and categorical ones, are looked up separately.
    """

    def __init__(self, cells: FeatureCells, cond: np.ndarray):
        p = cells._paths
        feat = p.cond_feat[cond]
        numeric, first, end = cells.intervals(cond)
        nan_row = cells.nan_rows[feat]
        span = np.where(numeric, np.maximum(end - first, 0), 0)
        first = np.where(numeric, first, 0)
        nan = p.cond_nan[cond]
        joins = numeric & nan & ((end == nan_row) | (span == 0))
        first[joins & (span == 0)] = nan_row[joins & (span == 0)]
        span[joins] += 1
        self._feat = feat
        self._first = first
        self._span = span.astype(np.uint64)
        self._nan = np.nonzero(nan & ~joins)[0]
        self._nan_row = nan_row[self._nan]
        self._categorical = np.nonzero(~numeric)[0]
        self._member = cells.category_members(cond[self._categorical])
        self._member_row = np.arange(self._categorical.size)
        self._cat_offset = cells.offsets[feat[self._categorical]]

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        """(conditions, n) from rows (features, n) of FeatureCells.rows."""
        cell = rows[self._feat]  # whole rows: a gather along the records' axis is many times slower
        extra = cell[self._nan] == self._nan_row[:, None] if self._nan.size else None
        if self._categorical.size:
            categorical = self._member[self._member_row[:, None], cell[self._categorical] - self._cat_offset[:, None]]
        np.subtract(cell, self._first[:, None], out=cell)
        hot = np.less(cell.view(np.uint64), self._span[:, None])
        if extra is not None:
            hot[self._nan] |= extra
        if self._categorical.size:
            hot[self._categorical] |= categorical
        return hot
