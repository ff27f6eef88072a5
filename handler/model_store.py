"""Loads the deployed artifacts (model.json + model_card.json: data only, never pickle) and serves predictions.

model.json holds everything the function needs (features and their missing-value policies, the
task, classes, link and trees); the card is what GET / answers, and records model.json's hash.
"""

from __future__ import annotations

import json
import os

from audit import AuditLog, digest
from explainer import TreeModelExplainer, apply_link, space_of
from reasons import ReasonWriter, subject_of
from responses import PredictionFormatter
from validation import FeatureSpec, RecordValidator

MODEL_FORMAT = "pipe.tree-model.v3"
TASK_OUTPUTS = {"binary": "one", "regression": "one", "multiclass": "per class"}


class ArtifactError(Exception):
    """The artifacts are missing, altered or inconsistent: the function cannot serve."""


def read_artifacts(directory: str) -> tuple[bytes, dict, bytes, dict]:
    try:
        with open(os.path.join(directory, "model.json"), "rb") as file:
            model_bytes = file.read()
        with open(os.path.join(directory, "model_card.json"), "rb") as file:
            card_bytes = file.read()
    except OSError as err:
        raise ArtifactError(f"cannot read the model artifacts in {directory}: {err}") from err
    try:
        return model_bytes, json.loads(model_bytes), card_bytes, json.loads(card_bytes)
    except ValueError as err:
        raise ArtifactError(f"an artifact in {directory} is not valid JSON: {err}") from err


def reason_writer(document: dict, specs: list, target: str | None = None) -> ReasonWriter:
    """The reasons as model.json configures them (count, excluded features, templates, subject), of the
    positive class and, where the SHAP values are probabilities, in points."""
    settings = document.get("reasons") or {}
    subject = subject_of(document["task"], document["shap_output"], document.get("positive_class"),
                         settings.get("subject"), target)
    return ReasonWriter([s.name for s in specs], [s.type for s in specs], document["task"], settings, subject,
                        in_points=document["shap_output"] == "probability")


class LoadedModel:
    def __init__(self, directory: str | None = None, artifacts: tuple[bytes, dict, bytes, dict] | None = None):
        """From the artifacts in ``directory``, or ``artifacts`` as read_artifacts returns them."""
        model_bytes, document, card_bytes, card = artifacts if artifacts is not None else read_artifacts(directory)
        try:
            if digest(model_bytes) != card["artifacts"]["model.json"]["sha256"]:
                raise ArtifactError("model.json does not match the sha256 recorded in model_card.json")
            if document.get("format") != MODEL_FORMAT:
                raise ArtifactError(f"model.json format {document.get('format')!r} is not {MODEL_FORMAT!r}")
            specs = [FeatureSpec.from_document(f) for f in document["features"]]
            names = [s.name for s in specs]
            task, classes = document["task"], document.get("classes")
            if task == "binary" and document.get("positive_class") not in classes:
                raise ArtifactError("a binary model.json must name its positive_class, one of its classes")
            self.explainer = TreeModelExplainer(document["ensemble"], len(names), document.get("reference"),
                                                space_of(document))
            expected_outputs = len(classes) if task == "multiclass" else 1
            if self.explainer.n_outputs != expected_outputs:
                raise ArtifactError(f"a {task} model needs {TASK_OUTPUTS[task]} output, the trees have "
                                    f"{self.explainer.n_outputs}")
            recorded = document["base_value"]
            if max(abs(a - b) for a, b in zip(self.explainer.base_value.tolist(), recorded)) > 1e-9:
                raise ArtifactError("the recomputed base value differs from the one recorded in model.json")
            self.link = document["link"]
            apply_link(self.link, self.explainer.base_value[None, :])  # an unknown link fails here, not per request
            limits = document["limits"]
            self.validator = RecordValidator(specs, int(limits["max_records"]))
            self.max_body_bytes = int(limits["max_body_bytes"])
            self.version = str(card["version"])
            self.task = task
            self.formatter = PredictionFormatter(names, self.version, task, document["shap_output"], classes,
                                                 document.get("decision"),
                                                 reason_writer(document, specs, card.get("target")))
        except (KeyError, TypeError, ValueError) as err:  # ModelFormatError is a ValueError
            raise ArtifactError(f"the model artifacts are malformed: {type(err).__name__}: {err}") from err
        self.names = names
        self.card_body = card_bytes.decode("utf-8")
        self.audit = AuditLog(self.version, task, positive_class=document.get("positive_class"),
                              shap_output=document["shap_output"])

    def predict(self, document: object, request_id: str | None = None, each: bool = False) -> str:
        """The JSON body of a POST /predict answer. A bad record is a RequestError for the whole request,
        or with ``each`` the answer in its place: ``{"error": {...}}``, the other records answered."""
        refused: list | None = [] if each else None
        batch = self.validator.to_batch(document, refused)
        if not refused:
            return self._body(batch, request_id)
        answered = self._body(batch, request_id, True) if batch.x.shape[0] else None
        parts = iter(answered[1]) if answered else iter(())
        errors = dict(refused)
        total = batch.x.shape[0] + len(refused)
        items = [('{"error":' + json.dumps(errors[i].body()["error"]) + "}") if i in errors else next(parts)
                 for i in range(total)]
        prefix = answered[0] if answered else self.formatter.prefix_for(request_id)
        return prefix + ',"predictions":[' + ",".join(items) + "]}"

    def _body(self, batch, request_id: str | None, separate: bool = False):
        result = self.explainer.explain(batch.x)
        prediction = apply_link(self.link, result.margin)
        if self.task != "multiclass":
            prediction = prediction[:, 0]
        return self.formatter.body(prediction, result.shap, result.base_value, batch.imputed, batch.records,
                                   request_id, self.audit, separate)
