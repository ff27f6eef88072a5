"""Maps each feature's value to a *cell*, and each path condition to the cells that meet it.

A numeric feature's cells are the intervals between the thresholds its conditions use, then one
cell for a missing value; a categorical feature's cells are its codes, one 'other' cell for codes
no split names, then the missing cell. A condition is met exactly when the record's cell is one of
its cells, so at request time a record costs one ``searchsorted`` (or a clip) per feature, and a
table lookup gives, per group of conditions, the bit pattern of those it meets.
"""

from __future__ import annotations

import numpy as np

from tree_paths import LeafPaths


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

    def rows(self, x: np.ndarray) -> list[np.ndarray]:
        """Per feature, each record's row in the cell tables. x: (n, features), NaN for missing."""
        x = x.astype(self.compare).astype(np.float64)
        rows = []
        for f in range(self.n_features):
            column = x[:, f]
            missing = np.isnan(column)
            if self.categorical[f]:
                last = float(self.categorical[f] - 1)
                cell = np.clip(np.where(missing, 0.0, column), 0.0, last).astype(np.int64)
            else:
                cell = np.searchsorted(self.thresholds[f], column, side="left")
            row = cell + self.offsets[f]
            if missing.any():
                row = np.where(missing, self.nan_rows[f], row)
            rows.append(row)
        return rows

    def condition_bits(self, cond: np.ndarray, group: np.ndarray, pos: np.ndarray, n_groups: int,
                       dtype: type) -> np.ndarray:
        """bits[row, group]: for each listed condition (in ``group`` at bit ``pos``), its bit in every row
        whose cell meets it.

        For a numeric interval (lo, hi] a record's cell c = #thresholds strictly below x meets it for
        a < c <= b: built as a running sum of +bit at the first such cell and -bit past the last one
        (which at most reaches the missing cell, where the sum is back to zero); missing cells and
        categorical cells are then set directly.
        """
        p = self._paths
        feat = p.cond_feat[cond]
        bit = np.left_shift(np.ones(cond.size, dtype=dtype), pos.astype(dtype))
        steps = np.zeros((self.n_rows + 1, n_groups), dtype=dtype)
        numeric = self.categorical[feat] == 0
        first = np.empty(cond.size, dtype=np.int64)
        end = np.empty(cond.size, dtype=np.int64)
        for f in np.unique(feat[numeric]):
            mine = np.nonzero(numeric & (feat == f))[0]
            thr, lo, hi = self.thresholds[f], p.cond_lo[cond[mine]], p.cond_hi[cond[mine]]
            first[mine] = self.offsets[f] + np.where(np.isfinite(lo), np.searchsorted(thr, lo), -1) + 1
            end[mine] = self.offsets[f] + np.where(np.isfinite(hi), np.searchsorted(thr, hi), thr.size) + 1
        # Unsigned wrap-around keeps the running sum exact: every true value fits the pattern type.
        np.add.at(steps, (first[numeric], group[numeric]), bit[numeric])
        np.add.at(steps, (end[numeric], group[numeric]), np.negative(bit[numeric]))
        bits = np.cumsum(steps, axis=0, dtype=dtype)[:-1]
        nan = p.cond_nan[cond]
        np.bitwise_or.at(bits, (self.nan_rows[feat[nan]], group[nan]), bit[nan])
        # Categorical cells: every allowed cell of each listed categorical condition (pairs sorted by condition).
        per_cond = np.bincount(p.cat_cond, minlength=p.cond_feat.size)
        pair_start = np.cumsum(per_cond) - per_cond
        count = per_cond[cond]
        which = np.repeat(np.arange(cond.size), count)
        within = np.arange(which.size) - np.repeat(np.cumsum(count) - count, count)
        cells = p.cat_cell[pair_start[cond[which]] + within]
        np.bitwise_or.at(bits, (self.offsets[feat[which]] + cells, group[which]), bit[which])
        return bits
