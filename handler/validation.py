"""Turns a POST /predict body into the model's input rows, or a RequestError naming what is wrong.

Each feature of model.json says how a JSON value becomes a number: a number as it is, a boolean
or a category as its code, null as the missing-value policy says (kept missing for the model's own
default branch, imputed, or refused). Messages show values as JSON writes them.
"""

from __future__ import annotations

import json
import math
from operator import itemgetter
from typing import NamedTuple

import numpy as np

from lambda_events import RequestError

MISSING_POLICIES = ("native", "impute", "required")
TYPES = ("number", "boolean", "category")
# Known categories shown in an 'unknown category' message, at most.
SHOWN_CATEGORIES = 20
# A JSON number as json.loads gives it (a boolean's type is bool, not int), and null.
NUMBER_TYPES = frozenset((float, int))
NUMBER_OR_NULL_TYPES = NUMBER_TYPES | {type(None)}


class NonFinite:
    """A NaN or Infinity literal in the body: kept until the field it belongs to is known."""

    def __init__(self, literal: str):
        self.literal = literal


class FeatureSpec(NamedTuple):
    name: str
    type: str  # 'number' | 'boolean' | 'category'
    missing: str  # 'native' | 'impute' | 'required'
    impute_value: float
    codes: dict  # category or boolean -> code
    unseen: str  # 'missing' | 'reject' (categories)
    integer: bool
    minimum: float | None
    maximum: float | None

    @classmethod
    def from_document(cls, feature: dict) -> "FeatureSpec":
        kind, missing = feature["type"], feature["missing"]
        if kind not in TYPES or missing not in MISSING_POLICIES:
            raise ValueError(f"feature {feature['name']!r}: unknown type {kind!r} or missing policy {missing!r}")
        categories = feature.get("categories") or []
        impute = feature.get("impute_value")
        return cls(name=feature["name"], type=kind, missing=missing,
                   impute_value=math.nan if impute is None else float(impute),
                   codes={value: float(code) for code, value in enumerate(categories)},
                   unseen=feature.get("unseen", "reject"), integer=bool(feature.get("integer")),
                   minimum=feature.get("min"), maximum=feature.get("max"))


class Batch(NamedTuple):
    x: np.ndarray  # (n, features): numbers and codes, NaN where the model routes a missing value itself
    imputed: list[list[str]]  # per record, the features that were null (or unseen) and imputed
    records: list[dict]  # the records as sent


class _RepeatedKey(Exception):
    def __init__(self, key: str):
        self.key = key


def _object(pairs: list) -> dict:
    """A JSON object; a key given twice is refused (json.loads would keep the last one silently, so the
    model could read one value and a proxy or a log reader the other)."""
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set = set()
        raise _RepeatedKey(next(key for key, _ in pairs if key in seen or seen.add(key)))
    return result


def parse_body(body: bytes) -> object:
    if not body.strip():
        raise RequestError(400, "empty_body", "the body is empty: send a JSON object of features or an array of them")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise RequestError(400, "invalid_encoding", f"the body is not UTF-8 (byte {err.start})") from err
    try:
        return json.loads(text, parse_constant=NonFinite, object_pairs_hook=_object)
    except _RepeatedKey as err:
        raise RequestError(400, "duplicate_key", f"the key {err.key!r} appears twice in one object; send each "
                                                 "feature once", field=err.key) from None
    except json.JSONDecodeError as err:
        raise RequestError(400, "invalid_json", f"the body is not valid JSON: {err.msg} at line {err.lineno} "
                                                f"column {err.colno}") from err
    except RecursionError as err:
        raise RequestError(400, "invalid_json", "the body is nested too deeply") from err


def show(value: object) -> str:
    """A value as the client wrote it (JSON), short."""
    if isinstance(value, NonFinite):
        return value.literal
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class RecordValidator:
    def __init__(self, features: list[FeatureSpec], max_records: int):
        self.features = features
        self.names = [f.name for f in features]
        self.name_set = frozenset(self.names)
        self.max_records = max_records
        # Plain numeric features take the fast path: a number needs no conversion at all.
        self._plain = [f.type == "number" and not (f.integer or f.minimum is not None or f.maximum is not None)
                       for f in features]
        # When every feature is one, a record of numbers only is a row as it is (numpy reads null as NaN,
        # what a missing value is where every feature leaves it to the model's own branch).
        native = all(f.missing == "native" for f in features)
        self._row_types = (NUMBER_OR_NULL_TYPES if native else NUMBER_TYPES) if all(self._plain) else frozenset()
        self._values = itemgetter(*self.names) if len(self.names) > 1 else lambda record: (record[self.names[0]],)

    def to_batch(self, document: object, refused: list | None = None) -> Batch:
        """The records as rows. A record that fails its checks is a RequestError, or with ``refused`` (a
        list) is left out and listed there as (its index, the error), the others kept in order."""
        if isinstance(document, dict):
            records = [document]
        elif isinstance(document, list):
            records = document
            if not records:
                raise RequestError(400, "no_records", "the array is empty: send at least one record")
            if len(records) > self.max_records:
                raise RequestError(400, "too_many_records",
                                   f"{len(records)} records sent, at most {self.max_records} per request")
        else:
            raise RequestError(400, "wrong_type", f"the body must be a JSON object or an array of objects, "
                                                  f"not {_json_type(document)}")
        rows: list = []
        imputed: list[list[str]] = []
        kept: list[int] = []
        names, plain, row_types, get_values = self.names, self._plain, self._row_types, self._values
        for index, record in enumerate(records):
            try:
                if type(record) is not dict or record.keys() != self.name_set:
                    self._explain_keys(record, index)
                values = get_values(record)
                if row_types.issuperset(map(type, values)):
                    gaps: list[str] = []
                else:
                    values = list(values)
                    gaps = []
                    for col, value in enumerate(values):
                        kind = type(value)
                        if plain[col] and (kind is float or kind is int):
                            continue
                        values[col] = self._convert(value, col, index, gaps)
            except RequestError as err:
                if refused is None:
                    raise
                refused.append((index, err))
                continue
            rows.append(values)
            imputed.append(gaps)
            kept.append(index)
        try:
            x = np.array(rows, dtype=np.float64).reshape(len(rows), len(names))
        except OverflowError as err:
            raise RequestError(400, "non_finite_number", "a number is too large to be represented") from err
        infinite = np.isinf(x)
        if infinite.any():
            bad_rows, bad_cols = np.nonzero(infinite)
            if refused is None:
                row, col = int(bad_rows[0]), int(bad_cols[0])
                raise self._field_error("non_finite_number", f"{names[col]} is too large to be a finite number", col, row)
            first = {}
            for row, col in zip(bad_rows.tolist(), bad_cols.tolist()):
                first.setdefault(row, col)
            for row, col in first.items():
                refused.append((kept[row], self._field_error(
                    "non_finite_number", f"{names[col]} is too large to be a finite number", col, kept[row])))
            keep = np.ones(len(rows), dtype=bool)
            keep[list(first)] = False
            x, imputed = x[keep], [g for g, k in zip(imputed, keep.tolist()) if k]
            kept = [i for i, k in zip(kept, keep.tolist()) if k]
            refused.sort(key=lambda item: item[0])
        return Batch(x=x, imputed=imputed, records=records if refused is None else [records[i] for i in kept])

    def _convert(self, value: object, col: int, index: int, gaps: list[str]) -> float:
        spec = self.features[col]
        if value is None:
            return self._missing(spec, col, index, gaps, "missing_value", f"{spec.name} is required and cannot be null")
        if isinstance(value, NonFinite):
            raise self._field_error("non_finite_number", f"{spec.name} must be a finite number, not {value.literal}",
                                    col, index)
        if spec.type == "number":
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise self._field_error("wrong_type", f"{spec.name} must be a number, not {_json_type(value)}",
                                        col, index)
            number = float(value)
            if spec.integer and number != math.floor(number):
                raise self._field_error("wrong_type", f"{spec.name} must be a whole number, got {show(value)}",
                                        col, index)
            if (spec.minimum is not None and number < spec.minimum) or (
                    spec.maximum is not None and number > spec.maximum):
                bounds = f"between {show(spec.minimum)} and {show(spec.maximum)}" if spec.minimum is not None and \
                    spec.maximum is not None else (f"at least {show(spec.minimum)}" if spec.minimum is not None
                                                   else f"at most {show(spec.maximum)}")
                raise self._field_error("out_of_range", f"{spec.name} must be {bounds}, got {show(value)}",
                                        col, index)
            return number
        if spec.type == "boolean":
            if not isinstance(value, bool):
                raise self._field_error("wrong_type", f"{spec.name} must be true or false, not {_json_type(value)}",
                                        col, index)
            return spec.codes[value]
        if not isinstance(value, str):
            raise self._field_error("wrong_type", f"{spec.name} must be a string (a category), not "
                                                  f"{_json_type(value)}", col, index)
        code = spec.codes.get(value)
        if code is None and value != value.strip():
            # Training read every cell without its surrounding spaces ("WD " is WD): so does the function.
            code = spec.codes.get(value.strip())
        if code is not None:
            return code
        known = list(spec.codes)
        listed = ", ".join(show(k) for k in known[:SHOWN_CATEGORIES]) + (", ..." if len(known) > SHOWN_CATEGORIES
                                                                       else "")
        message = f"{spec.name} has the unknown category {show(value)}; known: {listed}"
        if spec.unseen == "missing":
            return self._missing(spec, col, index, gaps, "unknown_category", message)
        raise self._field_error("unknown_category", message, col, index)

    def _missing(self, spec: FeatureSpec, col: int, index: int, gaps: list[str], code: str, message: str) -> float:
        """A null (or an unseen category treated as one), as the feature's missing-value policy says."""
        if spec.missing == "native":
            return math.nan
        if spec.missing == "impute":
            gaps.append(spec.name)
            return spec.impute_value
        raise self._field_error(code, message, col, index)

    def _explain_keys(self, record: object, index: int) -> None:
        if not isinstance(record, dict):
            raise RequestError(400, "wrong_type", f"record {index} must be a JSON object of features, "
                                                  f"not {_json_type(record)}", record=index)
        unknown = sorted(k for k in record if k not in self.name_set)
        if unknown:
            raise RequestError(400, "unknown_feature", f"unknown feature {unknown[0]!r} in record {index}",
                               field=unknown[0], record=index)
        missing = [name for name in self.names if name not in record]
        raise RequestError(400, "missing_feature",
                           f"record {index} lacks feature {missing[0]!r} (send null for a missing value)",
                           field=missing[0], record=index)

    def _field_error(self, code: str, message: str, col: int, index: int) -> RequestError:
        return RequestError(400, code, f"{message} (record {index})", field=self.names[col], record=index)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, NonFinite):
        return value.literal
    return "a number"
