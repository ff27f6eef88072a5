"""Exact interventional TreeSHAP against a reference population, with numpy only.

For a record x and reference rows R, the values are the Shapley values of
``v(S) = mean over r in R of f(x_S, r_notS)``. A tree's output is a sum over leaves, so is the game, and
a leaf ``v * prod_j [z_j meets the leaf's condition on feature j]`` contributes, for one reference row r,
with ``a`` the conditions x meets and ``b`` those r meets (one per distinct feature on the path):

* nothing when a condition is met by neither (``a | b`` is not every condition);
* otherwise, with ``A = a & ~b`` (met by x only, alpha of them) and ``B = b & ~a`` (by r only, beta):
  ``v B(alpha, beta + 1)`` to each feature of A and ``-v B(alpha + 1, beta)`` to each of B, with
  ``B(p, q) = (p - 1)! (q - 1)! / (p + q - 1)!`` the Beta function: the Shapley values of the game
  ``[A in S and no feature of B in S]``.

Averaged over R, a leaf needs only the histogram of its reference patterns (reference_groups). Two
ways to use it:

* **Tables** (``fill_reference_block``): per leaf, every pattern of x tabulated at load, as
  path_tables does for path-dependent TreeSHAP; a request then costs what a path-dependent one does.
  With ``c`` the conditions a reference row fails and ``q(c)`` their share of R, the Beta integral
  turns the weights into ``integral u^|c| (1 - u)^(beta - 1) du`` (cold features) and
  ``integral u^(|c| - 1) (1 - u)^beta du`` (hot ones), so every pattern's sums are one subset-sum
  transform of ``q(c) u^|c|`` at ceil(d / 2) Gauss-Legendre nodes, exact for these polynomials.
* **Pairs** (``ReferencePairs``): per request, the leaf's groups that x's pattern leaves relevant,
  with the closed form above, for leaves too deep to tabulate. Values in probability points, where
  each row's weight depends on the record, are summed per request too (reference_probability).
"""

from __future__ import annotations

import math

import numpy as np

from feature_cells import FeatureCells
from path_quadrature import gauss_legendre
from reference_groups import ColdShares, ReferenceGroups, full_masks, pattern_type, runs
from reference_groups import take_in_range as _at
from tree_paths import LeafPaths



def beta_table(depth: int) -> np.ndarray:
    """B(p, q) = (p - 1)! (q - 1)! / (p + q - 1)! for p, q in 0..depth + 1, 0 where p or q is 0."""
    size = depth + 2
    table = np.zeros((size, size))
    for p in range(1, size):
        for q in range(1, size):
            table[p, q] = math.exp(math.lgamma(p) + math.lgamma(q) - math.lgamma(p + q))
    return table


def popcount(values: np.ndarray) -> np.ndarray:
    return np.bitwise_count(values).astype(np.int64)


def fill_reference_block(block: np.ndarray, values: np.ndarray, failed: np.ndarray) -> None:
    """The interventional tables of m leaves of one path length d >= 1 into ``block`` (m, d, 2^d): per
    path position k and pattern a of the record, the leaf's contribution to feature k averaged over the
    reference rows. ``failed`` (m, 2^d): the share of rows failing exactly the conditions c."""
    m, d = block.shape[0], block.shape[1]
    size = 1 << d
    u, weight = gauss_legendre(max(1, -(-d // 2)))
    count = popcount(np.arange(size, dtype=np.uint64))  # |c|, and |a| for the record's patterns
    # P_a(u) = sum over c within a of q(c) u^|c|: q(c) u^|c| summed over subsets, a bit at a time.
    sums = failed[None, :, :] * (u[:, None] ** np.arange(d + 1))[:, count][:, None, :]  # (nodes, m, 2^d)
    for k in range(d):
        view = sums.reshape(u.size, m, size >> (k + 1), 2, 1 << k)
        view[:, :, :, 1, :] += view[:, :, :, 0, :]
    cold_bits = d - count  # beta: the conditions the record fails
    # Weights per node and pattern: w (1 - u)^(beta - 1) for cold features, w (1 - u)^beta / u for hot.
    one_minus = (1.0 - u)[:, None]
    cold_weight = np.where(cold_bits >= 1, weight[:, None] * one_minus ** np.maximum(cold_bits - 1, 0), 0.0)
    hot_weight = weight[:, None] * one_minus ** cold_bits / u[:, None]
    cold = -values[:, None] * _over_nodes(cold_weight, sums)  # (m, 2^d), for features cold in a
    hot_all = _over_nodes(hot_weight, sums)
    # Hot in a: sum over c within a holding k, i.e. P_a - P_(a without k), at a's own weights; a's hot
    # weight is that of a without k over (1 - u), so one sum at those weights serves every k.
    without = _over_nodes(hot_weight / one_minus, sums)
    for k in range(d):
        shape = (m, size >> (k + 1), 2, 1 << k)
        row = block[:, k].reshape(shape)
        row[:, :, 0, :] = cold.reshape(shape)[:, :, 0, :]
        row[:, :, 1, :] = values[:, None, None] * (hot_all.reshape(shape)[:, :, 1, :]
                                                   - without.reshape(shape)[:, :, 0, :])


def _over_nodes(weights: np.ndarray, sums: np.ndarray) -> np.ndarray:
    """(m, 2^d): the sums (nodes, m, 2^d) weighed per node and pattern by weights (nodes, 2^d), summed
    over the few nodes (a multiply-add per node: faster than einsum's loop here)."""
    out = weights[0] * sums[0]
    for node in range(1, weights.shape[0]):
        out += weights[node] * sums[node]
    return out


class ReferenceLeaves:
    """Leaf tables against a reference population, for path_tables.UnitTables."""

    def __init__(self, paths: LeafPaths, groups: ReferenceGroups):
        self._value = paths.value
        self._depth = paths.depth
        self._groups = groups

    def fill(self, block: np.ndarray, leaves: np.ndarray) -> None:
        """``block`` (m, d, 2^d) for ``leaves`` (global leaf indices, all of path length d)."""
        d = block.shape[1]
        g = self._groups
        firsts, ends = g.start[leaves], g.start[leaves + 1]
        sizes = ends - firsts
        which = np.repeat(np.arange(leaves.size), sizes)
        at = runs(firsts, sizes)
        failed = np.zeros((leaves.size, 1 << d))
        failed[which, (g.pattern[at] ^ full_masks(np.array([d]))[0]).astype(np.intp)] = g.count[at] / g.n_rows
        fill_reference_block(block, self._value[leaves], failed)


class ReferencePairs:
    """Interventional SHAP values of some leaves, computed per request from their reference groups."""

    def __init__(self, paths: LeafPaths, cells: FeatureCells, leaves: np.ndarray, groups: ReferenceGroups):
        n_feat = cells.n_features
        local = np.full(paths.depth.size, -1, dtype=np.int64)
        local[leaves] = np.arange(leaves.size)
        slots = np.nonzero(local[paths.slot_leaf] >= 0)[0]  # leaf-major, path order: as LeafPaths
        slot_leaf = local[paths.slot_leaf[slots]]
        self._dtype = pattern_type(paths.depth[leaves])
        self._patterns = cells.patterns(paths.slot_cond[slots], slot_leaf, paths.slot_k[slots], leaves.size, self._dtype)
        # Each leaf's pattern per record in one pass: a gather per feature where the (cell x leaf) table
        # fits (cells.patterns), as the tables' unit patterns are found.
        depth = paths.depth[leaves]
        leaf_slot_start = np.r_[0, np.cumsum(depth)][:-1]
        self._full = full_masks(depth).astype(self._dtype)
        self._depth = depth
        max_depth = max(int(depth.max(initial=0)), 1)
        self._value = paths.value[leaves]
        self._output = paths.output[leaves]
        self.n_leaves = leaves.size

        # The groups of these leaves.
        firsts, ends = groups.start[leaves], groups.start[leaves + 1]
        sizes = ends - firsts
        self._group_leaf = np.repeat(np.arange(leaves.size), sizes)
        at = runs(firsts, sizes)
        self._pattern = groups.pattern[at].astype(self._dtype)
        self._share = groups.count[at] / groups.n_rows
        self._alpha = depth[self._group_leaf] - popcount(self._pattern)  # conditions the group's rows fail
        self._group_full = self._full[self._group_leaf]
        # Per group, the slots of the conditions its rows fail: they get the hot shares.
        bits = (self._pattern[:, None].astype(np.uint64) >> np.arange(max_depth, dtype=np.uint64)) & np.uint64(1)
        fails = (bits == 0) & (np.arange(bits.shape[1]) < depth[self._group_leaf][:, None])
        group_index, k = np.nonzero(fails)
        self._failed_count = fails.sum(axis=1)
        self._failed_start = np.r_[0, np.cumsum(self._failed_count)]
        failed_slot = leaf_slot_start[self._group_leaf[group_index]] + k
        # B(alpha, beta + 1) (hot) and -B(alpha + 1, beta) (cold) at alpha * width + beta, each group's
        # alpha times the width and its v times its share of the rows: a request gathers them flat.
        deepest = int(depth.max(initial=0))
        beta = beta_table(deepest)
        width = deepest + 1
        alpha, b = np.divmod(np.arange(width * width), width)
        self._hot = beta[alpha, b + 1]
        self._cold = -beta[alpha + 1, b]
        self._group_alpha = (self._alpha * width).astype(np.intp)
        self._group_value = self._value[self._group_leaf] * self._share
        self._groups_per_leaf = sizes
        # Where each slot's share goes: its row of the output, (output, feature).
        slot_target = self._output[slot_leaf] * n_feat + paths.slot_feat[slots]
        self._failed_target = slot_target[failed_slot].astype(np.intp)
        self._failed_start = self._failed_start.astype(np.intp)
        self._n_targets = self._output.max(initial=0) * n_feat + n_feat
        self._cold_shares = ColdShares(slot_leaf, paths.slot_k[slots], slot_target, self._n_targets, self._dtype)

    def leaf_patterns(self, rows: np.ndarray) -> np.ndarray:
        """(n, leaves): which of each leaf's conditions each record meets (bit k: its k-th)."""
        return self._patterns(rows)

    def accumulate(self, rows: np.ndarray, out: np.ndarray) -> None:
        """Adds these leaves' SHAP values for the records whose cell rows are given (features, n) to out
        (outputs x features, n)."""
        by_record = self.leaf_patterns(rows)  # (n, leaves)
        cold_bits = self._depth - popcount(by_record)
        for i in range(rows.shape[1]):
            out[: self._n_targets, i] += self._record(by_record[i], cold_bits[i])

    def _record(self, patterns: np.ndarray, cold_bits: np.ndarray) -> np.ndarray:
        """One record's shares per target from its relevant groups, given its patterns and failed-condition
        counts per leaf. (Record by record: the flat (target, record) sums of a whole batch moved several
        times the memory, and took a third of a batch's time.)"""
        # A group is relevant where every condition is met by the record or by the group's rows.
        group = np.flatnonzero((self._pattern | np.repeat(patterns, self._groups_per_leaf)) == self._group_full)
        if not group.size:
            return np.zeros(self._n_targets)
        leaf = _at(self._group_leaf, group)
        at = _at(self._group_alpha, group) + _at(cold_bits, leaf)
        value = _at(self._group_value, group)
        # The conditions the group's rows fail (met by the record only): v B(alpha, beta + 1) each.
        counts = _at(self._failed_count, group)
        shares = np.bincount(_at(self._failed_target, runs(_at(self._failed_start, group), counts)),
                             np.repeat(value * _at(self._hot, at), counts), minlength=self._n_targets)
        # The record's cold conditions (met by the reference rows only): -v B(alpha + 1, beta) each, summed
        # per leaf, then given to every condition of the leaf the record fails.
        cold = np.bincount(leaf, value * _at(self._cold, at), minlength=self.n_leaves)
        return shares + self._cold_shares(patterns, cold)
