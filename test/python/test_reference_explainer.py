"""Interventional SHAP against a reference population: the numpy explainer against brute-force Shapley.

The trees are generated directly (numeric and categorical splits, missing values routed either way,
paths only a missing value takes), and so are the reference rows, with missing values and unseen
codes of their own. Every algorithm is covered: the tables, the per-request pairs, and the
probability space, where each reference row weighs by the sigmoid's slope.
"""

import base64
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import explainer
import path_tables
import reference_probability
from brute_shapley import interventional_shapley
from explainer import ModelFormatError, TreeModelExplainer
from reference_groups import reference_document
from reference_shap import fill_reference_block
from test_explainer import N_FEATURES, random_ensemble, records


def explain_both(ensemble, x, reference, probability=False, **patches):
    document = json.loads(json.dumps(ensemble))
    ref = reference_document(document, N_FEATURES, reference)
    ours = TreeModelExplainer(document, N_FEATURES, json.loads(json.dumps(ref)),
                              "probability" if probability else "margin")
    return ours, ours.explain(x), interventional_shapley(document, x, reference, N_FEATURES, probability)


def assert_exact(ensemble, x, reference, probability=False):
    ours, got, (phi, base) = explain_both(ensemble, x, reference, probability)
    np.testing.assert_allclose(got.shap, phi, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.base_value, base, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.base_value + got.shap.sum(axis=2), got.explained, rtol=0, atol=1e-12)
    # The margin is the trees' own, in either space.
    from doc_walker import margins
    np.testing.assert_allclose(got.margin, margins(ensemble, x), rtol=0, atol=1e-12)
    for start, size in ((0, 1), (1, 2)):
        few = ours.explain(x[start: start + size])
        np.testing.assert_allclose(few.shap, phi[start: start + size], rtol=0, atol=1e-12)
    return ours


@settings(max_examples=30, deadline=None, database=None)
@given(seed=st.integers(0, 2**32 - 1), trees=st.integers(1, 3), depth=st.integers(1, 6), outputs=st.integers(1, 3),
       rows=st.integers(1, 12))
def test_tables_equal_brute_force_interventional_shapley(seed, trees, depth, outputs, rows):
    ours = assert_exact(random_ensemble(seed, trees, depth, outputs), records(seed, 12), records(seed + 1, rows))
    assert ours.pair_leaves == 0 and ours.reference_rows == rows


@settings(max_examples=20, deadline=None, database=None)
@given(seed=st.integers(0, 2**32 - 1), trees=st.integers(1, 3), depth=st.integers(1, 6), outputs=st.integers(1, 2),
       rows=st.integers(1, 12))
def test_pairs_equal_brute_force_interventional_shapley(seed, trees, depth, outputs, rows):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(explainer, "TABLE_BUDGET", -1)
        ours = assert_exact(random_ensemble(seed, trees, depth, outputs), records(seed, 12), records(seed + 1, rows))
    assert ours.tabulated_leaves == 0


@settings(max_examples=25, deadline=None, database=None)
@given(seed=st.integers(0, 2**32 - 1), trees=st.integers(1, 3), depth=st.integers(1, 6), rows=st.integers(1, 12))
def test_probability_space_equals_the_rescaled_brute_force(seed, trees, depth, rows):
    ours = assert_exact(random_ensemble(seed, trees, depth, 1), records(seed, 12), records(seed + 1, rows), True)
    got = ours.explain(records(seed, 12))
    np.testing.assert_allclose(got.explained[:, 0], 1 / (1 + np.exp(-got.margin[:, 0])), rtol=0, atol=1e-12)


@pytest.mark.parametrize("short_run", [0, 10**9])  # each leaf's own rows by reduceat, and by bincount
def test_probability_sums_own_rows_either_way(monkeypatch, short_run):
    monkeypatch.setattr(reference_probability, "SHORT_RUN", short_run)
    for seed in (5, 6):
        ours = assert_exact(random_ensemble(seed, 3, 4, 1), records(seed, 12), records(seed + 1, 40), True)
        assert (ours._weighed._own_start is None) == bool(short_run)


def test_a_record_that_is_a_reference_row_and_deep_trees(monkeypatch):
    ensemble = random_ensemble(21, trees=3, depth=10, outputs=1)
    reference = records(22, 6)
    x = np.vstack([reference[:2], records(23, 10)])
    assert_exact(ensemble, x, reference)
    assert_exact(ensemble, x, reference, probability=True)
    monkeypatch.setattr(explainer, "TABLE_BUDGET", -1)
    assert_exact(ensemble, x, reference)


@pytest.mark.parametrize("layout, row_entries", [("rows", 10**9), ("slots", 0)])
def test_both_table_layouts(monkeypatch, layout, row_entries):
    monkeypatch.setattr(path_tables, "ROW_ENTRIES", row_entries)
    ours = assert_exact(random_ensemble(4, trees=5, depth=6, outputs=2), records(5, 20), records(6, 9))
    assert ours._tables.layout == layout


def test_many_records_from_pairs(monkeypatch):
    monkeypatch.setattr(explainer, "TABLE_BUDGET", -1)
    assert_exact(random_ensemble(8, trees=3, depth=5, outputs=1), records(9, 30), records(10, 8), True)
    assert_exact(random_ensemble(8, trees=3, depth=5, outputs=2), records(9, 30), records(10, 8))


@pytest.mark.parametrize("targets", [1, 2])
def test_probability_shares_beyond_a_groups_first_failed_conditions(monkeypatch, targets):
    """Hot shares go to a group's first TARGETS failed conditions from its table row, to the others
    from a list: with fewer columns, most groups of deep trees take the list."""
    monkeypatch.setattr(reference_probability, "TARGETS", targets)
    ours = assert_exact(random_ensemble(31, trees=4, depth=8, outputs=1), records(32, 25), records(33, 12), True)
    assert ours._weighed._extra_target.size > 0


def test_probability_through_pairwise_patterns(monkeypatch):
    """Past DENSE_BYTES a record's patterns come from its conditions one by one, categorical ones from
    their cell memberships."""
    import feature_cells

    monkeypatch.setattr(feature_cells, "DENSE_BYTES", 0)
    assert_exact(random_ensemble(51, trees=4, depth=6, outputs=1), records(52, 25), records(53, 10), True)


def test_probability_with_a_tree_of_one_leaf():
    ensemble = random_ensemble(41, trees=3, depth=4, outputs=1)
    ensemble["trees"].append(random_ensemble(42, trees=1, depth=0, outputs=1)["trees"][0])
    assert_exact(ensemble, records(43, 15), records(44, 7), True)


def test_tables_of_a_product_distribution_are_the_path_dependent_ones():
    """Path-dependent TreeSHAP is the interventional value against independent conditions met with
    probability z: the two leaf tables must agree."""
    rng = np.random.default_rng(3)
    for d in range(1, 8):
        z = rng.uniform(0.05, 0.95, (4, d))
        values = rng.normal(size=4)
        size = 1 << d
        bits = (np.arange(size)[:, None] >> np.arange(d)) & 1  # pattern c: the failed conditions
        failed = np.prod(np.where(bits[None] == 1, 1 - z[:, None, :], z[:, None, :]), axis=2)
        ours, theirs = np.empty((4, d, size)), np.empty((4, d, size))
        fill_reference_block(ours, values, failed)
        path_tables._fill_leaf_block(theirs, values, z)
        # The all-hot pattern is not tabulated by path_tables (never used there): compare the others.
        np.testing.assert_allclose(ours[:, :, :-1], theirs[:, :, :-1], rtol=0, atol=1e-13)


def test_a_hand_computed_split_against_two_rows():
    split = {"output": 0, "children_left": [1, -1, -1], "children_right": [2, -1, -1], "feature": [0, -1, -1],
             "threshold": [0.5, 0, 0], "missing_left": [0, 0, 0], "value": [0.0, 1.0, 3.0], "cover": [10, 4, 6]}
    ensemble = {"n_outputs": 1, "init": [0.5], "compare": "float64", "trees": [split]}
    reference = np.array([[0.0, 1.0], [1.0, 1.0], [0.2, 5.0]])  # two rows go left, one right
    ours = TreeModelExplainer(ensemble, 2, reference_document(ensemble, 2, reference))
    assert ours.base_value[0] == pytest.approx(0.5 + (1 + 1 + 3) / 3)
    got = ours.explain(np.array([[0.9, 0.0], [np.nan, 0.0]]))  # both go right: 3.5 against 2.1667
    np.testing.assert_allclose(got.shap[:, 0], [[3.5 - (0.5 + 5 / 3), 0.0]] * 2, atol=1e-15)


@pytest.mark.parametrize("mutate, message", [
    (lambda r: r.update(n_rows=0), "n_rows must be a positive"),
    (lambda r: r.update(rows=r["rows"][:-4]), "not base64|whole float64|holds"),
    (lambda r: r.update(counts=r["patterns"]), "one entry per group|rows"),
    (lambda r: r.update(groups="AAAAAA=="), "lists 1 leaves|whole uint32"),
])
def test_a_malformed_reference_is_refused(mutate, message):
    ensemble = random_ensemble(2, trees=2, depth=4)
    reference = reference_document(json.loads(json.dumps(ensemble)), N_FEATURES, records(3, 5))
    mutate(reference)
    with pytest.raises(ModelFormatError, match=message):
        TreeModelExplainer(json.loads(json.dumps(ensemble)), N_FEATURES, reference)


def chain_tree(n_features: int) -> dict:
    """A tree that splits on every feature in turn (going right): its deepest leaf has one condition per feature."""
    n = 2 * n_features + 1  # internal node 2k splits on feature k; 2k + 1 is a leaf, 2k + 2 the next node
    internal = [i % 2 == 0 and i < n - 1 for i in range(n)]
    return {"output": 0, "children_left": [i + 1 if internal[i] else -1 for i in range(n)],
            "children_right": [i + 2 if internal[i] else -1 for i in range(n)],
            "feature": [i // 2 if internal[i] else -1 for i in range(n)], "threshold": [0.0] * n,
            "missing_left": [0] * n, "value": [0.0 if internal[i] else 1.0 + i for i in range(n)],
            "cover": [float(2 ** (n_features - i // 2)) for i in range(n)]}


@pytest.mark.parametrize("n_features", [6, 10])  # the deepest leaf's rows sorted as bytes, and as wider patterns
def test_probability_refuses_groups_that_do_not_match_the_rows(n_features):
    from tree_paths import leaf_paths

    ensemble = {"n_outputs": 1, "init": [0.0], "compare": "float64", "trees": [chain_tree(n_features)]}
    rows = np.random.default_rng(4).normal(size=(40, n_features))
    reference = reference_document(ensemble, n_features, rows)
    TreeModelExplainer(ensemble, n_features, reference, "probability")  # as exported, it loads
    deepest = int(np.argmax(leaf_paths(ensemble, n_features, 1, 1).depth))
    start = np.r_[0, np.cumsum(np.frombuffer(base64.b64decode(reference["groups"]), "<u4"))]
    counts = np.frombuffer(base64.b64decode(reference["counts"]), "<u4").copy()
    first, end = int(start[deepest]), int(start[deepest + 1])
    assert end - first >= 2, "the deepest leaf splits its rows"
    most = first + int(np.argmax(counts[first:end]))
    counts[most] -= 1  # one row moved between two of its groups: every leaf still holds all 40
    counts[first if most != first else end - 1] += 1
    reference["counts"] = base64.b64encode(counts.tobytes()).decode("ascii")
    with pytest.raises(ModelFormatError, match="do not match its reference rows"):
        TreeModelExplainer(ensemble, n_features, reference, "probability")


def test_probability_needs_a_reference_and_one_output():
    with pytest.raises(ModelFormatError, match="need a reference"):
        TreeModelExplainer(random_ensemble(1, 2, 3), N_FEATURES, None, "probability")
