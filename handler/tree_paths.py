"""Reads the trees of model.json into leaf paths and groups the leaves into units.

A leaf's path is summarised per distinct feature: the interval ``(lo, hi]`` the record must lie in
(repeated splits on one feature intersect) and the cover fraction ``z`` (product of the split
ratios), as path-dependent TreeSHAP merges them. All trees are processed together, one vectorised
step per tree level.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class ModelFormatError(ValueError):
    """The model document does not describe a tree ensemble this explainer can evaluate."""


class ForestPaths(NamedTuple):
    """Non-zero leaves and their path slots (one per distinct feature on the path), as flat arrays.

    Leaf arrays are indexed by leaf, slot arrays by (leaf, k) in leaf-major order, condition arrays
    by the distinct (feature, interval) conditions of each unit.
    """

    value: np.ndarray  # (leaves,) leaf output scaled by the ensemble weight
    depth: np.ndarray  # (leaves,) distinct features on the path
    unit: np.ndarray  # (leaves,) the unit the leaf belongs to
    slot_leaf: np.ndarray
    slot_k: np.ndarray  # position on the leaf's own path
    slot_feat: np.ndarray
    slot_z: np.ndarray  # cover fraction of the merged interval
    slot_bit: np.ndarray  # which condition of the unit the slot reads
    cond_unit: np.ndarray
    cond_pos: np.ndarray  # bit position inside the unit's pattern
    cond_feat: np.ndarray
    cond_lo: np.ndarray
    cond_hi: np.ndarray
    unit_bits: np.ndarray  # (units,) number of conditions


FIELDS = ("children_left", "children_right", "feature", "threshold", "value", "cover")


def _concatenate(trees: list, n_features: int) -> dict[str, np.ndarray]:
    columns: dict[str, list] = {name: [] for name in FIELDS}
    roots, ends = [], []
    offset = 0
    for t, tree in enumerate(trees):
        if not isinstance(tree, dict):
            raise ModelFormatError(f"tree {t} is not an object")
        try:
            n_nodes = len(tree["children_left"])
            for name in FIELDS:
                if len(tree[name]) != n_nodes:
                    raise ModelFormatError(f"tree {t} field {name!r} has {len(tree[name])} entries, expected {n_nodes}")
                columns[name].append(tree[name])
        except (KeyError, TypeError) as err:
            raise ModelFormatError(f"tree {t} lacks a valid field: {err}") from err
        if n_nodes == 0:
            raise ModelFormatError(f"tree {t} has no nodes")
        roots.append(offset)
        offset += n_nodes
        ends.append(offset)
    try:
        arrays = {name: np.concatenate([np.asarray(c, dtype=np.float64) for c in columns[name]]) for name in FIELDS}
    except (TypeError, ValueError) as err:
        raise ModelFormatError(f"a tree field holds a non-number: {err}") from err
    for name in ("children_left", "children_right", "feature"):
        raw = arrays[name]
        if not np.array_equal(raw, np.round(raw)):
            raise ModelFormatError(f"tree field {name!r} must hold integers")
        arrays[name] = raw.astype(np.int64)
    node_tree_end = np.repeat(np.array(ends), np.diff(np.r_[0, ends]))
    node_ids = np.arange(offset)
    starts = np.repeat(np.array(roots), np.diff(np.r_[0, ends]))
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
    if not np.isfinite(arrays["value"]).all() or not np.isfinite(arrays["threshold"][internal]).all():
        raise ModelFormatError("tree values and thresholds must be finite")
    arrays["roots"] = np.array(roots, dtype=np.int64)
    return arrays


def forest_units(trees: list, n_features: int, max_bits: int) -> ForestPaths:
    """Every non-zero leaf with its path, grouped into units: the largest subtrees whose leaves use at
    most ``max_bits`` distinct (feature, interval) conditions (a lone leaf is always a unit)."""
    a = _concatenate(trees, n_features)
    left, right, feature, threshold, cover = (a["children_left"], a["children_right"], a["feature"],
                                              a["threshold"], a["cover"])
    n_nodes = left.size
    lo = np.full((n_nodes, n_features), -np.inf)
    hi = np.full((n_nodes, n_features), np.inf)
    z = np.ones((n_nodes, n_features))
    parent = np.full(n_nodes, -1, dtype=np.int64)
    frontier = a["roots"]
    height = 1
    while frontier.size:
        parents = frontier[left[frontier] >= 0]
        f, thr = feature[parents], threshold[parents]
        for children, is_left in ((left[parents], True), (right[parents], False)):
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = cover[children] / cover[parents]
            if not (ratio > 0).all():
                node = int(children[np.argmin(ratio > 0)])
                raise ModelFormatError(f"node {node} has zero cover; path-dependent SHAP is undefined")
            parent[children] = parents
            lo[children], hi[children], z[children] = lo[parents], hi[parents], z[parents]
            if is_left:
                hi[children, f] = np.minimum(hi[parents, f], thr)
            else:
                lo[children, f] = np.maximum(lo[parents, f], thr)
            z[children, f] = z[parents, f] * ratio
        frontier = np.concatenate([left[parents], right[parents]])
        height += 1

    # A zero leaf adds nothing to any probability, SHAP value or the base value: drop it.
    leaves = np.nonzero((left < 0) & (a["value"] != 0.0))[0]
    used = np.isfinite(lo[leaves]) | np.isfinite(hi[leaves])
    slot_leaf, slot_feat = np.nonzero(used)
    depth = used.sum(axis=1)
    slot_k = np.arange(slot_leaf.size) - np.repeat(np.cumsum(depth) - depth, depth)
    slot_lo = lo[leaves[slot_leaf], slot_feat]
    slot_hi = hi[leaves[slot_leaf], slot_feat]
    # Distinct (feature, lo, hi) conditions, numbered in sorted order.
    order = np.lexsort((slot_hi, slot_lo, slot_feat))
    fresh = np.zeros(order.size, dtype=bool)
    fresh[:1] = True
    for column in (slot_feat[order], slot_lo[order], slot_hi[order]):
        fresh[1:] |= column[1:] != column[:-1]  # not np.diff: inf - inf is nan
    slot_cond = np.empty(order.size, dtype=np.int64)
    slot_cond[order] = np.cumsum(fresh) - 1
    conditions = np.stack([slot_feat[order][fresh].astype(np.float64), slot_lo[order][fresh],
                           slot_hi[order][fresh]], axis=1)
    n_cond = max(len(conditions), 1)

    # Ancestors of each leaf, the leaf first; a node's count = distinct conditions of its leaves.
    ancestors = np.full((leaves.size, height), -1, dtype=np.int64)
    current = leaves
    for level in range(height):
        ancestors[:, level] = current
        current = np.where(current >= 0, parent[np.maximum(current, 0)], -1)
    pairs = ancestors[slot_leaf]  # (slots, height)
    valid = pairs >= 0
    keys = np.unique(pairs[valid] * n_cond + np.broadcast_to(slot_cond[:, None], pairs.shape)[valid])
    count = np.bincount(keys // n_cond, minlength=n_nodes)
    # Counts shrink towards the leaves, so the nodes within budget form a prefix of each leaf's
    # ancestor list: its last one is the unit root (the leaf itself if even it is over budget).
    within = (ancestors >= 0) & (count[np.maximum(ancestors, 0)] <= max_bits)
    root_of_unit = ancestors[np.arange(leaves.size), np.maximum(within.sum(axis=1) - 1, 0)]
    unit_nodes, unit = np.unique(root_of_unit, return_inverse=True)
    unit = unit.ravel()

    unit_cond, slot_pair = np.unique(unit[slot_leaf] * n_cond + slot_cond, return_inverse=True)
    cond_unit = unit_cond // n_cond
    unit_first = np.searchsorted(cond_unit, np.arange(unit_nodes.size))
    cond_pos = np.arange(unit_cond.size) - unit_first[cond_unit]
    chosen = conditions[unit_cond % n_cond] if len(conditions) else np.zeros((0, 3))
    return ForestPaths(
        value=a["value"][leaves] / a["roots"].size, depth=depth, unit=unit,
        slot_leaf=slot_leaf, slot_k=slot_k, slot_feat=slot_feat, slot_z=z[leaves[slot_leaf], slot_feat],
        slot_bit=cond_pos[slot_pair.ravel()], cond_unit=cond_unit, cond_pos=cond_pos,
        cond_feat=chosen[:, 0].astype(np.int64), cond_lo=chosen[:, 1], cond_hi=chosen[:, 2],
        unit_bits=np.bincount(cond_unit, minlength=unit_nodes.size))
