"""Exact TreeSHAP for the tree ensembles of model.json, with numpy only: path-dependent, or
interventional against a reference population.

Path-dependent values equal ``shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")``
and the libraries' own ``pred_contrib``; interventional ones (model.json's ``reference``) equal
``shap.TreeExplainer(model, data=R, feature_perturbation="interventional")``: per output (a class's
margin, a forest's probability, a regression's value), one value per feature, and
``base_value + sum(shap) == margin``. In probability space (a sigmoid model against a reference) the
values are in probability, as shap's ``model_output="probability"``: ``base_value + sum(shap)`` is
the probability.

Two exact algorithms share the path-dependent work, chosen per unit of leaves at load time:

* ``path_tables``: the record-independent work tabulated per pattern of hot conditions; a request
  costs a gather per unit and feature (a row per unit where the tables are small). Tables grow as
  2^conditions, so they are used while they fit TABLE_BUDGET entries, shallow units first.
* ``path_quadrature``: memory linear in the path length, for the leaves left over (LightGBM's
  leaf-wise trees, wide tables).

Against a reference the tables are the same but for their leaves' own (reference_shap), and the
leaves left over are explained from their reference groups per request (reference_shap.ReferencePairs);
in probability space every leaf is, its rows weighed per record (reference_probability).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from feature_cells import FeatureCells
from path_quadrature import QuadratureLeaves
from path_tables import UnitTables, table_entries
from reference_groups import full_masks, read_reference
from reference_probability import ProbabilityPairs
from reference_shap import ReferenceLeaves, ReferencePairs
from tree_paths import ModelFormatError, leaf_paths

__all__ = ["Explanation", "ModelFormatError", "TreeModelExplainer", "apply_link"]

# Table entries (8 bytes each) for the tabulated units, and the deepest unit worth a table: a
# unit's table costs features x 2^bits entries and its leaves' own tables d 2^d each, all built at
# every cold start (some 20 ms per million entries here); deeper leaves go to the quadrature, whose
# fixed cost per request is small but not nil.
TABLE_BUDGET = 6_000_000
MAX_TABLE_BITS = 10
# Conditions per unit: tables grow as 2^bits. Leaf-wise trees (LightGBM) merge few leaves per unit
# whatever the limit, and a unit of one leaf costs only its own table. For a 300-tree LightGBM model,
# 7 rather than 6 gathers 15% fewer slots per record (cachegrind: 11% fewer instructions for one
# record, 14% for 100) for a load some 15 ms longer (tables of 2.2 rather than 2.1 M entries); 8
# gathers fewer still (26% fewer than 6) but loads 40 ms slower than 6, for no faster a request. A model
# whose leaves' own tables are small builds quickly whatever the limit: there larger units (fewer
# slots, about 20% less work per request) win.
MAX_UNIT_BITS = 7
SMALL_MODEL_UNIT_BITS, SMALL_MODEL_ENTRIES = 9, 1_000_000
# Records per vectorised pass: large enough to amortise numpy's call overhead, small enough that
# the per-slot work arrays stay a few megabytes for any batch.
CHUNK = 128
COMPARE = {"float32": np.float32, "float64": np.float64}


class Explanation(NamedTuple):
    """Per-record outputs; ``base_value + shap.sum(axis=2) == explained`` up to rounding."""

    margin: np.ndarray  # (n, outputs): the value the trees add up to, before the link
    shap: np.ndarray  # (n, outputs, features)
    base_value: np.ndarray  # (outputs,)
    explained: np.ndarray  # (n, outputs): the output in the SHAP values' space (the margin, or the probability)


def apply_link(link: str, margin: np.ndarray) -> np.ndarray:
    """The model's prediction from its margins: probabilities, or the value itself."""
    if link == "identity":
        return margin
    if link == "sigmoid":
        return 1.0 / (1.0 + np.exp(-margin))
    if link == "softmax":
        shifted = np.exp(margin - margin.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)
    raise ModelFormatError(f"unknown link {link!r}")


def _unit_bits(depth: np.ndarray) -> int:
    """The unit size limit for leaves of these path lengths: larger units when their tables are few."""
    leaf_entries = float(np.sum((depth + 1) * np.exp2(depth)))
    return SMALL_MODEL_UNIT_BITS if leaf_entries <= SMALL_MODEL_ENTRIES else MAX_UNIT_BITS


SPACES = ("margin", "probability")


def space_of(document: dict) -> str:
    """The explainer's space for a model.json: probability for a sigmoid model whose SHAP values are
    probabilities (against a reference), else the trees' own margin."""
    return "probability" if document["link"] == "sigmoid" and document["shap_output"] == "probability" else "margin"


class TreeModelExplainer:
    """Loads the ``ensemble`` part of model.json (with its ``reference``, if any) and explains batches of
    records. ``space``: "margin" (the trees' sum, in the model's own space), or "probability" (a
    single-output sigmoid model against a reference).

    Records are float rows: numbers, category codes for categorical features, NaN for missing.
    """

    def __init__(self, ensemble: dict, n_features: int, reference: dict | None = None, space: str = "margin"):
        if not isinstance(ensemble, dict):
            raise ModelFormatError("ensemble must be an object")
        n_outputs = ensemble.get("n_outputs")
        init = ensemble.get("init")
        if type(n_outputs) is not int or n_outputs < 1:
            raise ModelFormatError("ensemble.n_outputs must be a positive integer")
        if not isinstance(init, list) or len(init) != n_outputs:
            raise ModelFormatError(f"ensemble.init must list {n_outputs} number(s)")
        if ensemble.get("compare") not in COMPARE:
            raise ModelFormatError(f"ensemble.compare must be one of {', '.join(COMPARE)}")
        self.n_features, self.n_outputs = n_features, n_outputs
        self.init = np.asarray(init, dtype=np.float64)
        if not np.isfinite(self.init).all():
            raise ModelFormatError("ensemble.init must be finite")
        if space not in SPACES:
            raise ModelFormatError(f"unknown SHAP space {space!r}")
        if space == "probability" and (reference is None or n_outputs != 1):
            raise ModelFormatError("SHAP values in probability need a reference population and one output")
        paths = leaf_paths(ensemble, n_features, n_outputs, _unit_bits)
        self._cells = FeatureCells(paths, n_features, COMPARE[ensemble["compare"]])
        self.space = space
        self.reference_rows = 0
        self._tables = self._quadrature = self._pairs = self._weighed = None
        self.tabulated_leaves = self.quadrature_leaves = self.pair_leaves = 0
        if reference is None:
            self._path_dependent(paths, n_features, n_outputs)
        elif space == "margin":
            self._interventional(paths, n_features, n_outputs, reference)
        else:
            self._probability(paths, n_features, reference)

    def _path_dependent(self, paths, n_features: int, n_outputs: int) -> None:
        reach = np.ones(paths.value.size)
        np.multiply.at(reach, paths.slot_leaf, paths.slot_z)
        self.base_value = self.init + np.bincount(paths.output, weights=paths.value * reach, minlength=n_outputs)
        tabulated = self._units_to_tabulate(paths, n_features)
        self._tables = UnitTables(paths, self._cells, tabulated, n_outputs) if tabulated.size else None
        rest = np.nonzero(~np.isin(paths.unit, tabulated))[0]
        self._quadrature = QuadratureLeaves(paths, self._cells, rest) if rest.size else None
        self.tabulated_leaves = int(paths.value.size - rest.size)
        self.quadrature_leaves = int(rest.size)

    def _interventional(self, paths, n_features: int, n_outputs: int, reference: dict) -> None:
        """Tables where they fit, as path-dependent ones; the other leaves from their groups per request."""
        _, groups = read_reference(reference, paths, n_features)
        self.reference_rows = groups.n_rows
        # The base value is the mean output over the reference rows: each leaf's value times the share
        # of rows reaching it (its group meeting every condition, the last of its groups if any does).
        full = full_masks(paths.depth)
        last = groups.start[1:] - 1
        reached = np.where(groups.pattern[last] == full, groups.count[last], 0) / groups.n_rows
        self.base_value = self.init + np.bincount(paths.output, weights=paths.value * reached, minlength=n_outputs)
        tabulated = self._units_to_tabulate(paths, n_features)
        if tabulated.size:
            self._tables = UnitTables(paths, self._cells, tabulated, n_outputs, ReferenceLeaves(paths, groups))
        rest = np.nonzero(~np.isin(paths.unit, tabulated))[0]
        self._pairs = ReferencePairs(paths, self._cells, rest, groups) if rest.size else None
        self.tabulated_leaves = int(paths.value.size - rest.size)
        self.pair_leaves = int(rest.size)

    def _probability(self, paths, n_features: int, reference: dict) -> None:
        """Every leaf from its groups, each reference row weighed per record; the rows' own margins and
        each leaf's rows in group order are found at load."""
        x, groups = read_reference(reference, paths, n_features)
        self.reference_rows = groups.n_rows
        self._weighed = ProbabilityPairs(paths, self._cells, groups, x, float(self.init[0]))
        self.pair_leaves = int(paths.value.size)
        self.base_value = np.array([np.mean(1.0 / (1.0 + np.exp(-self._weighed.reference_margin)))])

    @staticmethod
    def _units_to_tabulate(paths, n_features: int) -> np.ndarray:
        """Shallow units first, while their tables fit the budget; the rest go to quadrature."""
        n_units = int(paths.unit.max(initial=-1)) + 1
        n_cond = max(paths.cond_feat.size, 1)
        pairs = np.unique(paths.unit[paths.slot_leaf] * n_cond + paths.slot_cond)
        unit_bits = np.bincount(pairs // n_cond, minlength=n_units)
        features = np.unique(paths.unit[paths.slot_leaf] * n_features + paths.slot_feat)
        unit_features = np.bincount(features // n_features, minlength=n_units)
        cost = table_entries(paths, unit_bits, unit_features)
        order = np.lexsort((cost, unit_bits))
        fits = (np.cumsum(cost[order]) <= TABLE_BUDGET) & (unit_bits[order] <= MAX_TABLE_BITS)
        return np.sort(order[fits])

    def explain(self, x: np.ndarray) -> Explanation:
        """x: (n, features) floats, NaN for missing values."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"expected shape (n, {self.n_features}), got {x.shape}")
        if np.isinf(x).any():
            raise ValueError("records must be finite numbers or NaN for missing values")
        out = np.zeros((self.n_outputs * self.n_features, x.shape[0]))  # rows: (output, feature)
        margin = np.empty((x.shape[0], self.n_outputs)) if self.space == "probability" else None
        # Chunks bound the working memory (slots x records) whatever the batch size.
        for start in range(0, x.shape[0], CHUNK):
            rows = self._cells.rows(x[start: start + CHUNK])
            part = out[:, start: start + CHUNK]
            if self._tables is not None:
                self._tables.accumulate(rows, part)
            if self._quadrature is not None:
                self._quadrature.accumulate(rows, part)
            if margin is not None:
                margin[start: start + CHUNK] = self._probability_values(rows, part)
            elif self._pairs is not None:
                self._pairs.accumulate(rows, part)
        if not np.isfinite(out).all():  # then the link's outputs are finite too (the base values are, by load)
            raise ArithmeticError("the explainer produced a non-finite value")
        shap = out.reshape(self.n_outputs, self.n_features, x.shape[0]).transpose(2, 0, 1)
        # TreeSHAP is additive: the output is the base value plus the record's SHAP values, which saves
        # the algorithms a table (or a sum) for it. In probability, the margin is the leaves' own sum.
        explained = self.base_value + shap.sum(axis=2)
        return Explanation(margin=explained if margin is None else margin, shap=shap, base_value=self.base_value,
                           explained=explained)

    def _probability_values(self, rows: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Adds the records' SHAP values in probability to out and returns their margins (n, 1): each
        reference row's margin values weighed by the slope of the sigmoid between the record's output
        and the row's, (sigmoid(F) - sigmoid(f)) / (F - f)."""
        return self._weighed.accumulate(self._weighed.leaf_patterns(rows), out)[:, None]
