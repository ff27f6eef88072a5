"""The build-time proof: the deployed document, read as the function reads it, against the estimator.

Checked on the rows given (at least 200, with missing values and every category), relative to the
scale of the output, ``scale = max(1, largest |prediction| among the rows)``: float rounding grows with
the numbers, and a price of 200,000 cannot be matched to an absolute 1e-9.

* predictions within 1e-9 x scale of the fitted object's own predict_proba / predict on the raw frame;
* SHAP values within max(1e-6, 1e-9 x scale) of the oracle (shap.TreeExplainer where it is exact, the
  library's own pred_contrib otherwise), and the base value likewise, when the adapter has a
  trustworthy oracle; a library computing in float32 (XGBoost) gets its own allowance, times scale;
* additivity: base_value + sum(shap) equals, within 1e-9 x scale, the margin read off the trees by
  walking each record down them (model_format.leaf_margins), apart from the SHAP algorithms.

For probabilities and log-odds the scale is 1: as strict as absolute tolerances.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from .handler_code import handler_modules
from .model_format import ExportError, leaf_margins

SHAP_TOLERANCE = 1e-6
PREDICTION_TOLERANCE = 1e-9


class ProofError(Exception):
    """The runtime explainer disagrees with the estimator or its oracle (exit code 1)."""


class Proof(NamedTuple):
    rows: int
    oracle: str
    max_abs_shap_diff: float | None
    max_abs_prediction_diff: float
    max_additivity_error: float
    shap: np.ndarray  # (rows, outputs, features): ours, for the plot
    base_value: list[float]


def check_reasons(settings: dict, features: list[dict]) -> dict:
    """The reasons settings for model.json, each template compiled by the function's own code now."""
    [reasons] = handler_modules("reasons")
    names = {f["name"]: f["type"] for f in features}
    unknown = sorted((set(settings.get("templates") or {}) | set(settings.get("exclude") or [])) - set(names))
    if unknown:
        raise ExportError(f"reasons: {unknown[0]!r} is not a feature of the model (features: {', '.join(names)})")
    count = settings.get("count", min(reasons.DEFAULT_COUNT, len(names)))
    if type(count) is not int or count < 0:
        raise ExportError(f"reasons.count must be a whole number (0 or more), got {count!r}")
    for feature, template in (settings.get("templates") or {}).items():
        if not isinstance(template, str):
            raise ExportError(f"reasons.templates[{feature!r}] must be a string")
        try:
            reasons.compile_template(template, feature, names[feature] == "number")
        except reasons.TemplateError as err:
            raise ExportError(f"reasons.templates: {err}") from err
    return {"count": count, "exclude": list(settings.get("exclude") or []),
            "templates": dict(settings.get("templates") or {}), **({"subject": settings["subject"]}
                                                                 if settings.get("subject") else {})}


def records_of(frame: pd.DataFrame) -> list[dict]:
    """Rows as JSON records: None for missing, Python numbers, strings and booleans."""
    records = []
    for row in frame.to_dict(orient="records"):
        record = {}
        for name, value in row.items():
            if value is None or (isinstance(value, float) and np.isnan(value)):
                record[name] = None
            else:
                record[name] = value.item() if isinstance(value, np.generic) else value
        records.append(record)
    return records


def model_outputs(model, frame: pd.DataFrame, task: str, positive: int = 1) -> np.ndarray:
    """The fitted object's own predictions on the raw frame: (n, classes), or (n,) for one output (a binary
    model's: the probability of its positive class, ``positive`` in the estimator's class order)."""
    if task == "regression":
        return np.asarray(model.predict(frame), dtype=np.float64)
    proba = np.asarray(model.predict_proba(frame), dtype=np.float64)
    return proba[:, positive] if task == "binary" else proba


def tolerances(expected: np.ndarray, reference) -> tuple[float, float, float]:
    """(scale, prediction tolerance, SHAP tolerance) for outputs of this size (see the module's note)."""
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    prediction = getattr(reference, "prediction_tolerance", PREDICTION_TOLERANCE) * scale
    own = getattr(reference, "shap_tolerance", None)
    shap = own * scale if own is not None else max(SHAP_TOLERANCE, PREDICTION_TOLERANCE * scale)
    return scale, prediction, shap


def prove(document: dict, model, frame: pd.DataFrame, reference, positive: int = 1) -> Proof:
    """``reference(frame) -> (shap (n, K, F) in feature order, expected (K,)) or None`` is the oracle, or
    ``(shap of some rows, expected, their row indices)`` for one that checks a few; ``positive``: a
    binary model's positive class, as an index into the estimator's classes."""
    explainer, validation = handler_modules("explainer", "validation")
    specs = [validation.FeatureSpec.from_document(f) for f in document["features"]]
    records = records_of(frame[[f["name"] for f in document["features"]]])
    try:
        batch = validation.RecordValidator(specs, len(records)).to_batch(records)
        runtime = explainer.TreeModelExplainer(document["ensemble"], len(specs), document.get("reference"),
                                               explainer.space_of(document))
    except validation.RequestError as err:
        raise ProofError(f"a training row is refused by the function: {err.message}") from err
    except explainer.ModelFormatError as err:
        raise ProofError(f"the function cannot load this model: {err}") from err
    ours = runtime.explain(batch.x)
    prediction = explainer.apply_link(document["link"], ours.margin)
    if document["task"] != "multiclass":
        prediction = prediction[:, 0]

    failures = []
    expected = model_outputs(model, frame, document["task"], positive)
    # A library that computes in float32 (XGBoost) is matched to its own precision, not to 1e-9.
    scale, prediction_tolerance, shap_tolerance = tolerances(expected, reference)
    prediction_diff = float(np.max(np.abs(prediction - expected)))
    if not prediction_diff <= prediction_tolerance:
        failures.append(f"predictions differ from the estimator's by {prediction_diff:.3g} "
                        f"(> {prediction_tolerance:.3g})")
    reached = leaf_margins(document["ensemble"], batch.x)
    if runtime.space == "probability":  # the values add up to the probability
        reached = 1.0 / (1.0 + np.exp(-reached))
    additivity = float(np.max(np.abs(ours.base_value + ours.shap.sum(axis=2) - reached)))
    if not additivity <= PREDICTION_TOLERANCE * scale:
        failures.append(f"base value + sum(SHAP) misses the trees' own output by {additivity:.3g} "
                        f"(> {PREDICTION_TOLERANCE * scale:.3g})")
    oracle = reference(frame)
    shap_diff = None
    if oracle is not None:
        values, expected_value = oracle[:2]
        checked = ours.shap if len(oracle) == 2 else ours.shap[oracle[2]]
        shap_diff = float(np.max(np.abs(checked - values)))
        base_diff = float(np.max(np.abs(ours.base_value - expected_value)))
        if not shap_diff <= shap_tolerance:
            failures.append(f"SHAP values differ from the oracle's by {shap_diff:.3g} (> {shap_tolerance:.3g})")
        if not base_diff <= shap_tolerance:
            failures.append(f"the base value differs from the oracle's expected value by {base_diff:.3g} "
                            f"(> {shap_tolerance:g})")
    if failures:
        raise ProofError("; ".join(failures))
    return Proof(rows=len(records), oracle=getattr(reference, "name", "none"), max_abs_shap_diff=shap_diff,
                 max_abs_prediction_diff=prediction_diff, max_additivity_error=additivity, shap=ours.shap,
                 base_value=[float(v) for v in ours.base_value])


def check_rows(frame: pd.DataFrame, features: list[dict], rows: int, seed: int) -> pd.DataFrame:
    """At least ``rows`` rows: a seeded sample, plus a row for every category, plus copies with each
    feature missing where the model takes missing values (so every default branch is exercised)."""
    rng = np.random.default_rng(seed)
    # The missing copies' holes must survive the cast back: whole numbers (a user's int64 column) as
    # floats holding NaN, booleans as objects holding None (a bool column would read None as False).
    numbers = {f["name"] for f in features if f["type"] == "number"}
    kinds = {name: kind if not (pd.api.types.is_integer_dtype(kind) or pd.api.types.is_bool_dtype(kind)) else
             np.float64 if name in numbers and not pd.api.types.is_bool_dtype(kind) else object
             for name, kind in frame.dtypes.items()}
    frame = frame.astype(kinds)
    required = [f["name"] for f in features if f["missing"] == "required"]
    if required:
        frame = frame[frame[required].notna().all(axis=1)]
    sample = frame.iloc[rng.permutation(len(frame))[:rows]]
    extra = []
    for feature in features:
        name = feature["name"]
        for category in feature.get("categories") or []:
            if not (sample[name] == category).any():
                hits = frame.index[frame[name] == category]
                if len(hits):
                    extra.append(frame.loc[[hits[0]]])
        if feature["missing"] != "required":
            holes = sample.iloc[: max(1, rows // 20)].copy()
            holes[name] = np.nan if feature["type"] == "number" else None
            extra.append(holes.astype(kinds))
    checked = pd.concat([sample, *extra], ignore_index=True)
    # A small table is topped up with its rows, each time with another feature missing.
    allowed = [f for f in features if f["missing"] != "required"]
    for turn in range(len(allowed) if len(sample) else 0):
        if len(checked) >= rows:
            break
        feature = allowed[turn]
        holes = sample.copy()
        holes[feature["name"]] = np.nan if feature["type"] == "number" else None
        checked = pd.concat([checked, holes.astype(kinds)], ignore_index=True)
    if len(checked) < rows:
        raise ProofError(f"only {len(checked)} rows to verify the export on; the proof needs {rows}")
    return checked
