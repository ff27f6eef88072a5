"""Turns a POST /predict body into a float matrix, or a RequestError naming what is wrong."""

from __future__ import annotations

import json
import math
from typing import NamedTuple

import numpy as np

from lambda_events import RequestError


class FeatureSpec(NamedTuple):
    name: str
    integer: bool
    imputable: bool
    median: float


class Batch(NamedTuple):
    x: np.ndarray  # (n, features), missing values already imputed
    imputed: list[list[str]]  # per record, the features that were null and imputed


def _reject_constant(name: str) -> float:
    raise RequestError(400, "non_finite_number", f"{name} is not a valid number: use finite values")


def parse_body(body: bytes) -> object:
    if not body.strip():
        raise RequestError(400, "empty_body", "the body is empty: send a JSON object of features or an array of them")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise RequestError(400, "invalid_encoding", f"the body is not UTF-8 (byte {err.start})") from err
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as err:
        raise RequestError(400, "invalid_json", f"the body is not valid JSON: {err.msg} at line {err.lineno} "
                                                f"column {err.colno}") from err
    except RecursionError as err:
        raise RequestError(400, "invalid_json", "the body is nested too deeply") from err


class RecordValidator:
    def __init__(self, features: list[FeatureSpec], max_records: int):
        self.features = features
        self.names = [f.name for f in features]
        self.name_set = frozenset(self.names)
        self.max_records = max_records
        self._integer_columns = np.array([i for i, f in enumerate(features) if f.integer], dtype=np.int64)

    def to_batch(self, document: object) -> Batch:
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

        rows: list[list] = []
        imputed: list[list[str]] = []
        names = self.names
        for index, record in enumerate(records):
            if type(record) is not dict or record.keys() != self.name_set:
                self._explain_keys(record, index)
            values = [record[name] for name in names]
            gaps: list[str] = []
            for col, value in enumerate(values):
                kind = type(value)
                if kind is float or kind is int:
                    continue
                values[col] = self._fill(value, col, index, gaps)
            rows.append(values)
            imputed.append(gaps)

        try:
            x = np.array(rows, dtype=np.float64)
        except OverflowError as err:
            raise RequestError(400, "non_finite_number", "a number is too large to be represented") from err
        finite = np.isfinite(x)
        if not finite.all():
            row, col = (int(v[0]) for v in np.nonzero(~finite))
            raise self._field_error("non_finite_number", f"{names[col]} is too large to be a finite number", col, row)
        if self._integer_columns.size:
            ints = x[:, self._integer_columns]
            fractional = ints != np.floor(ints)
            if fractional.any():
                row, pos = (int(v[0]) for v in np.nonzero(fractional))
                col = int(self._integer_columns[pos])
                raise self._field_error("wrong_type", f"{names[col]} must be a whole number, got {x[row, col]!r}",
                                        col, row)
        return Batch(x=x, imputed=imputed)

    def _fill(self, value: object, col: int, index: int, gaps: list[str]) -> float:
        spec = self.features[col]
        if value is None:
            if spec.imputable:
                gaps.append(spec.name)
                return spec.median
            raise self._field_error("missing_value", f"{spec.name} is required and cannot be null", col, index)
        if isinstance(value, float) and not math.isfinite(value):
            raise self._field_error("non_finite_number", f"{spec.name} must be a finite number", col, index)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)  # int/float subclasses
        raise self._field_error("wrong_type", f"{spec.name} must be a number, not {_json_type(value)}", col, index)

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
                           f"record {index} lacks feature {missing[0]!r} (send null to impute where allowed)",
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
    return "a number"
