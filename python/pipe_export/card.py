"""model_card.json: what GET / answers, for people and clients: features, policies, task, metrics, proof."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .handler_code import handler_modules
from .proof import Proof, records_of

METHODS = {
    "path_dependent": "exact path-dependent TreeSHAP (numpy: tabulated per leaf pattern, quadrature for deep paths)",
    "interventional": "exact interventional TreeSHAP against the reference population: the Shapley values of "
                      "v(S) = mean over its rows r of f(x_S, r_notS), the base value their mean output (numpy: "
                      "tabulated per leaf pattern from each leaf's reference histogram, per request for deep paths)",
}


def output_meaning(document: dict, target: str | None) -> str:
    """What the SHAP values are changes of, in words: which output, of which class (no article)."""
    from .classes import label_text

    space, task = document["shap_output"], document["task"]
    if task == "regression":
        return f"predicted value{f' of {target}' if target else ''}, in its own unit"
    output = "probability" if space == "probability" else "log-odds"
    if task == "multiclass":
        return f"{output} of each class"
    positive = label_text(document["positive_class"])
    return f"{output} {f'that {target} is {positive}' if target else f'of the positive class {positive}'}"


def space_meaning(document: dict, target: str | None) -> str:
    """What the SHAP values and the base value are in, in words: which output, of which class."""
    meaning = output_meaning(document, target)
    if document["task"] == "regression":
        return f"the {meaning}"
    if document["shap_output"] == "probability":
        return meaning
    if document["task"] == "multiclass":
        return f"{meaning} (the raw margins; the probabilities are their softmax)"
    return f"{meaning} (the raw margin; the probability is its sigmoid)"


def missing_meaning(feature: dict) -> str:
    """What a null means for this feature, as the card says it (numbers as the reasons write them)."""
    policy = feature["missing"]
    if policy == "native":
        return "null follows the branch the model learned for missing values"
    if policy == "required":
        return "required: null is refused"
    value = feature["impute_value"]
    if feature.get("categories"):
        shown = repr(feature["categories"][int(value)])
    elif feature["type"] == "boolean":
        shown = "true" if value else "false"
    else:  # a median as the reasons write numbers ("69.16", "2", "215,000"), not its 17 digits
        [reasons] = handler_modules("reasons")
        shown = reasons.show_number(float(value))
    return f"null is replaced by {shown} (from the training data) and listed in the record's 'imputed'"


def _example(rows: pd.DataFrame, features: list[dict]) -> dict:
    """The first check row with every feature present, whole numbers written as integers."""
    names = [f["name"] for f in features]
    complete = rows[names].dropna()
    record = records_of((complete if len(complete) else rows[names]).iloc[:1])[0]
    return {k: int(v) if isinstance(v, float) and math.isfinite(v) and v == int(v) else v for k, v in record.items()}


def model_card(document: dict, digest: str, size: int, proof: Proof, rows: pd.DataFrame, estimator, *, name: str,
               description: str | None, target: str | None, metrics: dict | None, extra: dict | None,
               reference: dict | None = None) -> dict:
    features = document["features"]
    card = {
        "name": name,
        "version": digest[:12],
        "description": description or f"{document['task']} {type(estimator).__name__} with exact SHAP values",
        "target": target,
        "task": document["task"],
        "classes": document["classes"],
        **({"positive_class": document["positive_class"]} if "positive_class" in document else {}),
        "shap_output": document["shap_output"],
        "shap_output_meaning": space_meaning(document, target),
        "model": {"estimator": type(estimator).__name__},
        "features": [
            {key: f[key] for key in ("name", "type", "categories", "missing", "unseen", "integer", "min", "max")
             if key in f} | {"missing_means": missing_meaning(f)}
            for f in features
        ],
        "missing_value_policy": "Every feature key must be present; null is a missing value, handled per feature "
                                "as 'missing_means' says. Categories are sent as strings; an unseen category is "
                                "refused (400 naming the known values) when 'unseen' is 'reject', or treated as "
                                "missing when it is 'missing'.",
        "base_value": proof.base_value if document["task"] == "multiclass" else proof.base_value[0],
        "limits": document["limits"],
        "example_request": _example(rows, features),
        "metrics": metrics or {},
        "explainer": {
            "method": METHODS["interventional" if reference else "path_dependent"],
            "measured_against": reference["description"] if reference else
            "the training data's average, as the trees' covers weigh it (path-dependent)",
            "verified_against": proof.oracle,
            "verified_rows": proof.rows,
            "max_abs_shap_diff": proof.max_abs_shap_diff,
            "max_abs_prediction_diff": proof.max_abs_prediction_diff,
            "max_additivity_error": proof.max_additivity_error,
        },
        "artifacts": {"model.json": {"sha256": digest, "bytes": size}},
    }
    card["reasons"] = dict(document["reasons"], rule=(
        "per record, the features that moved the output toward its outcome, largest first (regression: the "
        "largest contributions either way); 'exclude' lists features never named"))
    if reference:
        card["reference"] = reference
    if "decision" in document:
        card["decision"] = dict(document["decision"], rule="probability >= threshold gives the positive label")
    if extra:
        card.update(extra)
    return card


def mean_abs_shap(proof: Proof) -> np.ndarray:
    """Mean |SHAP| per feature over the checked rows, summed over outputs (classes)."""
    return np.abs(proof.shap).sum(axis=1).mean(axis=0)
