"""Exact path-dependent TreeSHAP for leaves too deep to tabulate, by Gauss-Legendre quadrature.

For a leaf with value ``v`` whose path reads ``d`` distinct features with cover fractions ``z_j``
and, for a record, hot indicators ``o_j`` (the record meets the feature's condition), the SHAP
value of path feature ``i`` is (the identity behind Linear TreeSHAP, Yu et al. 2022)::

    phi_i = v (o_i - z_i) * sum_m m!(d-1-m)!/d! [t^m] prod_{j != i} (z_j + o_j t)
          = v (o_i - z_i) * integral_0^1 prod_{j != i} f_j(u) du,   f_j(u) = z_j (1 - u) + o_j u

(the Beta integral turns the Shapley weights into an integral of a polynomial of degree d - 1),
which ``ceil(d / 2)`` Gauss-Legendre nodes integrate exactly. With ``F = prod_j f_j``:

* a cold feature (o_i = 0) gets ``-v * integral F / (1 - u)``, the same for all cold features;
* a hot one gets ``v (1 - z_i) * integral F / (z_i (1 - u) + u)``.

``log F`` is a sum of per-slot logs chosen by the hot bits: one small matrix product per leaf
and record batch, then one more for the per-slot integrals. Leaves are grouped by path length, so
each group is computed at its own width with its own number of nodes (no padding to the deepest
path), and the hot bits come straight from the conditions (FeatureCells.conditions), not packed
into patterns and unpacked again. Memory is linear in the depth, so any tree a library can grow
is served.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from feature_cells import FeatureCells
from tree_paths import LeafPaths, ModelFormatError

MAX_DEPTH = 64  # as many distinct features on one path as any library grows, and more
# Elements of the per-batch (path slots x records) work arrays: a few megabytes, so that the dozen
# passes over them run in cache (16 MB arrays made a 100-record batch twice as slow).
WORK_ELEMENTS = 500_000


@lru_cache(maxsize=None)
def gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights on [0, 1] (Golub-Welsch: numpy.linalg is loaded with numpy anyway), read-only:
    computed once per count (the table build asks for them per chunk)."""
    k = np.arange(1, n)
    off = k / np.sqrt(4.0 * k * k - 1.0)
    nodes, vectors = np.linalg.eigh(np.diag(off, 1) + np.diag(off, -1))
    nodes, weights = (nodes + 1.0) / 2.0, vectors[0] ** 2
    nodes.setflags(write=False)
    weights.setflags(write=False)
    return nodes, weights


class _DepthGroup:
    """The leaves of one path length ``d``: their slots are columns [start, start + leaves * d) of the hot array."""

    def __init__(self, start: int, z: np.ndarray, value: np.ndarray):
        n_leaves, d = z.shape
        self.start, self.end, self.shape = start, start + n_leaves * d, (n_leaves, d)
        u, weight = gauss_legendre(max(1, -(-d // 2)))
        # Records are the last axis throughout, as in the hot array and the output.
        cold = z[:, None, :] * (1.0 - u)[:, None]  # f_j when cold, (leaves, nodes, d)
        hot = cold + u[:, None]
        self.log_ratio = np.log(hot / cold)  # (leaves, nodes, d)
        # Quadrature weights and the leaf value folded in: cold_weight @ F is a cold slot's value.
        self.log_cold = (np.log(cold).sum(axis=2) + np.log(weight))[:, :, None]  # (leaves, nodes, 1)
        self.inverse_hot = np.ascontiguousarray((1.0 / hot).transpose(0, 2, 1))  # (leaves, d, nodes)
        self.cold_weight = (-value[:, None] / (1.0 - u))[:, None, :]  # (leaves, 1, nodes)
        self.hot_scale = ((1.0 - z) * value[:, None])[:, :, None]  # (leaves, d, 1)


class QuadratureLeaves:
    """The leaves explained by quadrature; ``accumulate`` adds their SHAP values to ``out``."""

    def __init__(self, paths: LeafPaths, cells: FeatureCells, leaves: np.ndarray):
        n_feat = cells.n_features
        depth = paths.depth[leaves]
        if depth.max(initial=0) > MAX_DEPTH:
            raise ModelFormatError(f"a leaf's path reads {int(depth.max())} distinct features; at most {MAX_DEPTH} "
                                   "are supported")
        # Leaves by path length, then in model order; their slots (leaf-major, in path order) follow suit.
        leaves = leaves[np.argsort(depth, kind="stable")]
        depth = paths.depth[leaves]
        local = np.full(paths.unit.size, -1, dtype=np.int64)
        local[leaves] = np.arange(leaves.size)
        slots = np.nonzero(local[paths.slot_leaf] >= 0)[0]
        slots = slots[np.lexsort((paths.slot_k[slots], local[paths.slot_leaf[slots]]))]
        slot_leaf = local[paths.slot_leaf[slots]]
        self._conditions = cells.conditions(paths.slot_cond[slots])
        self._n_slots = slots.size

        z = paths.slot_z[slots]
        self._groups = []
        bounds = np.searchsorted(depth, np.arange(int(depth.max(initial=0)) + 2))
        slot_start = 0
        for d in range(1, bounds.size - 1):
            a, b = int(bounds[d]), int(bounds[d + 1])
            if b > a:
                group = _DepthGroup(slot_start, z[slot_start: slot_start + (b - a) * d].reshape(b - a, d),
                                    paths.value[leaves[a:b]])
                self._groups.append(group)
                slot_start = group.end

        # Where each slot's contribution goes, sorted for one reduceat.
        output = paths.output[leaves]
        target = output[slot_leaf] * n_feat + paths.slot_feat[slots]
        self._shap_order = np.argsort(target, kind="stable")
        sorted_targets = target[self._shap_order]
        self._shap_firsts = np.flatnonzero(np.r_[True, sorted_targets[1:] != sorted_targets[:-1]])
        self._shap_targets = sorted_targets[self._shap_firsts]

    def accumulate(self, rows: np.ndarray, out: np.ndarray) -> None:
        n = out.shape[1]
        step = max(1, WORK_ELEMENTS // max(1, self._n_slots))
        for start in range(0, n, step):
            self._accumulate_batch(rows[:, start: start + step], out[:, start: start + step])

    def _accumulate_batch(self, rows: np.ndarray, out: np.ndarray) -> None:
        n = rows.shape[1]
        hot = self._conditions(rows)  # (slots, n)
        phi = np.empty((self._n_slots, n))  # rows: slots
        for g in self._groups:
            leaves, d = g.shape
            on = hot[g.start: g.end].reshape(leaves, d, n).astype(np.float64)  # 1.0 where hot
            # F at every node: exp of the all-cold logs plus the hot slots' log ratios, times the weights.
            f = np.matmul(g.log_ratio, on)
            f += g.log_cold
            np.exp(f, out=f)  # (leaves, nodes, n)
            cold = g.cold_weight @ f  # (leaves, 1, n): -v integral F / (1 - u)
            value = np.matmul(g.inverse_hot, f, out=phi[g.start: g.end].reshape(leaves, d, n))  # integral F / f_i
            value *= g.hot_scale  # v (1 - z_i) integral F / f_i
            value -= cold
            value *= on
            value += cold  # the hot value where hot, the cold one elsewhere
        if self._shap_order.size:
            out[self._shap_targets] += np.add.reduceat(phi[self._shap_order], self._shap_firsts, axis=0)

