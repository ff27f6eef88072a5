"""Reads the trees of model.json into leaf paths and groups the leaves into units.

A leaf's path is summarised per distinct feature, as path-dependent TreeSHAP merges repeated
splits on one feature: the *condition* a record must meet on that feature to reach the leaf, and
the cover fraction ``z`` (product of the split ratios). A condition is

* for a numeric feature, an interval ``(lo, hi]`` plus whether a missing value (NaN) meets it;
* for a categorical feature, a set of category codes plus whether a missing value meets it.

All trees are processed together, one vectorised step per tree level.
"""

from __future__ import annotations

from typing import NamedTuple

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


def _concatenate(trees: list, n_features: int, n_outputs: int) -> dict[str, np.ndarray]:
    """All trees as one node table with absolute child indices, checked to form trees."""
    columns: dict[str, list] = {name: [] for name in FIELDS}
    roots, ends, outputs, categorical = [], [], [], []
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
        arrays = {name: np.concatenate([np.asarray(c, dtype=np.float64) for c in columns[name]]) for name in FIELDS}
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


def leaf_paths(ensemble: dict, n_features: int, n_outputs: int, max_unit_bits: int) -> LeafPaths:
    """Every non-zero leaf with its path, grouped into units: the largest subtrees whose leaves use at
    most ``max_unit_bits`` distinct conditions (a lone leaf is always a unit)."""
    trees = ensemble.get("trees")
    if not isinstance(trees, list) or not trees:
        raise ModelFormatError("ensemble.trees must be a non-empty list")
    a = _concatenate(trees, n_features, n_outputs)
    cat_cells, left_cells = _categorical_cells(a, n_features)
    left, right, feature, threshold, cover = (a["children_left"], a["children_right"], a["feature"],
                                              a["threshold"], a["cover"])
    missing_left = a["missing_left"] > 0
    n_nodes = left.size

    # Per node and feature: the merged condition a record meets to get there, and its cover fraction.
    lo = np.full((n_nodes, n_features), -np.inf)
    hi = np.full((n_nodes, n_features), np.inf)
    nan_ok = np.ones((n_nodes, n_features), dtype=bool)
    on_path = np.zeros((n_nodes, n_features), dtype=bool)
    z = np.ones((n_nodes, n_features))
    cat_ok = {f: np.ones((n_nodes, int(cat_cells[f])), dtype=bool) for f in np.nonzero(cat_cells)[0]}
    parent = np.full(n_nodes, -1, dtype=np.int64)
    frontier = a["roots"]
    height = 1
    while frontier.size:
        parents = frontier[left[frontier] >= 0]
        f, thr = feature[parents], threshold[parents]
        numeric = ~a["is_cat"][parents]
        for children, is_left in ((left[parents], True), (right[parents], False)):
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = cover[children] / cover[parents]
            if not (ratio > 0).all():
                node = int(children[np.argmin(ratio > 0)])
                raise ModelFormatError(f"node {node} has zero cover; path-dependent SHAP is undefined")
            parent[children] = parents
            for table in (lo, hi, nan_ok, on_path, z, *cat_ok.values()):
                table[children] = table[parents]
            on_path[children, f] = True
            z[children, f] = z[parents, f] * ratio
            goes = missing_left[parents] if is_left else ~missing_left[parents]
            nan_ok[children, f] &= goes
            num_children, num_f = children[numeric], f[numeric]
            if is_left:
                hi[num_children, num_f] = np.minimum(hi[num_children, num_f], thr[numeric])
            else:
                lo[num_children, num_f] = np.maximum(lo[num_children, num_f], thr[numeric])
            for p, child in zip(parents[~numeric].tolist(), children[~numeric].tolist()):
                row = left_cells[p] if is_left else ~left_cells[p]
                cat_ok[int(feature[p])][child] &= row
        frontier = np.concatenate([left[parents], right[parents]])
        height += 1

    # A zero leaf adds nothing to any output, SHAP value or the base value: drop it.
    leaves = np.nonzero((left < 0) & (a["value"] != 0.0))[0]
    used = on_path[leaves]
    slot_leaf, slot_feat = np.nonzero(used)
    depth = used.sum(axis=1)
    slot_k = np.arange(slot_leaf.size) - np.repeat(np.cumsum(depth) - depth, depth)
    slot_node = leaves[slot_leaf]
    slot_lo, slot_hi = lo[slot_node, slot_feat], hi[slot_node, slot_feat]
    slot_nan = nan_ok[slot_node, slot_feat]
    # Categorical conditions are told apart by their cell set, numbered per feature.
    slot_set = np.full(slot_leaf.size, -1, dtype=np.int64)
    set_rows: dict[int, np.ndarray] = {}
    for f, table in cat_ok.items():
        mine = np.nonzero(slot_feat == f)[0]
        if mine.size:
            rows, ids = np.unique(table[slot_node[mine]], axis=0, return_inverse=True)
            slot_set[mine] = ids.ravel()
            set_rows[f] = rows

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

    unit = _units(leaves, parent, slot_leaf, slot_cond, max(firsts.size, 1), n_nodes, height, max_unit_bits)
    return LeafPaths(
        value=a["value"][leaves], output=a["output"][leaves], depth=depth, unit=unit,
        slot_leaf=slot_leaf, slot_k=slot_k, slot_feat=slot_feat, slot_z=z[slot_node, slot_feat], slot_cond=slot_cond,
        cond_feat=cond_feat, cond_lo=slot_lo[firsts], cond_hi=slot_hi[firsts], cond_nan=slot_nan[firsts],
        cat_cond=cat_pairs[:, 0], cat_cell=cat_pairs[:, 1], cat_cells=cat_cells)


def _units(leaves, parent, slot_leaf, slot_cond, n_cond, n_nodes, height, max_bits) -> np.ndarray:
    """The unit of each leaf: the highest ancestor whose leaves use at most ``max_bits`` conditions."""
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
    return np.unique(root_of_unit, return_inverse=True)[1].ravel()
