"""The estimators pipe trains by name, and the Pipeline that feeds them the raw columns.

Categories (and booleans) are ordinal-encoded, so every split stays on the original column and
its SHAP value is exact for it: forests and scikit-learn gradient boosting split on the codes,
HistGradientBoosting and LightGBM use native categorical splits on them. Estimators that cannot
take missing values get an imputer per column (median, most frequent category) in front.
"""

from __future__ import annotations

import numpy as np

ESTIMATORS = ("random_forest", "extra_trees", "decision_tree", "gradient_boosting", "hist_gradient_boosting",
              "lightgbm", "xgboost")
# Estimators whose trees route missing values themselves (scikit-learn >= 1.4 trees and forests too).
NATIVE_MISSING = {"random_forest", "extra_trees", "decision_tree", "hist_gradient_boosting", "lightgbm", "xgboost"}
NATIVE_CATEGORIES = {"hist_gradient_boosting", "lightgbm"}
# Library settings that are not the model's: LightGBM's log level. A user's hyperparameters reach the
# estimator as written, over the library's own defaults.
DEFAULT_PARAMS = {"lightgbm": {"verbose": -1}}
# Levels a categorical column may have: HistGradientBoosting's bins, else a bound that catches ids.
MAX_CATEGORIES = 1000


class UsageError(Exception):
    """Bad configuration or arguments (exit code 2)."""


def max_categories(estimator: str, params: dict) -> int:
    if estimator == "hist_gradient_boosting":
        return int(params.get("max_bins", 255))
    return MAX_CATEGORIES


def make_estimator(name: str, task: str, params: dict, seed: int):
    """The estimator for ``name`` and ``task``, with the user's hyperparameters passed through."""
    classify = task != "regression"
    params = {**DEFAULT_PARAMS.get(name, {}), **params}
    if name in ("random_forest", "extra_trees", "gradient_boosting", "hist_gradient_boosting"):
        from sklearn import ensemble

        kind = {"random_forest": "RandomForest", "extra_trees": "ExtraTrees", "gradient_boosting": "GradientBoosting",
                "hist_gradient_boosting": "HistGradientBoosting"}[name]
        cls = getattr(ensemble, kind + ("Classifier" if classify else "Regressor"))
    elif name == "decision_tree":
        from sklearn import tree

        cls = tree.DecisionTreeClassifier if classify else tree.DecisionTreeRegressor
    elif name == "lightgbm":
        import lightgbm

        cls = lightgbm.LGBMClassifier if classify else lightgbm.LGBMRegressor
    elif name == "xgboost":
        try:
            import xgboost
        except ImportError as err:
            raise UsageError("model.estimator 'xgboost' needs the xgboost package in the training environment; "
                             "the env task installs python/requirements-xgboost.txt for it (run `npx pipe env` "
                             "with a package index or wheelhouse that has xgboost)") from err
        cls = xgboost.XGBClassifier if classify else xgboost.XGBRegressor
    else:
        raise UsageError(f"unknown estimator {name!r}; choose one of: {', '.join(ESTIMATORS)}")
    try:
        return cls(**params, random_state=seed)
    except TypeError as err:
        raise UsageError(f"invalid hyperparameters for {cls.__name__}: {err}") from err


def make_pipeline(name: str, estimator, features: list[str], kinds: dict[str, str], categories: dict[str, list]):
    """Pipeline(ColumnTransformer with one step per column, in the frame's order; the estimator)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline as chain
    from sklearn.preprocessing import OrdinalEncoder

    impute = name not in NATIVE_MISSING
    steps = []
    for feature in features:
        if kinds[feature] == "number":
            step = SimpleImputer(strategy="median") if impute else "passthrough"
        else:
            encoder = OrdinalEncoder(categories=[categories[feature]], handle_unknown="use_encoded_value",
                                     unknown_value=np.nan, dtype=np.float64)
            step = chain(encoder, SimpleImputer(strategy="most_frequent")) if impute else encoder
        steps.append((f"column{len(steps)}", step, [feature]))
    encode = ColumnTransformer(steps, remainder="drop", verbose_feature_names_out=False)
    if name == "hist_gradient_boosting":
        estimator.set_params(categorical_features=[kinds[f] == "category" for f in features])
    return Pipeline([("encode", encode), ("model", estimator)])


def fit_params(name: str, features: list[str], kinds: dict[str, str]) -> dict:
    if name == "lightgbm":
        return {"model__categorical_feature": [i for i, f in enumerate(features) if kinds[f] == "category"]}
    return {}
