"""A reference population as the explainer uses it: per leaf, how the reference rows fall on its path.

Against reference rows R, a leaf's share of a record's interventional SHAP values depends on a
reference row only through its *pattern* on the leaf: which of the leaf's path conditions (one per
distinct feature on the path, in feature order: the tree_paths.LeafPaths slots) the row meets. So a
leaf needs only the histogram of its rows' patterns, its *groups*, and not the rows themselves.

model.json's ``reference`` carries the rows (``rows``: base64 of float64 values, row-major, encoded as
the function encodes records: category codes, NaN for missing; ``n_rows``) and, per non-zero leaf in
tree_paths order, its groups: how many (``groups``: base64 uint32 per leaf), their patterns
(``patterns``: base64 uint64, bit k set where the rows meet the leaf's k-th condition, increasing
within a leaf) and their row counts (``counts``: base64 uint32). The exporter computes them here, from
the rows; the function reads them, since recomputing them at every cold start would cost a 300-tree
model with 1,000 reference rows some 300 ms.
"""

from __future__ import annotations

import base64
import binascii
from typing import NamedTuple

import numpy as np

from feature_cells import FeatureCells
from tree_paths import LeafPaths, ModelFormatError

# Leaves per block of the (leaves x rows) pattern arrays: a few megabytes whatever the model.
BLOCK_ENTRIES = 1 << 21
SORT_ENTRIES = 1 << 18


class ReferenceGroups(NamedTuple):
    """The groups of every leaf: leaf l's are [start[l], start[l + 1]), in increasing pattern order."""

    start: np.ndarray  # (leaves + 1,) int64
    pattern: np.ndarray  # (groups,) uint64
    count: np.ndarray  # (groups,) int64 rows in the group
    n_rows: int

    @property
    def leaf(self) -> np.ndarray:
        return np.repeat(np.arange(self.start.size - 1), np.diff(self.start))


def take_in_range(values: np.ndarray, index: np.ndarray, axis: int | None = None) -> np.ndarray:
    """values[index] (along ``axis``) for indices in range by construction: take's "wrap" then only
    compares, where the default checks each one."""
    return np.take(values, index, axis=axis, mode="wrap")


class ColdShares:
    """Each leaf's cold share given to every condition of it that a record fails, summed per target:
    the leaves' path slots ordered by target, a slot's share zeroed where the record meets its condition,
    and one reduceat (no search for the failed slots)."""

    def __init__(self, slot_leaf: np.ndarray, slot_k: np.ndarray, slot_target: np.ndarray, n_targets: int,
                 dtype: type):
        order = np.argsort(slot_target, kind="stable")
        self._leaf = slot_leaf[order].astype(np.intp)
        self._bit = np.left_shift(dtype(1), slot_k[order].astype(dtype))
        self._targets, self._starts = np.unique(slot_target[order], return_index=True)
        self._n_targets = n_targets

    def __call__(self, patterns: np.ndarray, cold: np.ndarray) -> np.ndarray:
        """(targets,): per target, the summed ``cold`` (per leaf) of the leaves whose condition on it the
        record, of leaf ``patterns``, fails."""
        out = np.zeros(self._n_targets)
        if self._leaf.size:
            met = take_in_range(patterns, self._leaf)
            met &= self._bit
            share = take_in_range(cold, self._leaf)
            share *= met == 0
            out[self._targets] = np.add.reduceat(share, self._starts)
        return out


def runs(first: np.ndarray, size: np.ndarray) -> np.ndarray:
    """The positions of the runs [first, first + size) laid end to end (a group's entries, say, from
    each leaf's first)."""
    ends = np.cumsum(size)
    if not ends.size or not ends[-1]:
        return np.zeros(0, dtype=np.intp)
    return np.repeat(first - (ends - size), size) + np.arange(ends[-1])


def full_masks(depth: np.ndarray) -> np.ndarray:
    """Per leaf, the pattern of a row meeting every condition on its path (uint64; 64 bits at most)."""
    depth = np.asarray(depth, dtype=np.uint64)
    return np.where(depth >= 64, np.uint64(0xFFFFFFFFFFFFFFFF),
                    (np.uint64(1) << np.minimum(depth, np.uint64(63))) - np.uint64(1)).astype(np.uint64)


def pattern_type(depth: np.ndarray) -> type:
    """The smallest unsigned type holding a pattern of the deepest path's conditions."""
    deepest = int(depth.max(initial=0))
    return np.uint8 if deepest <= 8 else np.uint16 if deepest <= 16 else np.uint32 if deepest <= 32 else np.uint64


def _leaf_blocks(paths: LeafPaths, n_rows: int):
    """(first leaf, end leaf, first slot, end slot) of blocks of about BLOCK_ENTRIES leaf x row patterns."""
    n_leaves = paths.depth.size
    slot_start = np.r_[0, np.cumsum(paths.depth)]
    per_block = max(1, BLOCK_ENTRIES // max(n_rows, 1))
    for first in range(0, n_leaves, per_block):
        end = min(first + per_block, n_leaves)
        yield first, end, int(slot_start[first]), int(slot_start[end])


def _block_patterns(paths: LeafPaths, hot: np.ndarray, first: int, end: int, slots: slice, dtype: type) -> np.ndarray:
    """(leaves [first, end), rows): each row's pattern on each leaf. hot: (conditions, rows)."""
    patterns = np.zeros((end - first, hot.shape[1]), dtype=dtype)
    leaf, k, cond = paths.slot_leaf[slots] - first, paths.slot_k[slots], paths.slot_cond[slots]
    for bit in range(int(k.max(initial=-1)) + 1):
        at = np.nonzero(k == bit)[0]
        # A path has one slot per bit: the leaves here are distinct, so |= by fancy index is exact.
        patterns[leaf[at]] |= hot[cond[at]].astype(dtype) << dtype(bit)
    return patterns


def reference_groups(paths: LeafPaths, cells: FeatureCells, x: np.ndarray,
                     members: bool = False) -> tuple[ReferenceGroups, np.ndarray | None]:
    """The groups of reference rows ``x`` (n, features: records as the function encodes them) on every
    leaf; with ``members``, also each leaf's row indices in group order, (leaves, n): the rows of leaf
    l's groups follow one another, each group's ``count`` of them."""
    n_rows = x.shape[0]
    if not n_rows:
        raise ModelFormatError("a reference population needs at least one row")
    hot = cells.conditions(np.arange(paths.cond_feat.size))(cells.rows(x))
    dtype = pattern_type(paths.depth)
    order = np.empty((paths.depth.size, n_rows), dtype=np.int32) if members else None
    per_leaf, patterns, counts = [], [], []
    for first, end, a, b in _leaf_blocks(paths, n_rows):
        block = _block_patterns(paths, hot, first, end, slice(a, b), dtype)
        # A stable sort along each leaf's rows (numpy sorts patterns of up to 16 bits by radix).
        sort = np.argsort(block, axis=1, kind="stable")
        ordered = np.take_along_axis(block, sort, axis=1)
        if order is not None:
            order[first:end] = sort
        fresh = np.ones(ordered.shape, dtype=bool)
        fresh[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
        flat = np.flatnonzero(fresh)
        column = flat % n_rows
        # A group runs to the next group's first row, or to the end of its leaf's rows.
        following = np.r_[column[1:], 0]
        following[following == 0] = n_rows
        per_leaf.append(fresh.sum(axis=1))
        patterns.append(ordered.reshape(-1)[flat].astype(np.uint64))
        counts.append(following - column)
    start = np.r_[0, np.cumsum(np.concatenate(per_leaf))].astype(np.int64)
    return ReferenceGroups(start, np.concatenate(patterns), np.concatenate(counts).astype(np.int64), n_rows), order


def group_members(depth: np.ndarray, patterns: np.ndarray, groups: ReferenceGroups, dtype: type) -> np.ndarray:
    """Each leaf's reference rows in group order, (leaves, n) of ``dtype``, from the rows' patterns
    (n, leaves: found as the function finds a record's), sorted per leaf a block of leaves at a time
    and checked to give exactly the groups model.json ships: for leaves of up to 8 conditions by one
    histogram of the rows' (leaf, pattern) pairs against the groups' counts, for deeper ones by their
    sorted patterns."""
    n_rows = patterns.shape[0]
    order = np.empty((depth.size, n_rows), dtype=dtype)
    # numpy sorts integers of up to 16 bits by radix, one pass per byte: leaves of up to 8 conditions
    # are sorted as bytes. Blocks of SORT_ENTRIES keep the sort's work arrays in the cache.
    per_block = max(1, SORT_ENTRIES // max(n_rows, 1))
    narrow = np.flatnonzero(depth <= 8)
    bins = np.r_[0, np.cumsum(np.left_shift(1, depth[narrow].astype(np.int64)))]  # 2^d per narrow leaf
    position = np.full(depth.size, -1)
    position[narrow] = np.arange(narrow.size)
    leaf = position[groups.leaf]
    shipped = np.zeros(int(bins[-1]), dtype=np.int64)
    shipped[bins[leaf[leaf >= 0]] + groups.pattern[leaf >= 0].astype(np.int64)] = groups.count[leaf >= 0]
    found = np.zeros_like(shipped)
    for first in range(0, narrow.size, per_block):
        block_leaves = narrow[first: first + per_block]
        block = np.ascontiguousarray(np.take(patterns, block_leaves, axis=1).T, dtype=np.uint8)
        order[block_leaves] = np.argsort(block, axis=1, kind="stable")
        lo, hi = bins[first], bins[first + block_leaves.size]
        found[lo:hi] = np.bincount((block + (bins[first: first + block_leaves.size] - lo)[:, None]).reshape(-1),
                                   minlength=hi - lo)
    matches = np.array_equal(found, shipped)
    wide = np.flatnonzero(depth > 8)
    for first in range(0, wide.size, per_block):
        block_leaves = wide[first: first + per_block]
        block = np.ascontiguousarray(np.take(patterns, block_leaves, axis=1).T)
        order[block_leaves] = np.argsort(block, axis=1, kind="stable")
        ordered = np.sort(block, axis=1, kind="stable")
        fresh = np.ones(ordered.shape, dtype=bool)
        fresh[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
        flat = np.flatnonzero(fresh)
        sizes = groups.start[block_leaves + 1] - groups.start[block_leaves]
        at = runs(groups.start[block_leaves], sizes)
        matches &= (flat.size == at.size and np.array_equal(ordered.reshape(-1)[flat], groups.pattern[at])
                    and np.array_equal(np.diff(np.r_[flat, ordered.size]), groups.count[at]))
    if not matches:
        raise ModelFormatError("the reference groups in model.json do not match its reference rows")
    return order


def _b64(values: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(values, dtype=dtype).tobytes()).decode("ascii")


def _unb64(document: dict, name: str, dtype: str) -> np.ndarray:
    text = document.get(name)
    if type(text) is not str:
        raise ModelFormatError(f"reference.{name} must be a base64 string")
    try:
        data = base64.b64decode(text, validate=True)
    except binascii.Error as err:
        raise ModelFormatError(f"reference.{name} is not base64: {err}") from err
    size = np.dtype(dtype).itemsize
    if len(data) % size:
        raise ModelFormatError(f"reference.{name} holds {len(data)} bytes, not whole {np.dtype(dtype).name} values")
    return np.frombuffer(data, dtype=dtype)


def pack_reference(x: np.ndarray, groups: ReferenceGroups) -> dict:
    """model.json's ``reference``: the rows and every leaf's groups, as the function reads them."""
    return {"n_rows": int(x.shape[0]), "rows": _b64(x, "<f8"), "groups": _b64(np.diff(groups.start), "<u4"),
            "patterns": _b64(groups.pattern, "<u8"), "counts": _b64(groups.count, "<u4")}


def read_reference(document: dict, paths: LeafPaths, n_features: int) -> tuple[np.ndarray, ReferenceGroups]:
    """The reference rows (n, features) and groups of model.json, checked against the model's leaves."""
    if not isinstance(document, dict):
        raise ModelFormatError("reference must be an object")
    n_rows = document.get("n_rows")
    if type(n_rows) is not int or n_rows < 1:
        raise ModelFormatError("reference.n_rows must be a positive integer")
    rows = _unb64(document, "rows", "<f8")
    if rows.size != n_rows * n_features:
        raise ModelFormatError(f"reference.rows holds {rows.size} values, expected {n_rows} x {n_features}")
    x = rows.reshape(n_rows, n_features)
    if np.isinf(x).any():
        raise ModelFormatError("reference.rows must be finite numbers or NaN for missing values")
    per_leaf = _unb64(document, "groups", "<u4").astype(np.int64)
    pattern = _unb64(document, "patterns", "<u8")
    count = _unb64(document, "counts", "<u4").astype(np.int64)
    if per_leaf.size != paths.depth.size:
        raise ModelFormatError(f"reference.groups lists {per_leaf.size} leaves, the trees have {paths.depth.size}")
    start = np.r_[0, np.cumsum(per_leaf)]
    if pattern.size != start[-1] or count.size != start[-1]:
        raise ModelFormatError("reference.patterns and reference.counts must hold one entry per group")
    groups = ReferenceGroups(start, pattern, count, n_rows)
    leaf = groups.leaf
    width = paths.depth[leaf].astype(np.uint64)
    increasing = np.ones(pattern.size, dtype=bool)
    increasing[1:] = (pattern[1:] > pattern[:-1]) | (leaf[1:] != leaf[:-1])
    within = (width >= 64) | ((pattern >> np.minimum(width, 63)) == 0)
    if not (increasing.all() and within.all() and (count > 0).all()):
        raise ModelFormatError("reference groups must be distinct patterns of the leaf's conditions, increasing, "
                               "each of at least one row")
    if not per_leaf.all() or not (np.add.reduceat(count, start[:-1]) == n_rows).all():
        raise ModelFormatError(f"every leaf's reference groups must hold the {n_rows} rows")
    return x, groups


def reference_document(ensemble: dict, n_features: int, x: np.ndarray) -> dict:
    """model.json's ``reference`` for the ensemble and reference rows x (n, features), as the exporter
    writes it: the rows, and their groups on the leaves as the function reads the trees."""
    from tree_paths import leaf_paths

    compare = {"float32": np.float32, "float64": np.float64}[ensemble["compare"]]
    paths = leaf_paths(ensemble, n_features, ensemble["n_outputs"], 1)
    x = np.ascontiguousarray(x, dtype=np.float64)
    groups, _ = reference_groups(paths, FeatureCells(paths, n_features, compare), x)
    return pack_reference(x, groups)
