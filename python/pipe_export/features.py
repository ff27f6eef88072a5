"""What the function needs to turn a JSON record into the estimator's input row, read off the fitted model.

A model is either a bare tree estimator fitted on numeric columns, or a scikit-learn Pipeline of
one ColumnTransformer and the estimator, where each column is passed through, ordinal-encoded
(categories and booleans), median/mode-imputed, or both. One-hot encodings are refused: they
split a feature's SHAP value over several columns, and ordinal codes or native categorical
splits keep it exact for the original column.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from .model_format import ExportError


class InputColumn(NamedTuple):
    """One input column of the estimator, traced back to the original feature."""

    feature: str
    kind: str  # 'number' | 'boolean' | 'category'
    categories: list | None  # the encoder's categories (code = index), for boolean and category
    impute_value: float | None  # the encoded value a missing value becomes, when imputed in front


def split_pipeline(model) -> tuple[object | None, object]:
    """(column transformer or None, estimator) of a fitted model or Pipeline."""
    from sklearn.pipeline import Pipeline

    if not isinstance(model, Pipeline):
        return None, model
    steps = [step for _, step in model.steps if step not in (None, "passthrough")]
    if len(steps) == 1:
        return None, steps[0]
    if len(steps) != 2:
        raise ExportError("a Pipeline must hold one ColumnTransformer and then the tree estimator; "
                          f"this one has {len(steps)} steps")
    return steps[0], steps[1]


def input_columns(transformer, frame: pd.DataFrame, feature_names: list[str] | None = None) -> list[InputColumn]:
    """The estimator's input columns in order, from the transformer in front of it (or none)."""
    if transformer is None:
        names = feature_names or [str(c) for c in frame.columns]
        non_numeric = [n for n in names if n in frame and not pd.api.types.is_numeric_dtype(frame[n])]
        if non_numeric:
            raise ExportError(f"column {non_numeric[0]!r} is not numeric: encode categories with an OrdinalEncoder "
                              "in a ColumnTransformer in front of the estimator (a Pipeline)")
        return [InputColumn(n, "number", None, None) for n in names]
    from sklearn.compose import ColumnTransformer

    if not isinstance(transformer, ColumnTransformer):
        raise ExportError(f"the step in front of the estimator must be a ColumnTransformer, not "
                          f"{type(transformer).__name__}")
    import warnings

    # Indices (the remainder's, or the user's) refer to the columns the transformer was fitted on.
    fitted = [str(c) for c in getattr(transformer, "feature_names_in_", frame.columns)]
    columns: list[InputColumn] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # scikit-learn 1.6 on the remainder's index format
        fitted_steps = list(transformer.transformers_)
    for _, step, selected in fitted_steps:
        names = _selected_names(selected, fitted)
        if step == "drop" or not names:
            continue
        columns.extend(_encoded_columns(step, names))
    return columns


def _selected_names(selected, fitted: list[str]) -> list[str]:
    if isinstance(selected, str):
        return [selected]
    values = list(np.atleast_1d(selected))
    if values and isinstance(values[0], (bool, np.bool_)):
        return [c for c, keep in zip(fitted, values) if keep]
    if values and isinstance(values[0], (int, np.integer)):
        return [fitted[i] for i in values]
    return [str(v) for v in values]


def _encoded_columns(step, names: list[str]) -> list[InputColumn]:
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder

    parts = [s for _, s in step.steps] if isinstance(step, Pipeline) else [step]
    encoder, imputer = None, None
    for part in parts:
        # A fitted ColumnTransformer keeps 'passthrough' as an identity FunctionTransformer.
        if part == "passthrough" or (isinstance(part, FunctionTransformer) and part.func is None):
            continue
        if isinstance(part, OrdinalEncoder) and encoder is None and imputer is None:
            encoder = part
        elif isinstance(part, SimpleImputer) and imputer is None:
            imputer = part
        else:
            raise ExportError(f"cannot trace {type(part).__name__} back to the original columns: use "
                              "'passthrough', OrdinalEncoder and/or SimpleImputer per column "
                              "(one-hot encodings would split a feature's SHAP value)")
    if imputer is not None and len(imputer.statistics_) != len(names):
        raise ExportError("a SimpleImputer dropped columns (keep_empty_features=False with an empty column)")
    columns = []
    for i, name in enumerate(names):
        categories, kind = None, "number"
        if encoder is not None:
            categories = [_plain(c) for c in encoder.categories_[i] if not _is_missing(c)]
            kind = "boolean" if set(categories) <= {False, True} and categories else "category"
            if not np.isnan(float(encoder.encoded_missing_value)):
                raise ExportError(f"OrdinalEncoder for {name!r}: keep encoded_missing_value=np.nan")
        fill = None if imputer is None else float(imputer.statistics_[i])
        columns.append(InputColumn(name, kind, categories, fill))
    return columns


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _plain(value):
    """A JSON-native copy of a numpy scalar (categories come back as numpy objects)."""
    return value.item() if isinstance(value, np.generic) else value
