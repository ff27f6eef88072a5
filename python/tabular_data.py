"""A user's CSV as a training table: columns kept as named, types inferred, the task read off the target.

Every column is read as text first, so nothing is guessed by the CSV parser: a column whose
non-missing values all parse as finite numbers is a number, one holding only true/false is a
boolean, anything else is a category (its strings kept exactly).
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

MISSING_TOKENS = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "None")
BOOLEAN_TOKENS = {"true": True, "false": False}
# A target with at most this many distinct whole numbers (or any strings) is a set of classes.
MAX_CLASSES = 50


class DataError(Exception):
    """The input data cannot be used; the message names the column or line at fault."""


class Table(NamedTuple):
    frame: pd.DataFrame  # features (float, bool/NaN object, or str/NaN object) then the target
    features: list[str]
    kinds: dict[str, str]  # feature -> 'number' | 'boolean' | 'category'
    target: str
    sha256: str


def _column_kind(text: pd.Series, missing: pd.Series) -> tuple[str, pd.Series]:
    present = text[~missing]
    numbers = pd.to_numeric(present, errors="coerce")
    if numbers.notna().all() and np.isfinite(numbers.to_numpy(dtype=np.float64)).all():
        return "number", pd.to_numeric(text.where(~missing), errors="coerce").astype(np.float64)
    lowered = present.str.lower()
    if lowered.isin(BOOLEAN_TOKENS).all():
        return "boolean", text.str.lower().map(BOOLEAN_TOKENS).where(~missing, np.nan).astype(object)
    return "category", text.where(~missing, np.nan).astype(object)


def read_table(path: Path, target: str, features: list[str] | None = None,
               exclude: list[str] | None = None) -> Table:
    """Reads the CSV at ``path``: ``target`` plus the feature columns (all others unless listed)."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"cannot read {path}: {err.strerror}") from err
    if not raw.strip():
        raise DataError(f"{path} is empty: expected a header line and data rows")
    try:
        text = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise DataError(f"{path} is not a readable CSV: {err}") from err
    unnamed = [c for c in text.columns if c.strip() == "" or c.startswith("Unnamed:")]
    # A leading unnamed column is a row index written by pandas (as in Kaggle's cs-training.csv).
    if unnamed and text.columns[0] in unnamed:
        text = text.drop(columns=[text.columns[0]])
        unnamed = unnamed[1:]
    if unnamed:
        raise DataError(f"{path}: column {text.columns.get_loc(unnamed[0]) + 1} has no name")
    header = next(csv.reader(io.StringIO(raw.decode("utf-8", "replace"))), [])
    repeated = sorted({c for c in header if header.count(c) > 1 and c.strip()})
    if repeated:
        raise DataError(f"{path}: column {repeated[0]!r} appears more than once; column names must be unique")
    if text.empty:
        raise DataError(f"{path} has a header but no data rows")
    if target not in text.columns:
        raise DataError(f"{path}: target column {target!r} not found (columns: {', '.join(text.columns)})")
    names = _feature_names(path, list(text.columns), target, features, exclude or [])
    frame, kinds = {}, {}
    for name in names:
        column = text[name].str.strip()
        missing = column.isin(MISSING_TOKENS)
        if missing.all():
            raise DataError(f"{path}: feature column {name!r} is empty (no values in any row); "
                            "drop it with model.exclude")
        kinds[name], frame[name] = _column_kind(column, missing)
    label = text[target].str.strip()
    absent = label.isin(MISSING_TOKENS)
    if absent.any():
        row = int(np.argmax(absent.to_numpy()))
        raise DataError(f"{path} line {row + 2}: target {target!r} is missing ({absent.sum()} rows lack it); "
                        "remove those rows or choose another target")
    result = pd.DataFrame(frame, columns=names)
    result[target] = _target_values(label)
    if result[target].nunique() < 2:
        raise DataError(f"{path}: target {target!r} has a single value ({result[target].iloc[0]!r}); "
                        "a model needs at least two")
    return Table(result, names, kinds, target, hashlib.sha256(raw).hexdigest())


def _feature_names(path: Path, columns: list[str], target: str, features: list[str] | None,
                   exclude: list[str]) -> list[str]:
    unknown = [c for c in [*(features or []), *exclude] if c not in columns]
    if unknown:
        raise DataError(f"{path}: column {unknown[0]!r} named in the model config is not in the file "
                        f"(columns: {', '.join(columns)})")
    names = list(features) if features else [c for c in columns if c != target]
    names = [c for c in names if c not in exclude]
    if target in names:
        raise DataError(f"{path}: the target {target!r} cannot also be a feature")
    if not names:
        raise DataError(f"{path}: no feature columns left besides the target {target!r}")
    return names


def _target_values(label: pd.Series) -> pd.Series:
    """Numbers stay numbers (whole ones as int), true/false booleans, anything else strings."""
    numbers = pd.to_numeric(label, errors="coerce")
    if numbers.notna().all():
        values = numbers.to_numpy(dtype=np.float64)
        if np.all(values == np.round(values)):
            return pd.Series(values.astype(np.int64), index=label.index)
        return pd.Series(values, index=label.index)
    if label.str.lower().isin(BOOLEAN_TOKENS).all():
        return label.str.lower().map(BOOLEAN_TOKENS).astype(bool)
    return label.astype(object)


def infer_task(target: pd.Series) -> str:
    """Two values: binary; a few whole numbers, booleans or strings: multiclass; otherwise regression."""
    distinct = target.nunique()
    if distinct == 2:
        return "binary"
    if target.dtype == object or target.dtype == bool:
        return "multiclass"
    if np.issubdtype(target.dtype, np.integer) and distinct <= MAX_CLASSES:
        return "multiclass"
    return "regression"


def frame_sha256(frame: pd.DataFrame) -> str:
    """Hash of a canonical CSV rendering, for data that has no file of its own."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, float_format="%.17g", lineterminator="\n")
    return hashlib.sha256(buffer.getvalue().encode()).hexdigest()
