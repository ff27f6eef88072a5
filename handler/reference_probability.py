"""Interventional SHAP values in probability points against a reference population, per request.

In probability (shap's ``model_output="probability"``) reference row r's margin values weigh by
``w_r = (sigmoid(F) - sigmoid(f_r)) / (F - f_r)``, F the record's margin and f_r the row's: the
weights change with the record, so nothing can be tabulated at load, and a request sums, for every
leaf, the weights of the reference groups (reference_groups) its pattern leaves relevant. With ``W``
a group's summed weight, alpha the conditions its rows fail and beta those the record fails, a
relevant group gives ``v W B(alpha, beta + 1) / R`` to each condition its rows fail (*hot*) and
``-v W B(alpha + 1, beta) / R`` to each the record fails (*cold*); reference_shap derives this.

Three kinds of (leaf, group) pairs make up the work, and each is summed its own way:

* a leaf's own rows (the group meeting every condition, alpha = 0) are relevant to every record and
  give cold shares only. Each row reaches one leaf per tree, so these sums are over R rows per tree,
  the same positions for every record.
* the leaves the record reaches (beta = 0): every group is relevant and gives hot shares only. A
  leaf's rows in group order are one run, so its groups' sums are one segmented sum over the run.
* every other leaf: its groups with alpha >= 1 that meet every condition the record fails, found
  by a scan of the groups' patterns and summed member by member. They are few: for the 300-tree
  LightGBM model of the benchmark, some 6,000 groups of 17,000 rows of the 60,000 relevant pairs.

A leaf's cold shares go to every condition the record fails on it, in one pass over the path slots.
"""

from __future__ import annotations

import numpy as np

from feature_cells import FeatureCells
from reference_groups import ColdShares, ReferenceGroups, full_masks, group_members, pattern_type, runs
from reference_groups import take_in_range as _at
from reference_shap import beta_table, popcount
from tree_paths import LeafPaths


# Columns of the per-group table: leaf, rows, first row's position in the flat member order, its
# position in the leaf's, alpha times the coefficient tables' width, failed conditions past the first
# TARGETS and where their features start.
LEAF, COUNT, MEMBER, WITHIN, ALPHA, EXTRA, EXTRA_START = range(7)
TARGETS = 3
# Rows per run below which one bincount sums runs faster than a reduceat.
SHORT_RUN = 8


def member_type(n_rows: int) -> type:
    """The smallest type holding a reference row's index."""
    return np.uint8 if n_rows <= 256 else np.uint16 if n_rows <= 65536 else np.int32


class ProbabilityPairs:
    """Every leaf of a single-output sigmoid model, explained per record in probability against the
    reference rows ``x`` (encoded as records are) and their ``groups``."""

    def __init__(self, paths: LeafPaths, cells: FeatureCells, groups: ReferenceGroups, x: np.ndarray, init: float):
        n_leaves, n_rows, n_feat = paths.depth.size, groups.n_rows, cells.n_features
        self.n_features, self.n_leaves, self._n_rows = n_feat, n_leaves, n_rows
        dtype = pattern_type(paths.depth)
        self._patterns = cells.patterns(paths.slot_cond, paths.slot_leaf, paths.slot_k, n_leaves, dtype)
        self._depth = paths.depth.astype(np.intp)
        self._full = full_masks(paths.depth).astype(dtype)
        self._value = paths.value
        self._share = paths.value / n_rows  # v / R
        deepest = max(int(paths.depth.max(initial=0)), 1)
        # B(alpha + 1, beta) (cold) and B(alpha, beta + 1) (hot) at alpha * width + beta: 0 where
        # there is no such share (beta = 0 cold, alpha = 0 hot).
        beta = beta_table(deepest)
        width = deepest + 2
        alpha, b = np.divmod(np.arange(width * width), width)
        inside = (alpha <= deepest) & (b <= deepest)
        self._cold = np.where(inside, beta[np.minimum(alpha + 1, width - 1), b], 0.0)
        self._hot = np.where(inside, beta[alpha, np.minimum(b + 1, width - 1)], 0.0)

        # The groups: leaf, conditions failed, each one's rows as a run of its leaf's member order.
        leaf = groups.leaf
        pattern = groups.pattern.astype(dtype)
        count = groups.count.astype(np.intp)
        self._group_start = groups.start.astype(np.intp)
        within = np.cumsum(count) - count
        within -= within[self._group_start[leaf]]
        fails = self._full[leaf] ^ pattern
        alpha = popcount(fails)
        # Where hot shares go: the features of a group's first TARGETS failed conditions (n_feat, a
        # sink, where it fails fewer), and of the others, run by run.
        slot_start = np.r_[0, np.cumsum(paths.depth)][:-1]
        targets = np.full((fails.size, TARGETS), n_feat, dtype=np.intp)
        extra = np.maximum(alpha - TARGETS, 0)
        extra_start = np.cumsum(extra) - extra
        self._extra_target = np.zeros(int(extra.sum()), dtype=np.intp)
        left, step = fails.copy(), 0
        while True:
            some = np.flatnonzero(left)
            if not some.size:
                break
            bits = left[some]
            low = bits & (~bits + 1)
            feature = paths.slot_feat[slot_start[leaf[some]] + popcount(low - 1)]
            if step < TARGETS:
                targets[some, step] = feature
            else:
                self._extra_target[extra_start[some] + step - TARGETS] = feature
            left[some] = bits ^ low
            step += 1
        # Per group, one row of what a request reads (a row gathers in one piece, np.take).
        index_type = np.int32 if max(fails.size, n_leaves * n_rows) < 1 << 31 else np.int64
        self._table = np.column_stack([leaf, count, leaf * n_rows + within, within, alpha * width, extra,
                                       extra_start]).astype(index_type)
        # (TARGETS, groups), a request summing each row; in the smallest type: a request gathers them at random.
        self._targets = np.ascontiguousarray(targets.T, dtype=np.uint8 if n_feat < 255 else np.intp)

        # Each leaf's rows in group order, (leaves, R), from their patterns found as a record's are.
        self._members = group_members(paths.depth, self._patterns(cells.rows(x)), groups, member_type(n_rows))
        self._flat_members = self._members.reshape(-1)
        # Each leaf's own rows (the group meeting every condition is its last): one run per leaf.
        own = np.flatnonzero(fails == 0)
        self._own_leaf = leaf[own]
        # (Indices a request uses are kept as intp: take converts any other index type first, every time.)
        self._own_rows = self._flat_members[runs(self._own_leaf * n_rows + within[own], count[own])].astype(np.intp)
        self._own_row_leaf = np.repeat(self._own_leaf, count[own]).astype(np.intp)
        # Summed per leaf by one bincount where the leaves hold a few rows each (a reduceat pays per run),
        # else by a reduceat over their runs.
        short = self._own_rows.size < SHORT_RUN * max(own.size, 1)
        self._own_start = None if short else np.cumsum(count[own]) - count[own]
        # Each reference row's margin: the values of the leaves whose own rows it is in, and the init.
        self._init = init
        self.reference_margin = init + np.bincount(self._own_rows, paths.value[self._own_row_leaf], minlength=n_rows)
        self._row_cosh = 4 * np.cosh(self.reference_margin / 2)
        # The groups that fail a condition, scanned for the leaves not reached.
        rest = np.flatnonzero(fails != 0)
        self._rest = rest.astype(np.int32)
        self._rest_pattern = pattern[rest]
        self._rest_full = self._full[leaf[rest]]
        self._rest_per_leaf = np.bincount(leaf[rest], minlength=n_leaves)

        # The slots, for the cold shares: the conditions of each leaf, by feature.
        self._cold_shares = ColdShares(paths.slot_leaf, paths.slot_k, paths.slot_feat, n_feat, dtype)
        self._zero = dtype(0)

    def leaf_patterns(self, rows: np.ndarray) -> np.ndarray:
        """(n, leaves): which of each leaf's conditions each record meets (bit k: its k-th)."""
        return self._patterns(rows)

    def accumulate(self, patterns: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Adds to out (features, n) the SHAP values of the records whose leaf patterns are given
        (n, leaves), and returns their margins (n,): the leaves they reach, and the init."""
        n = patterns.shape[0]
        beta = self._depth - popcount(patterns)  # (n, leaves): the conditions each record fails
        record, reached = np.nonzero(beta == 0)  # record-major: each record's leaves in a run
        margins = self._init + np.bincount(record, weights=_at(self._value, reached), minlength=n)
        bounds = np.searchsorted(record, np.arange(n + 1))
        weights = self._slope(margins)
        for i in range(n):
            out[:, i] += self._record(patterns[i], beta[i], reached[bounds[i]: bounds[i + 1]], weights[i])
        return margins

    def _slope(self, margin: np.ndarray) -> np.ndarray:
        """(n, R): each reference row's weight, (sigmoid(F) - sigmoid(f)) / (F - f) for the records'
        margins F and the rows' f, as sinh(delta / 2) / (delta / 2) / (4 cosh(F / 2) cosh(f / 2)):
        no cancellation as F nears f, and the slope sigmoid'(F) where they meet."""
        half = (margin[:, None] - self.reference_margin) / 2
        ratio = np.ones_like(half)
        apart = half != 0
        ratio[apart] = np.sinh(half[apart]) / half[apart]
        return ratio / (self._row_cosh * np.cosh(margin / 2)[:, None])

    def _record(self, pattern: np.ndarray, beta: np.ndarray, reached: np.ndarray, w: np.ndarray) -> np.ndarray:
        n_rows, n_feat = self._n_rows, self.n_features
        # Each leaf's own rows (alpha = 0), at the same positions for every record.
        if self._own_start is None:
            cold = np.bincount(self._own_row_leaf, _at(w, self._own_rows), minlength=self.n_leaves)
        else:
            cold = np.zeros(self.n_leaves)
            cold[self._own_leaf] = np.add.reduceat(_at(w, self._own_rows), self._own_start)
        cold *= _at(self._cold, beta)
        # The leaves reached (every group) and every other leaf's groups that fail a condition and meet
        # all the record fails: their table rows in one gather.
        sizes = self._group_start[reached + 1] - self._group_start[reached]
        ids = runs(self._group_start[reached], sizes)
        open_pattern = np.where(beta == 0, self._zero, pattern)
        relevant = np.flatnonzero((self._rest_pattern | np.repeat(open_pattern, self._rest_per_leaf)) == self._rest_full)
        first = ids.size
        ids = np.concatenate([ids, _at(self._rest, relevant)])
        table = _at(self._table, ids, axis=0)
        # A reached leaf's groups from its whole run of rows; the others' from their rows each.
        run = _at(w, _at(self._members, reached, axis=0).reshape(-1))
        mass = np.empty(ids.size)
        mass[:first] = np.add.reduceat(run, np.repeat(np.arange(reached.size) * n_rows, sizes)
                                       + table[:first, WITHIN])
        if relevant.size:
            sizes = table[first:, COUNT]
            mass[first:] = np.add.reduceat(_at(w, _at(self._flat_members, runs(table[first:, MEMBER], sizes))),
                                           np.cumsum(sizes) - sizes)
        leaf = table[:, LEAF]
        at = table[:, ALPHA] + _at(beta, leaf)  # beta is 0 on a leaf reached: hot shares only
        cold += np.bincount(leaf, mass * _at(self._cold, at), minlength=self.n_leaves)
        hot = mass * _at(self._hot, at) * _at(self._share, leaf)
        result = np.zeros(n_feat + 1)
        for row in _at(self._targets, ids, axis=1):
            result += np.bincount(row, hot, minlength=n_feat + 1)
        more = np.flatnonzero(table[:, EXTRA])
        if more.size:
            extra = table[more, EXTRA]
            result += np.bincount(self._extra_target[runs(table[more, EXTRA_START], extra)],
                                  np.repeat(hot[more], extra), minlength=n_feat + 1)
        # Cold shares, to every condition the record fails on the leaf.
        cold *= self._share
        return result[:n_feat] - self._cold_shares(pattern, cold)
