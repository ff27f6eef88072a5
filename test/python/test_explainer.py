"""The numpy explainer against shap.TreeExplainer (tree_path_dependent) on varied tree models."""

import json

import numpy as np
import pytest
import shap
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier

from explainer import ModelFormatError, TreeEnsembleExplainer
from model_export import canonical_json, export_ensemble


def data(rows=1500, features=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features))
    x[:, 2] = np.round(x[:, 2] * 2)  # a few discrete levels: many ties at thresholds
    logit = 1.5 * x[:, 0] - x[:, 1] * x[:, 2] + 0.5 * (x[:, 3] > 0.3)
    y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return x, y


def assert_matches_shap(model, x):
    # Round-trip through the canonical JSON the function loads, not the in-memory dict.
    ensemble = json.loads(canonical_json(export_ensemble(model)))
    ours = TreeEnsembleExplainer(ensemble, x.shape[1]).explain(x)
    reference = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
    expected = np.asarray(reference.shap_values(x))[:, :, 1]
    np.testing.assert_allclose(ours.shap, expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.probability, model.predict_proba(x)[:, 1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.base_value + ours.shap.sum(axis=1), ours.probability, rtol=0, atol=1e-12)
    assert abs(ours.base_value - np.ravel(reference.expected_value)[1]) < 1e-12
    return ours


@pytest.mark.parametrize("model", [
    RandomForestClassifier(n_estimators=50, max_depth=6, max_leaf_nodes=30, random_state=0),
    RandomForestClassifier(n_estimators=8, max_depth=None, min_samples_leaf=5, random_state=1),
    RandomForestClassifier(n_estimators=20, max_depth=2, random_state=2),
    ExtraTreesClassifier(n_estimators=10, max_depth=7, random_state=3),
    DecisionTreeClassifier(max_depth=10, random_state=0),
    DecisionTreeClassifier(max_depth=1, random_state=0),
], ids=lambda m: f"{type(m).__name__}-{m.get_params().get('max_depth')}")
def test_forests_and_trees_of_several_depths(model):
    x, y = data()
    model.fit(x[:1000], y[:1000])
    assert_matches_shap(model, x[1000:])


def test_single_leaf_trees_and_constant_features():
    x, y = data()
    x[:, 4] = 3.0  # constant: never split on
    stump = DecisionTreeClassifier(min_impurity_decrease=1.0).fit(x, y)
    assert stump.tree_.node_count == 1
    ours = assert_matches_shap(stump, x[:300])
    assert np.all(ours.shap == 0)
    forest = RandomForestClassifier(n_estimators=30, max_depth=3, random_state=0).fit(x, y)
    forest.estimators_[3] = stump  # a forest mixing single-leaf and split trees
    ours = assert_matches_shap(forest, x[:300])
    assert np.all(ours.shap[:, 4] == 0)


def test_feature_split_twice_on_one_path():
    rng = np.random.default_rng(5)
    x = rng.uniform(-3, 3, size=(2000, 3))
    y = ((np.abs(x[:, 0]) < 1) ^ (x[:, 1] > 0.5)).astype(int)  # a band in x0 needs two splits on it
    model = DecisionTreeClassifier(max_depth=6, random_state=0).fit(x, y)
    tree = model.tree_

    def repeats(node, seen):
        if tree.children_left[node] < 0:
            return False
        f = tree.feature[node]
        return f in seen or any(repeats(c, seen | {f}) for c in (tree.children_left[node], tree.children_right[node]))

    assert repeats(0, frozenset())
    assert_matches_shap(model, x[:400])


def test_records_exactly_on_thresholds_follow_scikit_learn():
    x, y = data()
    model = RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0).fit(x, y)
    thresholds = np.concatenate([e.tree_.threshold[e.tree_.feature == 0] for e in model.estimators_])
    probe = np.repeat(x[:1], len(thresholds), axis=0)
    probe[:, 0] = thresholds
    assert_matches_shap(model, probe)


def test_missing_values_imputed_by_the_handler_policy_match_shap_on_imputed_rows():
    x, y = data()
    medians = np.median(x, axis=0)
    model = RandomForestClassifier(n_estimators=15, max_depth=6, random_state=0).fit(x, y)
    holes = x[:200].copy()
    holes[::3, 1] = np.nan
    holes[::5, 3] = np.nan
    imputed = np.where(np.isnan(holes), medians, holes)
    assert_matches_shap(model, imputed)
    ensemble = json.loads(canonical_json(export_ensemble(model)))
    with pytest.raises(ValueError, match="finite"):
        TreeEnsembleExplainer(ensemble, x.shape[1]).explain(holes)


def test_malformed_ensembles_are_refused():
    x, y = data()
    ensemble = export_ensemble(DecisionTreeClassifier(max_depth=3).fit(x, y))
    with pytest.raises(ModelFormatError, match="feature index"):
        TreeEnsembleExplainer(ensemble, 2)
    broken = json.loads(json.dumps(ensemble))
    broken["trees"][0]["cover"] = broken["trees"][0]["cover"][:-1]
    with pytest.raises(ModelFormatError, match="cover"):
        TreeEnsembleExplainer(broken, x.shape[1])
    with pytest.raises(ModelFormatError, match="non-empty"):
        TreeEnsembleExplainer({"aggregation": "mean", "trees": []}, x.shape[1])


def test_paths_with_more_conditions_than_a_byte_holds():
    rng = np.random.default_rng(9)
    x = rng.normal(size=(3000, 12))
    y = (rng.random(3000) < 1 / (1 + np.exp(-x.sum(axis=1)))).astype(int)
    model = DecisionTreeClassifier(max_depth=14, min_samples_leaf=2, random_state=0).fit(x, y)
    explainer = TreeEnsembleExplainer(json.loads(canonical_json(export_ensemble(model))), x.shape[1])
    assert explainer._pattern_dtype != np.uint8  # some leaf reads 9+ distinct features
    assert_matches_shap(model, x[:300])


def test_units_share_work_between_leaves():
    x, y = data()
    model = RandomForestClassifier(n_estimators=20, max_depth=6, max_leaf_nodes=30, random_state=0).fit(x, y)
    explainer = TreeEnsembleExplainer(export_ensemble(model), x.shape[1])
    leaf_slots = sum(len(set(path)) for path in _leaf_feature_paths(model))
    assert explainer._slot_unit.size < 0.8 * leaf_slots


def _leaf_feature_paths(model):
    for estimator in model.estimators_:
        tree = estimator.tree_
        stack = [(0, ())]
        while stack:
            node, path = stack.pop()
            if tree.children_left[node] < 0:
                if tree.value[node, 0, 1] != 0:
                    yield path
                continue
            for child in (tree.children_left[node], tree.children_right[node]):
                stack.append((child, path + (tree.feature[node],)))


def test_all_zero_leaves_and_hand_written_trees():
    zero = {"children_left": [1, -1, -1], "children_right": [2, -1, -1], "feature": [0, -2, -2],
            "threshold": [0.5, -2.0, -2.0], "value": [0.0, 0.0, 0.0], "cover": [10.0, 4.0, 6.0]}
    result = TreeEnsembleExplainer({"aggregation": "mean", "trees": [zero]}, 2).explain(np.array([[0.1, 1.0]]))
    assert result.probability.tolist() == [0.0] and result.shap.tolist() == [[0.0, 0.0]] and result.base_value == 0
    # One split: SHAP of the split feature is (leaf value - expected value), by hand.
    split = dict(zero, value=[0.42, 0.3, 0.5])
    explainer = TreeEnsembleExplainer({"aggregation": "mean", "trees": [split]}, 2)
    assert explainer.base_value == pytest.approx(0.3 * 0.4 + 0.5 * 0.6)
    result = explainer.explain(np.array([[0.5, 7.0], [0.6, 7.0]]))
    np.testing.assert_allclose(result.shap, [[0.3 - 0.42, 0.0], [0.5 - 0.42, 0.0]], atol=1e-15)
    np.testing.assert_allclose(result.probability, [0.3, 0.5], atol=1e-15)
    cyclic = dict(split, children_left=[1, 0, -1])
    with pytest.raises(ModelFormatError, match="child index"):
        TreeEnsembleExplainer({"aggregation": "mean", "trees": [cyclic]}, 2)


def test_tables_beyond_the_memory_budget_are_refused(monkeypatch):
    import explainer

    x, y = data()
    model = DecisionTreeClassifier(max_depth=8, random_state=0).fit(x, y)
    monkeypatch.setattr(explainer, "MAX_TABLE_ENTRIES", 100)
    with pytest.raises(ModelFormatError, match="lower max_depth"):
        TreeEnsembleExplainer(export_ensemble(model), x.shape[1])
