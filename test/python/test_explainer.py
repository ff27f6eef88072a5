"""The numpy explainer on its own: random and hand-written documents against the brute-force Shapley oracle.

Estimator-level checks (scikit-learn, LightGBM, XGBoost against shap and pred_contrib) live in the
test_export_* files; here the trees are generated directly, so that every kind of split (numeric,
categorical, missing values routed either way, paths only a missing value takes) and both
algorithms (tables and quadrature) are covered whatever a library happens to grow.
"""

import base64
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import explainer
import tree_paths
from brute_shapley import shapley
from explainer import ModelFormatError, TreeModelExplainer, apply_link
from pipe_export.model_format import pack_trees

N_FEATURES = 5
CATEGORICAL = {3: 4}  # feature 3 holds codes 0..3
THRESHOLDS = [-1.0, -0.25, 0.0, 0.5, 1.5]


def random_tree(rng, depth: int, output: int = 0) -> dict:
    tree = {k: [] for k in ("children_left", "children_right", "feature", "threshold", "missing_left", "value",
                            "cover", "cat_left")}

    def node(level: int, cover: float) -> int:
        index = len(tree["feature"])
        for key, value in (("children_left", -1), ("children_right", -1), ("feature", -1), ("threshold", 0.0),
                           ("missing_left", 0), ("value", 0.0), ("cover", cover), ("cat_left", None)):
            tree[key].append(value)
        if level == depth or rng.random() < 0.15:
            tree["value"][index] = float(np.round(rng.normal(), 3))
            return index
        feature = int(rng.integers(N_FEATURES))
        tree["feature"][index] = feature
        tree["missing_left"][index] = int(rng.random() < 0.5)
        if feature in CATEGORICAL:
            codes = rng.permutation(CATEGORICAL[feature])[: rng.integers(1, CATEGORICAL[feature])]
            tree["cat_left"][index] = sorted(int(c) for c in codes)
        else:
            tree["threshold"][index] = float(rng.choice(THRESHOLDS))
        share = float(rng.uniform(0.1, 0.9))
        tree["children_left"][index] = node(level + 1, cover * share)
        tree["children_right"][index] = node(level + 1, cover * (1 - share))
        return index

    node(0, 100.0)
    tree["output"] = output
    return tree


def random_ensemble(seed: int, trees: int, depth: int, outputs: int = 1, compare: str = "float64") -> dict:
    rng = np.random.default_rng(seed)
    return {"n_outputs": outputs, "init": [float(v) for v in rng.normal(size=outputs)], "compare": compare,
            "trees": [random_tree(rng, depth, t % outputs) for t in range(trees)]}


def records(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.choice(THRESHOLDS + [-3.0, 0.2, 0.9, 4.0], size=(n, N_FEATURES))  # on and between thresholds
    x[:, 3] = rng.integers(0, CATEGORICAL[3] + 1, n)  # code 4 no split names: the 'other' cell
    x[rng.random((n, N_FEATURES)) < 0.2] = np.nan
    return x


def assert_exact(ensemble: dict, x: np.ndarray, **budget) -> TreeModelExplainer:
    document = json.loads(json.dumps(ensemble))
    ours = TreeModelExplainer(document, N_FEATURES)
    for name, value in budget.items():
        assert getattr(ours, name) == value, (name, getattr(ours, name))
    got = ours.explain(x)
    phi, base, margin = shapley(document, x, N_FEATURES)
    np.testing.assert_allclose(got.margin, margin, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.shap, phi, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.base_value, base, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.base_value + got.shap.sum(axis=2), got.margin, rtol=0, atol=1e-12)
    # One or two records take the request path's small-batch code (cells by bisect, one-call patterns).
    for start, size in ((0, 1), (1, 1), (2, 2), (len(x) - 1, 1)):
        few = ours.explain(x[start: start + size])
        np.testing.assert_allclose(few.shap, phi[start: start + size], rtol=0, atol=1e-12)
        np.testing.assert_allclose(few.margin, margin[start: start + size], rtol=0, atol=1e-12)
    return ours


@settings(max_examples=40, deadline=None, database=None)
@given(seed=st.integers(0, 2**32 - 1), trees=st.integers(1, 4), depth=st.integers(1, 7), outputs=st.integers(1, 3))
def test_random_ensembles_equal_the_brute_force_shapley_values(seed, trees, depth, outputs):
    assert_exact(random_ensemble(seed, trees, depth, outputs), records(seed, 40))


@pytest.mark.parametrize("budget, mode", [(0, "quadrature_leaves"), (10**9, "tabulated_leaves")])
def test_both_algorithms_are_exact_on_deep_trees(monkeypatch, budget, mode):
    monkeypatch.setattr(explainer, "TABLE_BUDGET", budget)
    monkeypatch.setattr(explainer, "MAX_TABLE_BITS", 64 if budget else 12)
    ensemble = random_ensemble(7, trees=3, depth=14, outputs=2)
    ours = assert_exact(ensemble, records(8, 60))
    assert getattr(ours, mode) > 0
    assert (ours.quadrature_leaves == 0) == (mode == "tabulated_leaves")


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("layout, row_entries, record_rows", [("rows", 10**9, False), ("slots", 0, True),
                                                              ("slots", 0, False)])
def test_both_table_layouts_are_exact(monkeypatch, seed, layout, row_entries, record_rows):
    """Rows, or slots with or without the rows copy that one-record requests read (assert_exact explains
    single records too)."""
    import path_tables

    monkeypatch.setattr(path_tables, "ROW_ENTRIES", row_entries)
    monkeypatch.setattr(path_tables, "RECORD_ROW_ENTRIES", 10**9 if record_rows else 0)
    ours = assert_exact(random_ensemble(seed, trees=5, depth=6, outputs=1 + seed % 3), records(seed, 40))
    assert ours.tabulated_leaves > 0 and ours._tables.layout == layout
    assert (ours._tables._record_rows is not None) == record_rows


def test_a_request_in_blocks_of_a_few_slots_is_still_exact(monkeypatch):
    import path_tables

    # Blocks of 3 slots x 40 records: every target's segment spans several blocks, and some blocks
    # hold the end of one segment and the start of the next.
    monkeypatch.setattr(path_tables, "ROW_ENTRIES", 0)
    monkeypatch.setattr(path_tables, "BLOCK_ELEMENTS", 120)
    ours = assert_exact(random_ensemble(5, trees=4, depth=6, outputs=2), records(6, 40))
    assert ours.tabulated_leaves > 0 and ours._tables._slot_unit.size > 3 * len(ours._tables._segments)
    assert ours._tables.layout == "slots"


@pytest.mark.parametrize("block_bytes", [1, 1 << 20])
def test_patterns_of_many_records_a_block_at_a_time_are_exact(monkeypatch, block_bytes):
    import feature_cells

    # Past GATHER_BYTES the patterns are ORed feature by feature, a block of records at a time: one
    # record per block, or all 40 in one.
    monkeypatch.setattr(feature_cells, "GATHER_BYTES", 0)
    monkeypatch.setattr(feature_cells, "BLOCK_BYTES", block_bytes)
    assert_exact(random_ensemble(8, trees=4, depth=6, outputs=2), records(9, 40))


def test_a_request_in_rows_a_few_records_at_a_time_is_still_exact(monkeypatch):
    import path_tables

    # ROW_WORK as small as the rows of one record: 40 records take 40 steps.
    monkeypatch.setattr(path_tables, "ROW_WORK", 1)
    ours = assert_exact(random_ensemble(6, trees=4, depth=6, outputs=2), records(7, 40))
    assert ours._tables.layout == "rows"


def test_a_table_built_a_leaf_at_a_time_is_still_exact(monkeypatch):
    import path_tables

    # One leaf per build chunk: every unit of several leaves gets its table from several chunks.
    monkeypatch.setattr(path_tables, "BUILD_ELEMENTS", 1)
    ours = assert_exact(random_ensemble(9, trees=4, depth=6, outputs=2), records(10, 40))
    assert ours.tabulated_leaves > 0 and ours._tables._n_units < ours.tabulated_leaves


def test_packed_tree_fields_read_as_the_same_numbers():
    ensemble = random_ensemble(13, trees=3, depth=6, outputs=2)
    packed = json.loads(json.dumps(pack_trees(ensemble)))
    assert all(isinstance(tree[name], str) for tree in packed["trees"] for name in tree_paths.PACKED)
    x = records(14, 30)
    plain, ours = TreeModelExplainer(ensemble, N_FEATURES).explain(x), TreeModelExplainer(packed, N_FEATURES).explain(x)
    for a, b in zip(plain, ours):
        np.testing.assert_array_equal(a, b)


def test_large_models_fall_back_to_pairwise_patterns(monkeypatch):
    import feature_cells

    monkeypatch.setattr(feature_cells, "DENSE_BYTES", 0)
    assert_exact(random_ensemble(11, trees=4, depth=8, outputs=2), records(12, 50))


def test_a_leaf_only_a_missing_value_reaches():
    # x0 <= 0 (missing goes left), then x0 > 1 (missing goes right... then left again): the middle leaf
    # is reached by a missing x0 only, its interval (1, 0] is empty.
    tree = {"output": 0, "children_left": [1, 2, -1, -1, -1], "children_right": [4, 3, -1, -1, -1],
            "feature": [0, 0, -1, -1, -1], "threshold": [0.0, 1.0, 0, 0, 0], "missing_left": [1, 0, 0, 0, 0],
            "value": [0, 0, 1.0, 5.0, -2.0], "cover": [10, 6, 5, 1, 4]}
    ensemble = {"n_outputs": 1, "init": [0.0], "compare": "float64", "trees": [tree]}
    x = np.array([[np.nan, 1.0], [-1.0, 0.0], [2.0, 0.0], [0.5, np.nan]])
    ours = TreeModelExplainer(ensemble, 2).explain(x)
    assert ours.margin[:, 0].tolist() == [5.0, 1.0, -2.0, -2.0]
    np.testing.assert_allclose(ours.shap, shapley(ensemble, x, 2)[0], atol=1e-14)


def test_hand_computed_single_split():
    split = {"output": 0, "children_left": [1, -1, -1], "children_right": [2, -1, -1], "feature": [0, -1, -1],
             "threshold": [0.5, 0, 0], "missing_left": [0, 0, 0], "value": [0.0, 0.3, 0.5], "cover": [10, 4, 6]}
    ours = TreeModelExplainer({"n_outputs": 1, "init": [0.25], "compare": "float32", "trees": [split]}, 2)
    assert ours.base_value[0] == pytest.approx(0.25 + 0.3 * 0.4 + 0.5 * 0.6)
    got = ours.explain(np.array([[0.5, 7.0], [0.6, 7.0], [np.nan, 7.0]]))
    expected = 0.3 * 0.4 + 0.5 * 0.6
    np.testing.assert_allclose(got.shap[:, 0, :], [[0.3 - expected, 0], [0.5 - expected, 0], [0.5 - expected, 0]],
                               atol=1e-15)


def test_float32_comparison_follows_the_cast():
    # 0.1 as float32 is 0.100000001490116..., above the float64 threshold 0.1: it goes right.
    split = {"output": 0, "children_left": [1, -1, -1], "children_right": [2, -1, -1], "feature": [0, -1, -1],
             "threshold": [0.1, 0, 0], "missing_left": [0, 0, 0], "value": [0, 1.0, 2.0], "cover": [2, 1, 1]}
    for compare, expected in (("float64", 1.0), ("float32", 2.0)):
        ours = TreeModelExplainer({"n_outputs": 1, "init": [0.0], "compare": compare, "trees": [split]}, 1)
        assert ours.explain(np.array([[0.1]])).margin[0, 0] == expected


def test_links():
    margin = np.array([[0.0, np.log(3.0)]])
    np.testing.assert_allclose(apply_link("sigmoid", margin), [[0.5, 0.75]])
    np.testing.assert_allclose(apply_link("softmax", margin), [[0.25, 0.75]])
    assert apply_link("identity", margin) is margin
    with pytest.raises(ModelFormatError, match="unknown link"):
        apply_link("probit", margin)


@pytest.mark.parametrize("mutate, message", [
    (lambda e: e.update(trees=[]), "non-empty"),
    (lambda e: e.update(n_outputs=0), "n_outputs"),
    (lambda e: e.update(init=[0.0, 1.0]), "init must list 1"),
    (lambda e: e.update(compare="float16"), "compare"),
    (lambda e: e["trees"][0].update(output=3), "adds to output 3"),
    (lambda e: e["trees"][0].update(cover=e["trees"][0]["cover"][:-1]), "cover"),
    (lambda e: e["trees"][0].update(feature=[9] + e["trees"][0]["feature"][1:]), "feature index 9"),
    (lambda e: e["trees"][0].update(children_left=[0] + e["trees"][0]["children_left"][1:]), "child index"),
    (lambda e: e["trees"][0].update(missing_left=[2] * len(e["trees"][0]["missing_left"])), "missing_left"),
    (lambda e: e["trees"][0].update(cat_left=[[-1]] + [None] * (len(e["trees"][0]["feature"]) - 1)),
     "category codes"),
    (lambda e: e["trees"][0].update(value="not base64!"), "field 'value' is not base64"),
    (lambda e: e["trees"][0].update(cover=base64.b64encode(b"abc").decode()), "3 bytes, not whole float64"),
    (lambda e: e["trees"][0].update(threshold=base64.b64encode(np.zeros(1).tobytes()).decode()),
     "field 'threshold' has 1 entries"),
])
def test_malformed_documents_are_refused(mutate, message):
    ensemble = random_ensemble(3, trees=1, depth=3)
    ensemble["trees"][0] = random_tree(np.random.default_rng(5), 3)
    while ensemble["trees"][0]["children_left"][0] < 0:  # a split at the root, for the node-level cases
        ensemble["trees"][0] = random_tree(np.random.default_rng(len(ensemble["trees"][0]["feature"]) + 9), 3)
    mutate(ensemble)
    with pytest.raises(ModelFormatError, match=message):
        TreeModelExplainer(ensemble, N_FEATURES)


def test_records_must_have_the_model_shape_and_no_infinities():
    ours = TreeModelExplainer(random_ensemble(1, 2, 3), N_FEATURES)
    with pytest.raises(ValueError, match="expected shape"):
        ours.explain(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="finite"):
        ours.explain(np.full((1, N_FEATURES), np.inf))


def test_a_non_finite_result_is_an_error_not_an_answer():
    """Leaf values so large that their sum overflows: the explainer refuses to answer with inf."""
    ensemble = random_ensemble(3, trees=2, depth=2)
    for tree in ensemble["trees"]:
        tree["value"] = [1e308 if v else 0.0 for v in tree["value"]]
    with np.errstate(over="ignore", invalid="ignore"):  # the overflow itself is the point
        ours = TreeModelExplainer(json.loads(json.dumps(ensemble)), N_FEATURES)
        with pytest.raises(ArithmeticError, match="non-finite"):
            ours.explain(records(1, 4))
