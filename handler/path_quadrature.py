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

``log F`` is a sum of per-slot logs chosen by the hot bits, i.e. one small matrix product per leaf
and record batch. Memory is linear in the depth, so any tree a library can grow is served.
Padding every leaf to the deepest path with ``z = o = 1`` slots changes nothing (their factor is
1 and their value is 0).
"""

from __future__ import annotations

import numpy as np

from feature_cells import FeatureCells
from tree_paths import LeafPaths, ModelFormatError

MAX_DEPTH = 64  # one 64-bit pattern per leaf
# Elements of the per-batch (leaves x records x depth) work arrays: a few tens of megabytes.
WORK_ELEMENTS = 2_000_000


def gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights on [0, 1] (Golub-Welsch: numpy.linalg is loaded with numpy anyway)."""
    k = np.arange(1, n)
    off = k / np.sqrt(4.0 * k * k - 1.0)
    nodes, vectors = np.linalg.eigh(np.diag(off, 1) + np.diag(off, -1))
    return (nodes + 1.0) / 2.0, vectors[0] ** 2


class QuadratureLeaves:
    """The leaves explained by quadrature; ``accumulate`` adds their SHAP values and outputs to ``out``."""

    def __init__(self, paths: LeafPaths, cells: FeatureCells, leaves: np.ndarray):
        n_feat = cells.n_features
        local = np.full(paths.unit.size, -1, dtype=np.int64)
        local[leaves] = np.arange(leaves.size)
        slots = np.nonzero(local[paths.slot_leaf] >= 0)[0]
        slot_leaf, slot_k = local[paths.slot_leaf[slots]], paths.slot_k[slots]
        depth = paths.depth[leaves]
        width = int(depth.max(initial=0))
        if width > MAX_DEPTH:
            raise ModelFormatError(f"a leaf's path reads {width} distinct features; at most {MAX_DEPTH} are supported")
        width = max(width, 1)
        # One pattern per leaf: bit k is its k-th path condition; unused high bits are always set.
        self._patterns = cells.patterns(paths.slot_cond[slots], slot_leaf, slot_k, leaves.size, np.uint64)
        all_bits = (1 << width) - 1
        self._padding = np.array([all_bits & ~((1 << int(d)) - 1) for d in depth], dtype=np.uint64)
        self._full = np.uint64(all_bits)
        self._shifts = np.arange(width, dtype=np.uint64)

        z = np.ones((leaves.size, width))
        z[slot_leaf, slot_k] = paths.slot_z[slots]
        u, weight = gauss_legendre(max(1, -(-width // 2)))
        cold_factor = z[:, :, None] * (1.0 - u)  # f_j when cold, (leaves, width, nodes)
        hot_factor = cold_factor + u
        self._log_cold = np.log(cold_factor).sum(axis=1)[:, None, :]  # (leaves, 1, nodes)
        self._log_ratio = np.log(hot_factor / cold_factor)  # (leaves, width, nodes)
        self._inverse_hot = np.ascontiguousarray((1.0 / hot_factor).transpose(0, 2, 1))  # (leaves, nodes, width)
        self._weight = weight
        self._cold_weight = 1.0 / (1.0 - u)
        self._hot_scale = (1.0 - z)[:, None, :]
        self._value = paths.value[leaves]

        # Where each (leaf, k) contribution and each leaf's output go, sorted for one reduceat each.
        target = np.full((leaves.size, width), -1, dtype=np.int64)
        output = paths.output[leaves]
        target[slot_leaf, slot_k] = output[slot_leaf] * (n_feat + 1) + paths.slot_feat[slots]
        flat = target.ravel()
        self._shap_order = np.argsort(flat, kind="stable")[np.sum(flat < 0):]
        sorted_targets = flat[self._shap_order]
        self._shap_firsts = np.flatnonzero(np.r_[True, sorted_targets[1:] != sorted_targets[:-1]])
        self._shap_targets = sorted_targets[self._shap_firsts] if sorted_targets.size else sorted_targets
        out_target = output * (n_feat + 1) + n_feat
        self._out_order = np.argsort(out_target, kind="stable")
        sorted_out = out_target[self._out_order]
        self._out_firsts = np.flatnonzero(np.r_[True, sorted_out[1:] != sorted_out[:-1]])
        self._out_targets = sorted_out[self._out_firsts]
        self._width = width

    def accumulate(self, rows: list[np.ndarray], out: np.ndarray) -> None:
        n = out.shape[1]
        patterns = self._patterns(rows) | self._padding
        step = max(1, WORK_ELEMENTS // max(1, self._value.size * self._width))
        for start in range(0, n, step):
            self._accumulate_batch(patterns[start: start + step], out[:, start: start + step])

    def _accumulate_batch(self, patterns: np.ndarray, out: np.ndarray) -> None:
        by_leaf = np.ascontiguousarray(patterns.T)  # (leaves, n)
        hot = ((by_leaf[:, :, None] >> self._shifts) & np.uint64(1)).astype(np.float64)  # (leaves, n, width)
        # Weighted F at every node: exp of the cold logs plus the hot slots' log ratios.
        f = np.exp(self._log_cold + hot @ self._log_ratio) * self._weight  # (leaves, n, nodes)
        cold = -(f @ self._cold_weight)  # (leaves, n)
        hot_sum = self._hot_scale * (f @ self._inverse_hot)  # (leaves, n, width)
        phi = np.where(hot > 0, hot_sum, cold[:, :, None]) * self._value[:, None, None]
        flat = phi.transpose(0, 2, 1).reshape(-1, phi.shape[1])  # rows (leaf, k)
        if self._shap_order.size:
            out[self._shap_targets] += np.add.reduceat(flat[self._shap_order], self._shap_firsts, axis=0)
        reached = (by_leaf == self._full) * self._value[:, None]
        out[self._out_targets] += np.add.reduceat(reached[self._out_order], self._out_firsts, axis=0)
