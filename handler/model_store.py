"""Loads the deployed artifacts (model.json + model_card.json: data only, never pickle) and serves predictions."""

from __future__ import annotations

import hashlib
import json
import os

from explainer import TreeEnsembleExplainer
from responses import PredictionFormatter
from validation import FeatureSpec, RecordValidator

MODEL_FORMAT = "pipe.tree-ensemble.v1"


class ArtifactError(Exception):
    """The artifacts are missing, altered or inconsistent: the function cannot serve."""


class LoadedModel:
    def __init__(self, directory: str):
        try:
            with open(os.path.join(directory, "model.json"), "rb") as file:
                model_bytes = file.read()
            with open(os.path.join(directory, "model_card.json"), "rb") as file:
                card_bytes = file.read()
        except OSError as err:
            raise ArtifactError(f"cannot read the model artifacts in {directory}: {err}") from err
        try:
            card = json.loads(card_bytes)
            document = json.loads(model_bytes)
        except ValueError as err:
            raise ArtifactError(f"an artifact in {directory} is not valid JSON: {err}") from err
        try:
            expected_sha = card["artifacts"]["model.json"]["sha256"]
            if hashlib.sha256(model_bytes).hexdigest() != expected_sha:
                raise ArtifactError("model.json does not match the sha256 recorded in model_card.json")
            if document.get("format") != MODEL_FORMAT:
                raise ArtifactError(f"model.json format {document.get('format')!r} is not {MODEL_FORMAT!r}")
            names = document["features"]
            card_features = {f["name"]: f for f in card["features"]}
            if list(card_features) != names:
                raise ArtifactError("model.json and model_card.json list different features")
            medians = document["imputer"]["values"]
            self.explainer = TreeEnsembleExplainer(document["ensemble"], len(names))
            if abs(self.explainer.base_value - float(document["base_value"])) > 1e-12:
                raise ArtifactError("the recomputed base value differs from the one recorded in model.json")
            specs = [FeatureSpec(name=n, integer=card_features[n]["type"] == "integer",
                                 imputable=card_features[n]["missing"] == "impute_median", median=float(m))
                     for n, m in zip(names, medians)]
            self.validator = RecordValidator(specs, int(card["limits"]["max_records"]))
            self.max_body_bytes = int(card["limits"]["max_body_bytes"])
            self.threshold = float(card["decision"]["threshold"])
            labels = card["decision"]["labels"]
            self.labels = (labels["false"], labels["true"])
            self.version = str(card["version"])
        except (KeyError, TypeError, ValueError) as err:  # ModelFormatError is a ValueError
            raise ArtifactError(f"the model artifacts are malformed: {type(err).__name__}: {err}") from err
        self.names = names
        self.card_body = card_bytes.decode("utf-8")
        self.formatter = PredictionFormatter(names, self.version, self.threshold, self.labels)

    def predict(self, document: object) -> str:
        """The JSON body of a POST /predict answer (RequestError for bad records)."""
        batch = self.validator.to_batch(document)
        result = self.explainer.explain(batch.x)
        return self.formatter.body(result.probability, result.shap, result.base_value, batch.imputed)
