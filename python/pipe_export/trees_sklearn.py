"""scikit-learn adapter: fitted tree estimators (scikit-learn 1.6) to the ``ensemble`` form of model_format.py.

What the estimators compute, and so what the document holds:

* Trees and forests (DecisionTree*, RandomForest*, ExtraTrees*): the mean of the trees' leaf values
  (a classifier's leaf class fractions), each tree comparing ``float32(x) <= threshold``. A binary
  classifier has one output (the probability of classes[1]), a multiclass one K outputs (a copy of
  every tree per class holding that class's fraction), a regressor one. Leaf values are divided by
  the number of trees, so the margin is the prediction itself (link identity).
* GradientBoosting*: ``init + learning_rate * sum(tree values)`` in float32 comparisons; init is the
  init estimator's raw prediction (log-odds of the prior, per-class log-probabilities, the mean or
  quantile). The exponential loss's probability is ``expit(2 * raw)``: values and init are doubled so
  that the margin is the log-odds.
* HistGradientBoosting*: ``baseline + sum(leaf values)`` (learning rate included) in float64. When
  categorical features are declared, scikit-learn 1.6 puts an OrdinalEncoder in front that moves
  the categorical columns first and maps each known category value to its rank (unknown values to
  NaN); the exporter maps feature indices and category codes back to the estimator's input columns.

Missing values (NaN) follow ``tree_.missing_go_to_left`` / the predictor nodes' ``missing_go_to_left``;
``native_missing`` is True where the fitted estimator's predict itself accepts NaN (trees, forests,
HistGradientBoosting), False for GradientBoosting*.
"""

from __future__ import annotations

import warnings

import numpy as np

from .model_format import ExportError

SUPPORTED = ("scikit-learn DecisionTreeClassifier, DecisionTreeRegressor, RandomForestClassifier, "
             "RandomForestRegressor, ExtraTreesClassifier, ExtraTreesRegressor, GradientBoostingClassifier, "
             "GradientBoostingRegressor, HistGradientBoostingClassifier, HistGradientBoostingRegressor "
             "(single output)")
ORACLE = "shap.TreeExplainer(tree_path_dependent)"
GB_CLASSIFIER_LOSSES = ("log_loss", "exponential")
GB_REGRESSOR_LOSSES = ("squared_error", "absolute_error", "huber", "quantile")
HGB_REGRESSOR_LOSSES = ("squared_error", "absolute_error", "quantile")
# DummyClassifier / DummyRegressor strategies whose prediction is one constant (GradientBoosting's init).
CONSTANT_INIT_STRATEGIES = ("prior", "most_frequent", "constant", "mean", "median", "quantile")
# Category codes HistGradientBoosting can see: its categorical features have at most max_bins (<= 255)
# levels, and the format's codes for them are 0..n_categories-1.
CATEGORY_CODES = 255
# A split that sends every number one way and only NaN the other has threshold +inf in scikit-learn;
# JSON has no infinity, and for the finite records both estimators accept the largest double is the same.
LARGEST = float(np.finfo(np.float64).max)


def export_sklearn(estimator) -> dict:
    """The adapter dict of model_format.py for a fitted scikit-learn tree estimator."""
    from sklearn import ensemble, tree

    if isinstance(estimator, (ensemble.HistGradientBoostingClassifier, ensemble.HistGradientBoostingRegressor)):
        export = _export_hist_gradient_boosting
    elif isinstance(estimator, (ensemble.GradientBoostingClassifier, ensemble.GradientBoostingRegressor)):
        export = _export_gradient_boosting
    elif isinstance(estimator, (ensemble.RandomForestClassifier, ensemble.RandomForestRegressor,
                                ensemble.ExtraTreesClassifier, ensemble.ExtraTreesRegressor,
                                tree.DecisionTreeClassifier, tree.DecisionTreeRegressor)):
        export = _export_forest
    else:
        raise ExportError(f"cannot export {type(estimator).__name__}; supported: {SUPPORTED}")
    _check_fitted(estimator)
    return export(estimator)


def reference_explanation(model, X):
    """shap's own path-dependent TreeSHAP for ``model`` on ``X``, in the document's space.

    Returns ``(shap (n, K, F), expected_value (K,), margin (n, K))`` where the margin is the
    estimator's own output in the document's space: predict_proba (class 1 for binary) for trees
    and forest classifiers, predict for regressors, decision_function for boosted classifiers (times
    2 for the exponential loss).

    Trustworthiness (checked against a brute-force Shapley oracle in the tests):

    * trees, forests, and GradientBoosting* with the default init (binary log_loss or a regressor):
      shap.TreeExplainer's own parsing; exact, NaN rows included (shap 0.51 routes NaN with
      ``missing_go_to_left``).
    * other GradientBoosting* (multiclass, the exponential loss, any other init): shap refuses them
      or gets the offset wrong, so its TreeSHAP runs on the estimator's per-class trees given as a
      shap dict model (values times learning rate, offset from scikit-learn's init prediction).
    * HistGradientBoosting* without categorical features: shap's parsing, exact.
    * HistGradientBoosting* with categorical features: None. shap reads categorical splits as
      numeric thresholds and the feature indices of the encoder-reordered columns; the caller must
      fall back to the prediction and additivity checks.
    """
    import shap
    from sklearn import ensemble

    adapted = export_sklearn(model)
    n_outputs = adapted["ensemble"]["n_outputs"]
    if isinstance(model, (ensemble.HistGradientBoostingClassifier, ensemble.HistGradientBoostingRegressor)):
        if model.is_categorical_ is not None and model.is_categorical_.any():
            return None
        explainer = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent", model_output="raw")
        margin = _margin(model, X, adapted)
        return _shap_arrays(explainer, X, n_outputs, adapted["task"], classifier_probability=False) + (margin,)
    if isinstance(model, (ensemble.GradientBoostingClassifier, ensemble.GradientBoostingRegressor)):
        return _gradient_boosting_reference(model, X, adapted)
    explainer = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
    probability = adapted["task"] != "regression"
    return _shap_arrays(explainer, X, n_outputs, adapted["task"], probability) + (_margin(model, X, adapted),)


# --- trees and forests -------------------------------------------------------------------------------


def _export_forest(estimator) -> dict:
    from sklearn.base import is_classifier

    members = list(getattr(estimator, "estimators_", [estimator]))
    _single_output(estimator)
    scale = 1.0 / len(members)
    if is_classifier(estimator):
        classes = _classes(estimator)
        task, n_outputs = _classification_task(classes)
        trees = []
        for member in members:
            fractions = _class_fractions(member.tree_)
            # Binary: the probability of classes[1] only; multiclass: one copy of the tree per class.
            wanted = [1] if task == "binary" else range(n_outputs)
            trees.extend(_sklearn_tree(member.tree_, fractions[:, k] * scale, output=i)
                         for i, k in enumerate(wanted))
        shap_output = "probability"
    else:
        classes, task, n_outputs, shap_output = None, "regression", 1, "raw"
        trees = [_sklearn_tree(member.tree_, member.tree_.value[:, 0, 0] * scale, output=0) for member in members]
    return _adapter(task, classes, "identity", shap_output, _accepts_nan(estimator),
                    n_outputs, [0.0] * n_outputs, "float32", trees)


def _class_fractions(tree) -> np.ndarray:
    """(nodes, classes): the leaf class fractions predict_proba returns (it renormalises each row)."""
    values = tree.value[:, 0, :]
    totals = values.sum(axis=1, keepdims=True)
    return np.divide(values, totals, out=np.zeros_like(values), where=totals > 0)


# --- GradientBoosting* ---------------------------------------------------------------------------------


def _export_gradient_boosting(estimator) -> dict:
    from sklearn.base import is_classifier

    _check_constant_init(estimator)
    stages = estimator.estimators_  # (n_stages, K) DecisionTreeRegressor
    init = _gradient_boosting_init(estimator)
    scale = estimator.learning_rate
    if is_classifier(estimator):
        if estimator.loss not in GB_CLASSIFIER_LOSSES:
            raise ExportError(f"GradientBoostingClassifier loss {estimator.loss!r} is not supported; "
                              f"supported: {', '.join(GB_CLASSIFIER_LOSSES)}")
        classes = _classes(estimator)
        task, n_outputs = _classification_task(classes)
        link = "sigmoid" if task == "binary" else "softmax"
        shap_output = "log_odds"
        if estimator.loss == "exponential":
            # predict_proba = expit(2 * raw): doubling values and init makes the margin the log-odds.
            scale, init = 2.0 * scale, [2.0 * v for v in init]
    else:
        if estimator.loss not in GB_REGRESSOR_LOSSES:
            raise ExportError(f"GradientBoostingRegressor loss {estimator.loss!r} is not supported; "
                              f"supported: {', '.join(GB_REGRESSOR_LOSSES)}")
        classes, task, n_outputs, link, shap_output = None, "regression", 1, "identity", "raw"
    if stages.shape[1] != n_outputs:
        raise ExportError(f"expected {n_outputs} tree(s) per stage, the estimator has {stages.shape[1]}")
    trees = [_sklearn_tree(stage[k].tree_, stage[k].tree_.value[:, 0, 0] * scale, output=k)
             for stage in stages for k in range(n_outputs)]
    # GradientBoosting's predict refuses NaN in scikit-learn 1.6: records must be imputed first.
    return _adapter(task, classes, link, shap_output, False, n_outputs, init, "float32", trees)


def _check_constant_init(estimator) -> None:
    """Only an init that predicts one constant fits the format's ``init``; others depend on x."""
    init = estimator.init_
    if isinstance(init, str) and init == "zero":
        return
    strategy = getattr(init, "strategy", None)
    if type(init).__name__ in ("DummyClassifier", "DummyRegressor") and strategy in CONSTANT_INIT_STRATEGIES:
        return
    raise ExportError(f"GradientBoosting init {init!r} is not supported; supported: init=None (the default), "
                      f"'zero', or a DummyClassifier / DummyRegressor with strategy in "
                      f"{', '.join(CONSTANT_INIT_STRATEGIES)}")


def _gradient_boosting_init(estimator) -> list[float]:
    """The raw prediction of the init estimator, computed by scikit-learn's own code on one record
    (it is constant: _check_constant_init), so the clipping and the link are exactly predict's."""
    probe = np.zeros((1, estimator.n_features_in_), dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # fitted with feature names, probed with an array
        raw = estimator._raw_predict_init(probe)
    return [float(v) for v in np.asarray(raw, dtype=np.float64)[0]]


def _gradient_boosting_reference(model, X, adapted: dict):
    import shap

    n_outputs = adapted["ensemble"]["n_outputs"]
    margin = _margin(model, X, adapted)
    # shap's own parsing takes the offset from the default init only (the prior's log-odds, the constant).
    native = adapted["task"] != "multiclass" and model.loss != "exponential" and model.init is None
    if native:
        explainer = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
        return _shap_arrays(explainer, X, n_outputs, adapted["task"], False) + (margin,)
    # shap refuses multiclass GradientBoosting and init='zero', and misreads the exponential loss's
    # offset: run its TreeSHAP on the estimator's own trees per class instead.
    factor = 2.0 if model.loss == "exponential" else 1.0
    init = np.asarray(_gradient_boosting_init(model)) * factor
    x = np.asarray(X, dtype=np.float64)
    values = np.zeros((x.shape[0], n_outputs, x.shape[1]))
    expected = np.zeros(n_outputs)
    for k in range(n_outputs):
        trees = [_shap_dict_tree(stage[k].tree_, model.learning_rate * factor) for stage in model.estimators_]
        explainer = shap.TreeExplainer({"trees": trees, "base_offset": init[k], "input_dtype": np.float32,
                                        "tree_output": "raw_value"}, feature_perturbation="tree_path_dependent")
        values[:, k, :] = explainer.shap_values(x)
        expected[k] = float(np.ravel(explainer.expected_value)[0])
    return values, expected, margin


def _shap_dict_tree(tree, scale: float) -> dict:
    return {"children_left": tree.children_left, "children_right": tree.children_right,
            "children_default": np.where(tree.missing_go_to_left, tree.children_left, tree.children_right),
            "features": tree.feature, "thresholds": tree.threshold,
            "values": tree.value[:, 0, :1] * scale, "node_sample_weight": tree.weighted_n_node_samples}


# --- HistGradientBoosting* -----------------------------------------------------------------------------


def _export_hist_gradient_boosting(estimator) -> dict:
    from sklearn.base import is_classifier

    if is_classifier(estimator):
        if estimator.loss != "log_loss":
            raise ExportError(f"HistGradientBoostingClassifier loss {estimator.loss!r} is not supported; "
                              "supported: log_loss")
        classes = _classes(estimator)
        task, n_outputs = _classification_task(classes)
        link = "sigmoid" if task == "binary" else "softmax"
        shap_output = "log_odds"
    else:
        if estimator.loss not in HGB_REGRESSOR_LOSSES:
            raise ExportError(f"HistGradientBoostingRegressor loss {estimator.loss!r} is not supported (its "
                              f"prediction is not the raw sum of the trees); supported: "
                              f"{', '.join(HGB_REGRESSOR_LOSSES)}")
        classes, task, n_outputs, link, shap_output = None, "regression", 1, "identity", "raw"
    if estimator.n_trees_per_iteration_ != n_outputs:
        raise ExportError(f"expected {n_outputs} tree(s) per iteration, the estimator has "
                          f"{estimator.n_trees_per_iteration_}")
    init = [float(v) for v in np.asarray(estimator._baseline_prediction, dtype=np.float64).ravel()]
    columns, categories = _hist_input_columns(estimator)
    trees = [_predictor_tree(predictor, k, columns, categories)
             for iteration in estimator._predictors for k, predictor in enumerate(iteration)]
    return _adapter(task, classes, link, shap_output, True, n_outputs, init, "float64", trees)


def _hist_input_columns(estimator) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """For each column the predictors read: the estimator's input column, and for categorical ones
    the input value (category code) of each rank the OrdinalEncoder in front gives."""
    preprocessor = estimator._preprocessor
    n_in = estimator.n_features_in_
    if preprocessor is None:
        return np.arange(n_in), {}
    # The ColumnTransformer's output: the encoder's columns, then the numerical ones, in that order.
    columns, categories = [], {}
    for name, transformer, selection in preprocessor.transformers_:
        if name not in preprocessor.output_indices_ or transformer == "drop":
            continue
        selected = np.arange(n_in)[np.asarray(selection)] if np.asarray(selection).dtype == bool \
            else np.asarray(selection, dtype=np.intp).reshape(-1)
        if name == "encoder":
            for column, levels in zip(selected, transformer.categories_):
                categories[len(columns)] = _category_codes(int(column), levels)
                columns.append(int(column))
        else:
            columns.extend(int(c) for c in selected)
    if len(columns) != n_in:
        raise ExportError(f"cannot map HistGradientBoosting's {len(columns)} encoded columns back to its "
                          f"{n_in} input columns")
    return np.asarray(columns), categories


def _category_codes(column: int, levels) -> np.ndarray:
    """The encoder's known values of a categorical column, which must be codes 0..CATEGORY_CODES-1."""
    try:
        values = np.asarray([v for v in levels if not (isinstance(v, float) and np.isnan(v))], dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ExportError(f"HistGradientBoosting categorical column {column} holds non-numeric values; "
                          f"supported: integer category codes 0..{CATEGORY_CODES - 1} (ordinal-encode first)") from err
    if values.size and not (np.all(values == np.round(values)) and values.min() >= 0
                            and values.max() < CATEGORY_CODES):
        raise ExportError(f"HistGradientBoosting categorical column {column} holds values other than integer "
                          f"codes 0..{CATEGORY_CODES - 1}: {values[:5].tolist()}")
    return values.astype(np.int64)


def _predictor_tree(predictor, output: int, columns: np.ndarray, categories: dict[int, np.ndarray]) -> dict:
    nodes = predictor.nodes
    bitsets = predictor.raw_left_cat_bitsets
    is_leaf = nodes["is_leaf"].astype(bool)
    left = np.where(is_leaf, -1, nodes["left"].astype(np.int64))
    right = np.where(is_leaf, -1, nodes["right"].astype(np.int64))
    order, new_id = _preorder(left, right)
    out = _empty_tree(output)
    has_cat = False
    for node in order:
        record = nodes[node]
        if is_leaf[node]:
            _append_leaf(out, float(record["value"]), float(record["count"]))
            continue
        encoded = int(record["feature_idx"])
        missing_left = int(record["missing_go_to_left"])
        cat_left = None
        if record["is_categorical"]:
            cat_left = _left_codes(bitsets[record["bitset_idx"]], categories[encoded], bool(missing_left))
            has_cat = True
        _append_split(out, new_id[left[node]], new_id[right[node]], int(columns[encoded]),
                      0.0 if cat_left is not None else _finite(record["num_threshold"]), missing_left, cat_left,
                      float(record["count"]))
    if not has_cat:
        del out["cat_left"]
    return out


def _left_codes(bitset: np.ndarray, known: np.ndarray, missing_left: bool) -> list[int]:
    """The input codes a categorical node sends left.

    The bitset holds encoder ranks (bit r of word r // 32); rank r is the input code known[r]. An
    input code the encoder has not seen becomes NaN and so takes the missing-value branch: when
    that is the left child, every unseen code below CATEGORY_CODES is listed as going left too.
    """
    ranks = [r for r in range(known.size) if (int(bitset[r // 32]) >> (r % 32)) & 1]
    codes = {int(known[r]) for r in ranks}
    if missing_left:
        codes |= set(range(CATEGORY_CODES)) - {int(c) for c in known}
    return sorted(codes)


# --- shared ---------------------------------------------------------------------------------------------


def _sklearn_tree(tree, leaf_values: np.ndarray, output: int) -> dict:
    left, right = tree.children_left.astype(np.int64), tree.children_right.astype(np.int64)
    order, new_id = _preorder(left, right)
    out = _empty_tree(output)
    missing = tree.missing_go_to_left
    for node in order:
        if left[node] == -1:
            _append_leaf(out, float(leaf_values[node]), float(tree.weighted_n_node_samples[node]))
        else:
            _append_split(out, new_id[left[node]], new_id[right[node]], int(tree.feature[node]),
                          _finite(tree.threshold[node]), int(missing[node]), None,
                          float(tree.weighted_n_node_samples[node]))
    del out["cat_left"]
    return out


def _finite(threshold) -> float:
    return float(np.clip(threshold, -LARGEST, LARGEST))


def _preorder(left: np.ndarray, right: np.ndarray) -> tuple[list[int], dict[int, int]]:
    """Nodes reachable from the root in pre-order, and their new ids: every child after its parent."""
    order, new_id, stack = [], {}, [0]
    while stack:
        node = stack.pop()
        if not 0 <= node < left.size or node in new_id:
            raise ExportError(f"malformed tree: node {node} is out of range or reached twice")
        new_id[node] = len(order)
        order.append(node)
        if left[node] != -1:
            stack.extend((int(right[node]), int(left[node])))
    return order, new_id


def _empty_tree(output: int) -> dict:
    return {"output": output, **{k: [] for k in ("children_left", "children_right", "feature", "threshold",
                                                 "missing_left", "cat_left", "value", "cover")}}


def _append_leaf(out: dict, value: float, cover: float) -> None:
    for key, item in (("children_left", -1), ("children_right", -1), ("feature", -1), ("threshold", 0.0),
                      ("missing_left", 0), ("cat_left", None), ("value", value), ("cover", cover)):
        out[key].append(item)


def _append_split(out: dict, left: int, right: int, feature: int, threshold: float, missing_left: int,
                  cat_left: list[int] | None, cover: float) -> None:
    for key, item in (("children_left", left), ("children_right", right), ("feature", feature),
                      ("threshold", threshold), ("missing_left", missing_left), ("cat_left", cat_left),
                      ("value", 0.0), ("cover", cover)):
        out[key].append(item)


def _adapter(task, classes, link, shap_output, native_missing, n_outputs, init, compare, trees) -> dict:
    return {"task": task, "classes": classes, "link": link, "shap_output": shap_output,
            "native_missing": bool(native_missing),
            "ensemble": {"n_outputs": n_outputs, "init": [float(v) for v in init], "compare": compare,
                         "trees": trees}}


def _check_fitted(estimator) -> None:
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(estimator)
    except NotFittedError as err:
        raise ExportError(f"{type(estimator).__name__} is not fitted: fit it before exporting") from err


def _single_output(estimator) -> None:
    if getattr(estimator, "n_outputs_", 1) != 1:
        raise ExportError(f"{type(estimator).__name__} with {estimator.n_outputs_} targets is not supported; "
                          f"supported: {SUPPORTED}")


def _classes(estimator) -> list:
    """The estimator's labels as JSON values: numpy scalars become Python ints, floats, strs, bools."""
    return [v.item() if isinstance(v, np.generic) else v for v in estimator.classes_]


def _classification_task(classes: list) -> tuple[str, int]:
    if len(classes) < 2:
        raise ExportError(f"a classifier fitted on {len(classes)} class cannot be exported; it needs 2 or more")
    return ("binary", 1) if len(classes) == 2 else ("multiclass", len(classes))


def _accepts_nan(estimator) -> bool:
    """Whether this fitted estimator's predict takes NaN (scikit-learn 1.6: trees and forests do, except
    with monotonic constraints or criteria without missing-value support): asked of predict itself."""
    probe = np.full((1, estimator.n_features_in_), np.nan)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            estimator.predict(probe)
    except ValueError:
        return False
    return True


def _margin(model, X, adapted: dict) -> np.ndarray:
    """The estimator's own (n, K) output in the document's margin space."""
    if adapted["link"] == "identity":
        if adapted["task"] == "regression":
            return np.asarray(model.predict(X), dtype=np.float64).reshape(-1, 1)
        proba = np.asarray(model.predict_proba(X), dtype=np.float64)
        return proba[:, 1:] if adapted["task"] == "binary" else proba
    raw = np.asarray(model.decision_function(X), dtype=np.float64).reshape(len(X), -1)
    return 2.0 * raw if getattr(model, "loss", None) == "exponential" else raw


def _shap_arrays(explainer, X, n_outputs: int, task: str, classifier_probability: bool):
    """shap's (n, F) / (n, F, C) values and expected values as (n, K, F) and (K,) for the document's outputs."""
    values = np.asarray(explainer.shap_values(X), dtype=np.float64)
    expected = np.asarray(explainer.expected_value, dtype=np.float64).reshape(-1)
    if values.ndim == 2:
        values = values[:, :, None]
    if classifier_probability and task == "binary":
        # shap explains both classes' probabilities; the document's single output is classes[1].
        values, expected = values[:, :, 1:], expected[1:]
    if values.shape[2] != n_outputs or expected.size != n_outputs:
        raise ExportError(f"shap returned {values.shape[2]} output(s) for a model with {n_outputs}")
    return values.transpose(0, 2, 1), expected
