"""Renders POST /predict responses straight to JSON text, one schema per task.

Every answer has ``model_version``, ``task``, ``shap_output`` (the space SHAP values add up in) and
``predictions``; per record ``base_value + sum(shap) == output`` in that space:

* binary: ``probability``, ``decision``, ``base_value``, ``shap {feature: value}``
* multiclass: ``probabilities {class: p}``, ``label``, ``base_value {class: v}``, ``shap {class: {feature: v}}``
* regression: ``prediction``, ``base_value``, ``shap {feature: value}``

and ``imputed`` (the features that were missing and imputed) and ``reasons`` (see reasons.py). A per-record %-template with the
names pre-encoded is about three times faster than json.dumps over dicts. Floats are written
as repr writes them (the shortest text that reads back as the same double, as json.dumps does).
"""

from __future__ import annotations

import json

import numpy as np

from audit import AuditLog
from reasons import ReasonWriter


def _literal(text: str) -> str:
    """JSON text as a literal part of a %-template (a feature named "rate (% of income)" stays text)."""
    return text.replace("%", "%%")


def _shap_fields(names: list[str], conversion: str = "r") -> str:
    return "{" + ",".join(f"{_literal(json.dumps(name))}:%{conversion}" for name in names) + "}"


def class_key(label: object) -> str:
    """A class label as a JSON object key (labels keep their type elsewhere)."""
    return label if isinstance(label, str) else json.dumps(label)


class PredictionFormatter:
    def __init__(self, names: list[str], version: str, task: str, shap_output: str, classes: list | None,
                 decision: dict | None, reasons: ReasonWriter):
        self.task = task
        self.names = names
        self.reasons = reasons
        self.prefix = ('{"model_version":' + json.dumps(version) + ',"task":' + json.dumps(task)
                       + ',"shap_output":' + json.dumps(shap_output))
        # Binary and regression records get their SHAP values as text, written once for the record
        # and its reasons.
        shap, written = _shap_fields(names), _shap_fields(names, "s")
        if task == "binary":
            self.threshold = float(decision["threshold"])
            self.negative, self.positive = json.dumps(decision["negative"]), json.dumps(decision["positive"])
            self.record = '{"probability":%r,"decision":%s,"base_value":%s,"shap":' + written + ',"imputed":%s,"reasons":%s}'
        elif task == "multiclass":
            keys = [_literal(json.dumps(class_key(c))) for c in classes]
            self.labels = [json.dumps(c) for c in classes]
            self.record = ('{"probabilities":{' + ",".join(f"{k}:%r" for k in keys) + '},"label":%s,'
                           '"base_value":%s,"shap":{' + ",".join(f"{k}:{shap}" for k in keys) + '},"imputed":%s,"reasons":%s}')
            self.keys = [json.dumps(class_key(c)) for c in classes]  # as text, not in a template
            self.probabilities = '{"probabilities":{' + ",".join(f"{k}:%r" for k in keys) + "}}"
        elif task == "regression":
            self.record = '{"prediction":%r,"base_value":%s,"shap":' + written + ',"imputed":%s,"reasons":%s}'
        else:
            raise ValueError(f"unknown task {task!r}")
        self._imputed: dict[tuple[str, ...], str] = {(): "[]"}

    def prefix_for(self, request_id: str | None) -> str:
        """The answer's opening, up to its predictions."""
        return self.prefix if request_id is None else self.prefix + ',"request_id":' + json.dumps(request_id)

    def body(self, prediction: np.ndarray, shap: np.ndarray, base_value: np.ndarray, imputed: list[list[str]],
             records: list[dict], request_id: str | None = None, audit: AuditLog | None = None,
             separate: bool = False):
        """prediction: (n,) probability or value, or (n, classes); shap: (n, outputs, features), all finite
        (the explainer checks). With ``audit``, each record's decision also goes to the decision trail.
        With ``separate``, the answer's opening and its records' JSON objects, to be joined by the caller,
        instead of the whole body."""
        flags = [self._flags(gaps) for gaps in imputed]
        template = self.record
        # The outcome each record's reasons explain, and the SHAP values toward it.
        if self.task == "binary":
            toward, positive = shap[:, 0, :], prediction >= self.threshold
            decisions = [self.positive if p else self.negative for p in positive.tolist()]
        elif self.task == "regression":
            toward, positive, decisions = shap[:, 0, :], None, None
        else:
            chosen = np.argmax(prediction, axis=1)
            toward, positive = shap[np.arange(len(shap)), chosen, :], None
            decisions = [self.labels[i] for i in chosen.tolist()]
        picks = self.reasons.chosen(toward, positive)
        rows = toward.tolist()
        if self.task != "multiclass":
            texts = [list(map(repr, row)) for row in rows]
            words = self.reasons.arrays(rows, picks, records, texts)
            base = repr(float(base_value[0]))
            if self.task == "binary":
                parts = [template % (p, decision, base, *row, flag, why)
                         for p, decision, row, flag, why in zip(prediction.tolist(), decisions, texts, flags, words)]
            else:
                parts = [template % (v, base, *row, flag, why)
                         for v, row, flag, why in zip(prediction.tolist(), texts, flags, words)]
        else:
            words = self.reasons.arrays(rows, picks, records)
            base = "{" + ",".join(f"{k}:{v!r}" for k, v in zip(self.keys, base_value.tolist())) + "}"
            parts = [template % (*p, label, base, *row, flag, why) for p, label, row, flag, why in
                     zip(prediction.tolist(), decisions, shap.reshape(len(shap), -1).tolist(), flags, words)]
        if audit is not None and audit.mode != "off":
            audit.decisions(request_id, self._outputs(prediction), decisions or ["null"] * len(parts),
                            [[(self.names[f], row[f]) for f in chosen_features]
                             for chosen_features, row in zip(picks, rows)], records)
        prefix = self.prefix_for(request_id)
        if separate:
            return prefix, parts
        return prefix + ',"predictions":[' + ",".join(parts) + "]}"

    def _outputs(self, prediction: np.ndarray) -> list[str]:
        """Each record's output as the decision trail writes it (a JSON object, as in the response)."""
        if self.task == "binary":
            return ['{"probability":%r}' % p for p in prediction.tolist()]
        if self.task == "regression":
            return ['{"prediction":%r}' % v for v in prediction.tolist()]
        return [self.probabilities % tuple(p) for p in prediction.tolist()]

    def _flags(self, gaps: list[str]) -> str:
        key = tuple(gaps)
        flags = self._imputed.get(key)
        if flags is None:
            flags = self._imputed[key] = json.dumps(gaps)
        return flags
