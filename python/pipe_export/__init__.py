"""Exports a fitted tree model to the artifacts the function serves: model.json and model_card.json.

    from pipe_export import export_model
    export_model(pipeline, train_frame, "artifacts", target="default", name="loans")

``model`` is a fitted tree estimator (scikit-learn trees, forests, gradient boosting,
HistGradientBoosting; LightGBM; XGBoost) or a scikit-learn Pipeline of a ColumnTransformer
(passthrough, OrdinalEncoder, SimpleImputer per column) and such an estimator; ``frame`` is a
pandas DataFrame of the raw training columns (strings for categories, NaN for missing), with or
without the target. The export is proven before anything is written: the function's own code,
reading the document, must reproduce the estimator's predictions and its oracle's SHAP values.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from .card import model_card
from .classes import check_decision, negated, positive_index
from .features import InputColumn, input_columns, split_pipeline
from .model_format import FORMAT, ExportError, pack_trees
from .proof import Proof, ProofError, check_reasons, check_rows, prove

__all__ = ["ExportError", "ExportResult", "ProofError", "SUPPORTED", "canonical_json", "export_model"]

SUPPORTED = ("scikit-learn DecisionTree*, RandomForest*, ExtraTrees*, GradientBoosting*, HistGradientBoosting* "
             "(classifiers and regressors), LightGBM (LGBMClassifier, LGBMRegressor, Booster), "
             "XGBoost (XGBClassifier, XGBRegressor, Booster or its JSON model)")
LIMITS = {"max_records": 1000, "max_body_bytes": 1_048_576}


class ExportResult(NamedTuple):
    document: dict  # model.json's content, with the trees' fields as lists (model.json packs them)
    card: dict
    proof: Proof
    model_sha256: str


def canonical_json(document: object) -> bytes:
    """Sorted keys, shortest round-trip floats, no NaN: the same model always gives the same bytes."""
    return (json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=False) + "\n").encode()


def _adapter(estimator):
    module = type(estimator).__module__
    if module.startswith("sklearn."):
        from . import trees_sklearn as adapter

        return adapter, adapter.export_sklearn
    if module.startswith("lightgbm"):
        from . import trees_lightgbm as adapter

        return adapter, adapter.export_lightgbm
    if module.startswith("xgboost") or isinstance(estimator, (dict, str, Path)):
        from . import trees_xgboost as adapter

        return adapter, adapter.export_xgboost
    raise ExportError(f"cannot export {type(estimator).__name__}; supported: {SUPPORTED}")


def _feature_documents(columns: list[InputColumn], order: list[str], native_missing: bool, required: set[str],
                       constraints: dict, unseen: str) -> list[dict]:
    by_name = {c.feature: c for c in columns}
    documents = []
    for name in order:
        column = by_name[name]
        doc: dict = {"name": name, "type": column.kind}
        if column.categories is not None:
            doc["categories"] = column.categories
            if column.kind == "category":
                doc["unseen"] = unseen
        if name in required:
            doc["missing"] = "required"
        elif column.impute_value is not None:
            doc["missing"], doc["impute_value"] = "impute", column.impute_value
        else:
            doc["missing"] = "native" if native_missing else "required"
        rules = constraints.get(name) or {}
        if rules and column.kind != "number":
            raise ExportError(f"constraints on {name!r}: only number features take integer/min/max")
        doc.update({key: rules[key] for key in ("integer", "min", "max") if key in rules})
        documents.append(doc)
    return documents


def _permute(ensemble: dict, position: list[int]) -> dict:
    """The trees with their feature indices moved from the estimator's columns to the features' order."""
    trees = [dict(tree, feature=[position[f] if f >= 0 else -1 for f in tree["feature"]])
             for tree in ensemble["trees"]]
    return dict(ensemble, trees=trees)


def _write(out: Path, files: dict[str, bytes]) -> None:
    """Each file appears whole or not at all: written beside its final name, then renamed."""
    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        partial = out / f".{name}.partial"
        partial.write_bytes(data)
        os.replace(partial, out / name)


def export_model(model, frame: pd.DataFrame, out: str | os.PathLike, *, target: str | None = None,
                 name: str = "model", description: str | None = None, required: list[str] = (),
                 constraints: dict | None = None, unseen_categories: str = "reject", decision: dict | None = None,
                 metrics: dict | None = None, reasons: dict | None = None, check_rows_min: int = 200, seed: int = 0,
                 card_extra: dict | None = None, positive_class: object | None = None,
                 settings: dict | None = None) -> ExportResult:
    """Proves and writes ``out/model.json`` and ``out/model_card.json``; raises ExportError or ProofError
    (and writes nothing) when the model cannot be served exactly.

    ``positive_class`` (binary models): the class whose probability the model reports and the SHAP values
    explain; by default 1 / true, or yes / y / positive against their opposite, and for any other pair
    of labels it must be given. ``settings`` names the options as the caller's users write them
    (``{"positive_class": "model.positiveClass", "decision": "model.decision"}``) for the messages."""
    names = {"positive_class": "positive_class", "decision": "decision", **(settings or {})}
    if unseen_categories not in ("reject", "missing"):
        raise ExportError("unseen_categories must be 'reject' (a 400 naming the known values) or 'missing'")
    transformer, estimator = split_pipeline(model)
    adapter, export = _adapter(estimator)
    adapted = export(estimator)
    features_frame = frame.drop(columns=[target]) if target is not None and target in frame else frame
    columns = input_columns(transformer, features_frame, _fitted_names(model, features_frame))
    order = [str(c) for c in features_frame.columns if str(c) in {col.feature for col in columns}]
    missing = sorted({c.feature for c in columns} - set(order))
    if missing:
        raise ExportError(f"the model reads column {missing[0]!r}, which the frame lacks")
    unknown = sorted((set(required) | set(constraints or {})) - set(order))
    if unknown:
        raise ExportError(f"{unknown[0]!r} is named in required/constraints but is not a feature of the model")
    features = _feature_documents(columns, order, adapted["native_missing"], set(required), constraints or {},
                                  unseen_categories)
    position = [order.index(c.feature) for c in columns]
    task = adapted["task"]
    ensemble, positive = adapted["ensemble"], None
    if task == "binary":
        classes = adapted["classes"]
        positive = positive_index(classes, positive_class, names["positive_class"])
        check_decision(classes, positive, decision or {}, names["decision"], names["positive_class"])
        if positive == 0:
            ensemble = negated(ensemble, adapted["link"])
    elif positive_class is not None:
        raise ExportError(f"{names['positive_class']} is set, but the model is {task}: only a binary model has one")
    document = {
        "format": FORMAT, "task": task, "classes": adapted["classes"], "link": adapted["link"],
        "shap_output": adapted["shap_output"], "features": features, "limits": LIMITS,
        "ensemble": _permute(ensemble, position),
    }
    if task == "binary":
        document["positive_class"] = classes[positive]
        document["decision"] = {"negative": classes[1 - positive], "positive": classes[positive], "threshold": 0.5,
                                **(decision or {})}
    document["reasons"] = check_reasons(reasons or {}, features)

    rows = check_rows(features_frame, features, check_rows_min, seed)
    reference = _reference(adapter, transformer, estimator, [c.feature for c in columns], position,
                           None if positive is None else (positive, adapted["link"]))
    # Verify exactly what will be deployed: the document re-parsed from its bytes, as the function sees it
    # (its trees packed; the result keeps them as lists).
    written = {**document, "ensemble": pack_trees(document["ensemble"])}
    proof = prove(json.loads(canonical_json(written)), model, rows, reference, positive or 0)
    document["base_value"] = written["base_value"] = proof.base_value
    model_bytes = canonical_json(written)
    digest = hashlib.sha256(model_bytes).hexdigest()
    card = model_card(document, digest, len(model_bytes), proof, rows, estimator, name=name,
                      description=description, target=target, metrics=metrics, extra=card_extra)
    _write(Path(out), {"model.json": model_bytes, "model_card.json": canonical_json(card)})
    return ExportResult(document, card, proof, digest)


def _fitted_names(model, frame: pd.DataFrame) -> list[str] | None:
    """The columns the model was fitted on, as the frame names them. LightGBM keeps a bare estimator's
    names with whitespace turned into '_' ("Lot Area" becomes "Lot_Area"): the frame's own are used when
    they read so, in the same order."""
    known = getattr(model, "feature_names_in_", None)
    if known is None:
        return None
    known = [str(c) for c in known]
    columns = [str(c) for c in frame.columns]
    if not set(known) <= set(columns) and [re.sub(r"\s", "_", c) for c in columns] == known:
        return columns
    return known


def _reference(adapter, transformer, estimator, input_names: list[str], position: list[int],
               turned: tuple[int, str] | None):
    """The adapter's oracle on the estimator's input, with SHAP columns moved to the features' order, and
    of the positive class: ``turned`` is (its index, the link) for binary models."""
    oracle = getattr(adapter, "reference_explanation", None)

    def reference(rows: pd.DataFrame):
        if oracle is None:
            return None
        x = transformer.transform(rows) if transformer is not None else rows[input_names]
        found = oracle(estimator, x)
        if found is None:
            return None
        values, expected = found[0], found[1]
        ordered = values.copy()
        ordered[:, :, position] = values
        if turned is not None and turned[0] == 0:
            from .classes import COMPLEMENT

            return -ordered, COMPLEMENT[turned[1]] - np.asarray(expected, dtype=np.float64)
        return ordered, expected

    reference.name = getattr(adapter, "ORACLE", adapter.__name__.rsplit(".", 1)[-1])
    for tolerance in ("prediction_tolerance", "shap_tolerance"):
        if hasattr(adapter, tolerance.upper()):
            setattr(reference, tolerance, getattr(adapter, tolerance.upper()))
    return reference
