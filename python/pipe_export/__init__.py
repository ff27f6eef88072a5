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

from .baseline import monitoring_baseline
from .card import model_card
from .classes import COMPLEMENT, check_decision, label_text, negated, positive_index
from .interventional import SHAP_TOLERANCE as INTERVENTIONAL_TOLERANCE
from .interventional import check_space, direct_oracle, encode, reference_summary, shap_oracle
from .features import InputColumn, input_columns, split_pipeline
from .model_format import FORMAT, ExportError, pack_trees
from .handler_code import handler_modules
from .proof import Proof, ProofError, check_reasons, check_rows, prove

__all__ = ["ExportError", "ExportResult", "ProofError", "SUPPORTED", "canonical_json", "export_model"]

SUPPORTED = ("scikit-learn DecisionTree*, RandomForest*, ExtraTrees*, GradientBoosting*, HistGradientBoosting* "
             "(classifiers and regressors), LightGBM (LGBMClassifier, LGBMRegressor, Booster), "
             "XGBoost (XGBClassifier, XGBRegressor, Booster or its JSON model)")
LIMITS = {"max_records": 1000, "max_body_bytes": 1_048_576}
# Rows a reference population may have: each costs its leaves' groups in model.json and load time.
MAX_REFERENCE_ROWS = 5000
# Records x reference rows for the direct interventional oracle, where shap cannot check a model: more
# records than the proof's least where the reference is small.
DIRECT_PAIRS = 40_000


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
                 reference: pd.DataFrame | None = None, reference_info: dict | None = None,
                 shap_output: str | None = None, settings: dict | None = None,
                 baseline_rows: pd.DataFrame | None = None) -> ExportResult:
    """Proves and writes ``out/model.json`` and ``out/model_card.json``; raises ExportError or ProofError
    (and writes nothing) when the model cannot be served exactly.

    ``positive_class`` (binary models): the class whose probability the model reports and the SHAP values
    explain; by default 1 / true, or yes / y / positive against their opposite, and for any other pair
    of labels it must be given.

    ``reference``: rows of the raw columns (a DataFrame like ``frame``) to measure the SHAP values
    against: interventional TreeSHAP, the base value their mean output; ``reference_info`` says where
    they come from, for the card (``{"from": "training", ...}``). They are shipped inside model.json and
    written to reference.csv, never into the card. Without, values are path-dependent. ``shap_output``:
    "probability" for a boosted binary model's values in probability (with a reference), or the model's
    own space. ``settings`` names the options as the caller's users write them (``{"positive_class":
    "model.positiveClass", ...}``) for the messages. ``baseline_rows``: the validation rows (raw columns),
    answered by the function's own code for the card's ``baseline`` (what ``pipe monitor`` compares the
    decision trail against)."""
    names = {"positive_class": "positive_class", "decision": "decision", "shap_output": "shap_output",
             "reference": "reference", **(settings or {})}
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
        "shap_output": check_space(shap_output, adapted, reference is not None, names["shap_output"]),
        "features": features, "limits": LIMITS, "ensemble": _permute(ensemble, position),
    }
    input_names = [c.feature for c in columns]
    reference_rows = None
    if reference is not None:
        reference_rows = _reference_rows(reference, transformer, input_names, position, order, names["reference"])
        [groups] = handler_modules("reference_groups")
        document["reference"] = groups.reference_document(document["ensemble"], len(order), reference_rows)
    if task == "binary":
        document["positive_class"] = classes[positive]
        document["decision"] = {"negative": classes[1 - positive], "positive": classes[positive], "threshold": 0.5,
                                **(decision or {})}
    document["reasons"] = check_reasons(reasons or {}, features)

    rows = check_rows(features_frame, features, check_rows_min, seed)
    turned = None if positive is None else (positive, adapted["link"])
    if reference is None:
        oracle = _reference(adapter, transformer, estimator, input_names, position, turned)
    else:
        oracle = _interventional_oracle(document, transformer, estimator, input_names, position, turned,
                                        reference[order], seed, check_rows_min)
    # Verify exactly what will be deployed: the document re-parsed from its bytes, as the function sees it
    # (its trees packed; the result keeps them as lists).
    written = {**document, "ensemble": pack_trees(document["ensemble"])}
    proof = prove(json.loads(canonical_json(written)), model, rows, oracle, positive or 0)
    document["base_value"] = written["base_value"] = proof.base_value
    model_bytes = canonical_json(written)
    digest = hashlib.sha256(model_bytes).hexdigest()
    files = {"model.json": model_bytes}
    population = None
    if reference is not None:
        files["reference.csv"] = reference[order].to_csv(index=False, lineterminator="\n").encode()
        score = _reference_score(written, reference_rows)
        population = reference_summary(dict(reference_info or {"from": "given"}), len(reference),
                                       hashlib.sha256(files["reference.csv"]).hexdigest(), score,
                                       None if score is None else f"probability of {label_text(document['positive_class'])}")
    card = model_card(document, digest, len(model_bytes), proof, rows, estimator, name=name,
                      description=description, target=target, metrics=metrics, extra=card_extra,
                      reference=population)
    if baseline_rows is not None:
        card["baseline"] = monitoring_baseline((model_bytes, json.loads(model_bytes), canonical_json(card), card),
                                               baseline_rows, target, seed)
    files["model_card.json"] = canonical_json(card)
    _write(Path(out), files)
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
            return -ordered, COMPLEMENT[turned[1]] - np.asarray(expected, dtype=np.float64)
        return ordered, expected

    reference.name = getattr(adapter, "ORACLE", adapter.__name__.rsplit(".", 1)[-1])
    for tolerance in ("prediction_tolerance", "shap_tolerance"):
        if hasattr(adapter, tolerance.upper()):
            setattr(reference, tolerance, getattr(adapter, tolerance.upper()))
    return reference


def _reference_rows(reference: pd.DataFrame, transformer, input_names: list[str], position: list[int],
                    order: list[str], setting: str) -> np.ndarray:
    """The reference rows as the function reads them: (rows, features), the estimator's encoding."""
    missing = [name for name in order if name not in reference.columns]
    if missing:
        raise ExportError(f"{setting}: the reference rows lack the feature column {missing[0]!r}")
    if not 1 <= len(reference) <= MAX_REFERENCE_ROWS:
        raise ExportError(f"{setting}: a reference population needs 1 to {MAX_REFERENCE_ROWS} rows, got {len(reference)}")
    x = encode(transformer, reference[order] if transformer is not None else reference, input_names, position)
    if np.isinf(x).any():
        raise ExportError(f"{setting}: the reference rows hold an infinite value")
    return x


def _reference_score(document: dict, x: np.ndarray) -> np.ndarray | None:
    """A binary model's probability of its positive class for each reference row (how far they reach)."""
    if document["task"] != "binary":
        return None
    from .model_format import leaf_margins

    margin = leaf_margins(document["ensemble"], x)[:, 0]
    return margin if document["link"] == "identity" else 1.0 / (1.0 + np.exp(-margin))


def _interventional_oracle(document: dict, transformer, estimator, input_names: list[str], position: list[int],
                           turned: tuple[int, str] | None, reference: pd.DataFrame, seed: int, least: int):
    """The oracle of interventional values against the reference: shap's where it takes the model and
    its values add up to the model's output; else the direct computation on `least` of the rows or more."""
    from .model_format import leaf_margins

    probability = document["shap_output"] == "probability" and document["link"] == "sigmoid"
    ensemble = document["ensemble"]
    r_feat = encode(transformer, reference, input_names, position)
    categorical = any(codes is not None for tree in ensemble["trees"] for codes in (tree.get("cat_left") or []))
    flip = turned is not None and turned[0] == 0
    complement = 1.0 if probability else COMPLEMENT.get(document["link"], 0.0)

    def oracle(rows: pd.DataFrame):
        x_feat = encode(transformer, rows, input_names, position)
        margin_x = leaf_margins(ensemble, x_feat)
        target = 1.0 / (1.0 + np.exp(-margin_x)) if probability else margin_x
        found = None if categorical else shap_oracle(estimator, x_feat[:, position], r_feat[:, position],
                                                     probability, ensemble["n_outputs"])
        if found is not None:
            values, expected = found
            ordered = np.empty_like(values)
            ordered[:, :, position] = values
            if flip:
                ordered, expected = -ordered, complement - expected
            scale = max(1.0, float(np.abs(target).max()))
            if np.allclose(expected + ordered.sum(axis=2), target, rtol=0, atol=INTERVENTIONAL_TOLERANCE * scale):
                oracle.name = f"shap.TreeExplainer(interventional, {len(reference)} reference rows)"
                return ordered, expected
        # The direct computation on seeded records, as many as the proof checks at least: its cost is
        # records x rows per leaf.
        count = min(len(rows), max(least, DIRECT_PAIRS // len(reference)))
        index = np.sort(np.random.default_rng(seed).permutation(len(rows))[:count])
        margin_r = leaf_margins(ensemble, r_feat)
        values, expected = direct_oracle(ensemble, x_feat[index], r_feat, probability, margin_x[index], margin_r)
        oracle.name = (f"direct interventional Shapley values on {count} of the rows, {len(reference)} reference "
                       "rows" + (" (shap does not read categorical splits)" if categorical else ""))
        return values, expected, index

    oracle.name = "interventional"
    oracle.shap_tolerance = INTERVENTIONAL_TOLERANCE
    return oracle
