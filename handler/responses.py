"""Renders POST /predict responses straight to JSON text.

A per-record %-template with the feature names pre-encoded is about three times faster than
json.dumps over dicts. Floats are written with 17 significant digits ('%.17g'), which reproduces
every double exactly (as repr does) and formats faster than repr's shortest-digits search.
"""

from __future__ import annotations

import json

import numpy as np


class PredictionFormatter:
    def __init__(self, names: list[str], version: str, threshold: float, labels: tuple[str, str]):
        self.threshold = threshold
        self.approve, self.decline = (json.dumps(label) for label in labels)
        shap_fields = ",".join(f"{json.dumps(name)}:%.17g" for name in names)
        self.record = ('{"probability":%.17g,"decision":%s,"base_value":%s,"shap":{' + shap_fields
                       + '},"imputed":%s}')
        self.prefix = '{"model_version":' + json.dumps(version) + ',"predictions":['
        self._imputed: dict[tuple[str, ...], str] = {(): "[]"}

    def body(self, probability: np.ndarray, shap: np.ndarray, base_value: float, imputed: list[list[str]]) -> str:
        if not (np.isfinite(probability).all() and np.isfinite(shap).all() and np.isfinite(base_value)):
            raise ArithmeticError("the explainer produced a non-finite value")
        template, threshold, approve, decline = self.record, self.threshold, self.approve, self.decline
        base = "%.17g" % base_value
        encoded = self._imputed
        parts = []
        for p, row, gaps in zip(probability.tolist(), shap.tolist(), imputed):
            key = tuple(gaps)
            flags = encoded.get(key)
            if flags is None:
                flags = encoded[key] = json.dumps(gaps)
            parts.append(template % (p, decline if p >= threshold else approve, base, *row, flags))
        return self.prefix + ",".join(parts) + "]}"
