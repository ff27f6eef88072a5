"""Renders POST /predict responses straight to JSON text.

A per-record %-template with the feature names pre-encoded is about three times faster than
json.dumps over dicts; for finite floats %r is exactly what json.dumps writes (repr).
"""

from __future__ import annotations

import json

import numpy as np


class PredictionFormatter:
    def __init__(self, names: list[str], version: str, threshold: float, labels: tuple[str, str]):
        self.threshold = threshold
        self.approve, self.decline = (json.dumps(label) for label in labels)
        shap_fields = ",".join(f"{json.dumps(name)}:%r" for name in names)
        self.record = '{"probability":%r,"decision":%s,"base_value":%r,"shap":{' + shap_fields + '},"imputed":%s}'
        self.prefix = '{"model_version":' + json.dumps(version) + ',"predictions":['

    def body(self, probability: np.ndarray, shap: np.ndarray, base_value: float, imputed: list[list[str]]) -> str:
        if not (np.isfinite(probability).all() and np.isfinite(shap).all()):
            raise ArithmeticError("the explainer produced a non-finite value")
        template, threshold, approve, decline = self.record, self.threshold, self.approve, self.decline
        parts = [
            template % (p, decline if p >= threshold else approve, base_value, *row,
                        json.dumps(gaps) if gaps else "[]")
            for p, row, gaps in zip(probability.tolist(), shap.tolist(), imputed)
        ]
        return self.prefix + ",".join(parts) + "]}"
