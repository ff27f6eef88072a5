"""Reads the trees of model.json into leaf paths and groups the leaves into units.

A leaf's path is summarised per distinct feature, as path-dependent TreeSHAP merges repeated
splits on one feature: the *condition* a record must meet on that feature to reach the leaf, and
the cover fraction ``z`` (product of the split ratios). A condition is

* for a numeric feature, an interval ``(lo, hi]`` plus whether a missing value (NaN) meets it;
* for a categorical feature, a set of category codes plus whether a missing value meets it.

All trees are processed together: every (leaf, ancestor) step at once, merged per (leaf, feature)
by segmented reductions; units are found bottom-up, one vectorised step per tree level.
"""

from __future__ import annotations

import binascii
from base64 import b64decode
from itertools import chain
from typing import Callable, NamedTuple

import numpy as np


class ModelFormatError(ValueError):
    """The model document does not describe a tree ensemble this explainer can evaluate."""


class LeafPaths(NamedTuple):
    """Non-zero leaves, their path slots (one per distinct feature on the path) and the distinct conditions.

    Leaf arrays are indexed by leaf; slot arrays by (leaf, k) in leaf-major order; condition arrays
    by condition id. Categorical conditions list their allowed cells as (condition, cell) pairs.
    """

    value: np.ndarray  # (leaves,) leaf value
    output: np.ndarray  # (leaves,) the output the leaf's tree adds to
    depth: np.ndarray  # (leaves,) distinct features on the path
    unit: np.ndarray  # (leaves,) the unit the leaf belongs to
    slot_leaf: np.ndarray
    slot_k: np.ndarray  # position on the leaf's own path
    slot_feat: np.ndarray
    slot_z: np.ndarray  # cover fraction of the merged condition
    slot_cond: np.ndarray  # condition id
    cond_feat: np.ndarray
    cond_lo: np.ndarray  # numeric conditions: the interval (lo, hi]; categorical: -inf, inf
    cond_hi: np.ndarray
    cond_nan: np.ndarray  # a missing value meets the condition
    cat_cond: np.ndarray  # categorical conditions: (condition, allowed cell) pairs
    cat_cell: np.ndarray
    cat_cells: np.ndarray  # (features,) cells of each categorical feature (codes seen + 'other'), 0 if numeric


FIELDS = ("children_left", "children_right", "feature", "threshold", "missing_left", "value", "cover")
# A field written as a string: the base64 of its values in this binary type (model_format.py).
PACKED = {"children_left": "<i4", "children_right": "<i4", "feature": "<i4", "missing_left": "u1",
          "threshold": "<f8", "value": "<f8", "cover": "<f8"}
_PACKED_TYPES = {name: np.dtype(code) for name, code in PACKED.items()}


def unpack_field(value: object, name: str, t: int) -> object:
    """Field ``name`` of tree ``t`` as written: a list of numbers as it is, a base64 string as the array it
    encodes (ModelFormatError when it does not)."""
    if type(value) is not str:
        return value
    dtype = _PACKED_TYPES[name]
    try:
        data = b64decode(value, validate=True)
    except binascii.Error as err:
        raise ModelFormatError(f"tree {t} field {name!r} is not base64: {err}") from err
    if len(data) % dtype.itemsize:
        raise ModelFormatError(f"tree {t} field {name!r} holds {len(data)} bytes, not whole {dtype.name} values")
    return np.frombuffer(data, dtype=dtype)


def _concatenate(trees: list, n_features: int, n_outputs: int) -> dict[str, np.ndarray]:
    """All trees as one node table with absolute child indices, checked to form trees."""
    roots, ends, outputs, categorical = [], [], [], []
    columns: dict[str, list] = {name: [] for name in FIELDS}
    offset = 0
    for t, tree in enumerate(trees):
        if not isinstance(tree, dict):
            raise ModelFormatError(f"tree {t} is not an object")
        try:
            fields = [unpack_field(tree[name], name, t) for name in FIELDS]
            n_nodes = len(fields[0])
            for name, field in zip(FIELDS, fields):
                if len(field) != n_nodes:
                    raise ModelFormatError(f"tree {t} field {name!r} has {len(field)} entries, expected {n_nodes}")
                columns[name].append(field)
            output = tree.get("output", 0)
            cat_left = tree.get("cat_left")
        except (KeyError, TypeError) as err:
            raise ModelFormatError(f"tree {t} lacks a valid field: {err}") from err
        if n_nodes == 0:
            raise ModelFormatError(f"tree {t} has no nodes")
        if type(output) is not int or not 0 <= output < n_outputs:
            raise ModelFormatError(f"tree {t} adds to output {output!r}, the model has {n_outputs}")
        if cat_left is not None:
            if not isinstance(cat_left, list) or len(cat_left) != n_nodes:
                raise ModelFormatError(f"tree {t} field 'cat_left' must list one entry per node")
            for node, codes in enumerate(cat_left):
                if codes is None:
                    continue
                if not isinstance(codes, list) or not all(type(c) is int and c >= 0 for c in codes):
                    raise ModelFormatError(f"tree {t} node {node}: cat_left must be a list of category codes")
                categorical.append((offset + node, codes))
        roots.append(offset)
        outputs.append(output)
        offset += n_nodes
        ends.append(offset)
    try:
        # Lists straight into one array per field (no intermediate list of them all); packed fields joined.
        arrays = {name: np.fromiter(chain.from_iterable(parts), dtype=np.float64, count=offset)
                  if all(type(part) is list for part in parts) else
                  np.concatenate(parts).astype(np.float64)
                  if all(type(part) is np.ndarray for part in parts) else
                  np.concatenate([np.asarray(part, dtype=np.float64) for part in parts])
                  for name, parts in columns.items()}
    except (TypeError, ValueError) as err:
        raise ModelFormatError(f"a tree field holds a non-number: {err}") from err
    for name in ("children_left", "children_right", "feature"):
        raw = arrays[name]
        if not np.array_equal(raw, np.round(raw)):
            raise ModelFormatError(f"tree field {name!r} must hold integers")
        arrays[name] = raw.astype(np.int64)
    sizes = np.diff(np.r_[0, ends])
    node_tree_end = np.repeat(np.array(ends), sizes)
    node_ids = np.arange(offset)
    starts = np.repeat(np.array(roots), sizes)
    internal = arrays["children_left"] >= 0
    for name in ("children_left", "children_right"):
        local = arrays[name]
        absolute = np.where(internal, local + starts, -1)
        # Children after their parent and inside its tree: no cycles, whatever the document says.
        bad = internal & ~((absolute > node_ids) & (absolute < node_tree_end))
        if bad.any():
            node = int(np.argmax(bad))
            raise ModelFormatError(f"node {node - starts[node]} has child index {local[node]} outside the tree")
        arrays[name] = absolute
    children = np.concatenate([arrays["children_left"][internal], arrays["children_right"][internal]])
    if np.unique(children).size != children.size or np.isin(np.array(roots), children).any():
        raise ModelFormatError("the nodes do not form trees (a node has two parents)")
    bad_feature = internal & ((arrays["feature"] < 0) | (arrays["feature"] >= n_features))
    if bad_feature.any():
        node = int(np.argmax(bad_feature))
        raise ModelFormatError(f"node {node - starts[node]} splits on feature index {arrays['feature'][node]}, "
                               f"model has {n_features} features")
    is_cat = np.zeros(offset, dtype=bool)
    is_cat[[node for node, _ in categorical]] = True
    if (is_cat & ~internal).any():
        raise ModelFormatError("a leaf has a categorical split (cat_left)")
    if not np.isfinite(arrays["value"]).all() or not np.isfinite(arrays["threshold"][internal & ~is_cat]).all():
        raise ModelFormatError("tree values and thresholds must be finite")
    if not np.isin(arrays["missing_left"], (0.0, 1.0)).all():
        raise ModelFormatError("tree field 'missing_left' must hold 0 or 1")
    arrays["roots"] = np.array(roots, dtype=np.int64)
    arrays["output"] = np.repeat(np.array(outputs, dtype=np.int64), sizes)
    arrays["is_cat"] = is_cat
    arrays["categorical"] = categorical
    return arrays


def _categorical_cells(a: dict, n_features: int) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Cells per categorical feature (every code a split names, then one 'other' cell) and, per
    categorical node, which cells go left."""
    cells = np.zeros(n_features, dtype=np.int64)
    for node, codes in a["categorical"]:
        f = int(a["feature"][node])
        cells[f] = max(cells[f], max(codes, default=-1) + 2)
    numeric_split = np.zeros(n_features, dtype=bool)
    numeric_split[a["feature"][(a["children_left"] >= 0) & ~a["is_cat"]]] = True
    mixed = np.nonzero(numeric_split & (cells > 0))[0]
    if mixed.size:
        raise ModelFormatError(f"feature {int(mixed[0])} has both numeric and categorical splits")
    left_cells = {}
    for node, codes in a["categorical"]:
        row = np.zeros(cells[a["feature"][node]], dtype=bool)
        row[codes] = True
        left_cells[node] = row
    return cells, left_cells


def leaf_paths(ensemble: dict, n_features: int, n_outputs: int,
               max_unit_bits: int | Callable[[np.ndarray], int]) -> LeafPaths:
    """Every non-zero leaf with its path, grouped into units: the largest subtrees whose leaves use at
    most ``max_unit_bits`` distinct conditions (a lone leaf is always a unit). ``max_unit_bits`` may
    be a function of the leaves' path lengths (distinct features per leaf)."""
    trees = ensemble.get("trees")
    if not isinstance(trees, list) or not trees:
        raise ModelFormatError("ensemble.trees must be a non-empty list")
    a = _concatenate(trees, n_features, n_outputs)
    cat_cells, left_cells = _categorical_cells(a, n_features)
    left, right, feature, threshold, cover = (a["children_left"], a["children_right"], a["feature"],
                                              a["threshold"], a["cover"])
    n_nodes = left.size
    internal = np.nonzero(left >= 0)[0]
    # Node and leaf numbers in int32 where they fit: the step arrays below are the largest of the
    # load, and every page of them costs a fault on a cold start.
    index = np.int32 if n_nodes < 2**31 // max(n_features, 1) else np.int64
    parent = np.full(n_nodes, -1, dtype=index)
    parent[left[internal]] = internal
    parent[right[internal]] = internal
    children = np.concatenate([left[internal], right[internal]])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.ones(n_nodes)
        ratio[children] = cover[children] / cover[parent[children]]
    if not (ratio > 0).all():
        node = int(np.argmin(ratio > 0))
        raise ModelFormatError(f"node {node} has zero cover; path-dependent SHAP is undefined")

    # A zero leaf adds nothing to any output, SHAP value or the base value: drop it.
    leaves = np.nonzero((left < 0) & (a["value"] != 0.0))[0]
    # The path's steps (leaf, split node, child taken), one level up at a time from every leaf.
    who, below = np.arange(leaves.size, dtype=index), leaves.astype(index)
    steps = []
    while True:
        above = parent[below]
        up = above >= 0
        if not up.any():
            break
        who, below, above = who[up], below[up], above[up]
        steps.append((who, above, below))
        below = above
    step_leaf, node, child = (np.concatenate([s[i] for s in steps]) if steps else np.zeros(0, dtype=index)
                              for i in range(3))

    # Merged per (leaf, feature) as path-dependent TreeSHAP merges repeated splits on one feature:
    # the interval (lo, hi] or the categories a record must meet, whether a missing value meets it,
    # and the product of the cover ratios.
    key = step_leaf * n_features + feature.astype(index)[node]
    order = np.argsort(key, kind="stable")
    key, node, child = key[order], node[order], child[order]
    new_slot = np.r_[True, key[1:] != key[:-1]] if key.size else np.zeros(0, dtype=bool)
    starts = np.flatnonzero(new_slot)
    step_slot = np.cumsum(new_slot, dtype=index) - 1
    went_left = left[node] == child
    thr = threshold[node]
    slot_leaf, slot_feat = key[starts] // n_features, key[starts] % n_features
    numeric = ~a["is_cat"][node]
    slot_z = _per_slot(np.multiply, ratio[child], starts)
    slot_hi = _per_slot(np.minimum, np.where(went_left & numeric, thr, np.inf), starts)
    slot_lo = _per_slot(np.maximum, np.where(~went_left & numeric, thr, -np.inf), starts)
    slot_nan = _per_slot(np.logical_and, (a["missing_left"][node] > 0) == went_left, starts)

    depth = np.bincount(slot_leaf, minlength=leaves.size)
    slot_k = np.arange(slot_leaf.size) - np.repeat(np.cumsum(depth) - depth, depth)
    # Categorical conditions: the cells every categorical step on the feature lets through, told
    # apart by their cell set, numbered per feature.
    slot_set = np.full(slot_leaf.size, -1, dtype=np.int64)
    set_rows: dict[int, np.ndarray] = {}
    for f in np.nonzero(cat_cells)[0].tolist():
        steps = np.nonzero(~numeric & (feature[node] == f))[0]
        if not steps.size:
            continue
        rows = np.array([left_cells[p] for p in node[steps].tolist()]) ^ ~went_left[steps, None]
        slots, first = np.unique(step_slot[steps], return_index=True)
        allowed = np.logical_and.reduceat(rows, first, axis=0)
        ids_rows, ids = np.unique(allowed, axis=0, return_inverse=True)
        slot_set[slots] = ids.ravel()
        set_rows[f] = ids_rows

    # Distinct conditions, numbered in sorted order.
    keys = (slot_set, slot_nan, slot_hi, slot_lo, slot_feat)
    order = np.lexsort(keys)
    fresh = np.zeros(order.size, dtype=bool)
    fresh[:1] = True
    for column in keys:
        fresh[1:] |= column[order][1:] != column[order][:-1]  # not np.diff: inf - inf is nan
    slot_cond = np.empty(order.size, dtype=np.int64)
    slot_cond[order] = np.cumsum(fresh) - 1
    firsts = order[fresh]
    cond_feat, cond_set = slot_feat[firsts], slot_set[firsts]
    pairs = [(c, cell) for c in np.nonzero(cond_set >= 0)[0].tolist()
             for cell in np.nonzero(set_rows[int(cond_feat[c])][cond_set[c]])[0].tolist()]
    cat_pairs = np.array(pairs, dtype=np.int64).reshape(-1, 2)

    if callable(max_unit_bits):
        max_unit_bits = max_unit_bits(depth)
    unit = _units(a, parent, leaves, slot_leaf, slot_k, slot_cond, max(firsts.size, 1), max_unit_bits)
    return LeafPaths(
        value=a["value"][leaves], output=a["output"][leaves], depth=depth, unit=unit,
        slot_leaf=slot_leaf, slot_k=slot_k, slot_feat=slot_feat, slot_z=slot_z, slot_cond=slot_cond,
        cond_feat=cond_feat, cond_lo=slot_lo[firsts], cond_hi=slot_hi[firsts], cond_nan=slot_nan[firsts],
        cat_cond=cat_pairs[:, 0], cat_cell=cat_pairs[:, 1], cat_cells=cat_cells)


def _per_slot(ufunc: np.ufunc, values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The steps of each slot (contiguous, from ``starts``) reduced with ``ufunc``."""
    return ufunc.reduceat(values, starts) if starts.size else values[:0]


def _units(a: dict, parent: np.ndarray, leaves: np.ndarray, slot_leaf: np.ndarray, slot_k: np.ndarray,
           slot_cond: np.ndarray, n_cond: int, max_bits: int) -> np.ndarray:
    """The unit of each leaf: the highest ancestor whose leaves use at most ``max_bits`` distinct
    conditions (the leaf itself if even it uses more).

    Bottom-up, a level of the trees at a time: each node keeps its subtree's distinct conditions
    while they fit ``max_bits`` (a sorted row padded with ``n_cond``), else is marked over budget.
    """
    left, right = a["children_left"], a["children_right"]
    width = max_bits + 1
    sets = np.full((left.size, width), n_cond, dtype=np.int32 if n_cond < 2**31 else np.int64)
    over = np.zeros(left.size, dtype=bool)
    over[leaves] = np.bincount(slot_leaf, minlength=leaves.size) > max_bits
    kept = slot_k < width
    sets[leaves[slot_leaf[kept]], slot_k[kept]] = slot_cond[kept]
    levels = []
    frontier = a["roots"]
    while frontier.size:
        parents = frontier[left[frontier] >= 0]
        levels.append(parents)
        frontier = np.concatenate([left[parents], right[parents]])
    for parents in reversed(levels):
        both = np.concatenate([sets[left[parents]], sets[right[parents]]], axis=1)
        both.sort(axis=1)
        both[:, 1:][both[:, 1:] == both[:, :-1]] = n_cond
        both.sort(axis=1)
        over[parents] = over[left[parents]] | over[right[parents]] | (both[:, max_bits] < n_cond)
        sets[parents] = both[:, :width]
    # Over budget is inherited upwards: climb from each leaf while the parent is within budget.
    root = leaves.copy()
    climbing = np.nonzero(~over[leaves])[0]
    while climbing.size:
        above = parent[root[climbing]]
        climbing = climbing[above >= 0]
        above = above[above >= 0]
        fits = ~over[above]
        climbing, above = climbing[fits], above[fits]
        root[climbing] = above
    return np.unique(root, return_inverse=True)[1].ravel()
