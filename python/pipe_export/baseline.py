"""The card's ``baseline``: how the model behaved on the validation rows, for ``pipe monitor`` to compare
the decision trail against.

The rows go through the function's own code (model.json as deployed, its validator, explainer, reasons
and decision-trail writer), so the baseline counts exactly what the trail will record:

* ``score``: a binary model's probability of its positive class, or a regression's prediction, cut at its
  deciles (``edges``, ties merged) with each bin's share of the rows; a multiclass model's predicted label
  shares (``labels``);
* ``decisions``: the share of each decision label (binary: the decision; multiclass: the label);
* ``missing``: each feature's share of null values;
* ``first_reason``: how often each feature is the first reason, and how often a record has none;
* ``mean_abs_shap``: each feature's mean |SHAP value| (toward the record's outcome) in the card's
  ``shap_output``; ``mean_abs_reason``: the same counting a feature only where it is one of the reasons,
  which is all a trail line holds of the SHAP values.
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pandas as pd

from .classes import label_text
from .handler_code import handler_modules
from .model_format import ExportError
from .proof import records_of

DECILES = [q / 10 for q in range(1, 10)]
# Rows answered for the baseline at most: a seeded sample of a larger validation split (its deciles and
# shares are then within a point or so of the whole split's, at a bounded cost per build).
MAX_ROWS = 20_000


def _quantile(sorted_values: np.ndarray, q: float) -> float:
    """Linear interpolation between the nearest ranks, as pipe's PSI computes it."""
    at = (len(sorted_values) - 1) * q
    low = int(np.floor(at))
    high = min(len(sorted_values) - 1, low + 1)
    return float(sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (at - low))


def score_bins(scores: np.ndarray) -> dict:
    """The deciles of the scores (equal ones merged) and the share of the scores in each bin: bin k holds
    the scores above k edges (a score equal to an edge falls in the bin below it)."""
    ordered = np.sort(scores)
    edges = sorted(set(_quantile(ordered, q) for q in DECILES))
    bins = np.searchsorted(np.asarray(edges), scores, side="left")
    counts = np.bincount(bins, minlength=len(edges) + 1)
    return {"edges": edges, "shares": (counts / len(scores)).tolist()}


def _shares(values: list, key) -> dict:
    """The share of each value, keyed as the function's answers key classes (``key``)."""
    keys = [key(v) for v in values]
    unique, counts = np.unique(np.asarray(keys, dtype=object), return_counts=True)
    return {key: count / len(keys) for key, count in zip(unique.tolist(), counts.tolist())}


def monitoring_baseline(artifacts: tuple[bytes, dict, bytes, dict], rows: pd.DataFrame, target: str | None,
                        seed: int = 0) -> dict:
    """The baseline of the model in ``artifacts`` (model.json's bytes and document, the card's bytes and
    document) on ``rows`` (the validation rows, raw feature columns; a seeded sample of MAX_ROWS of more)."""
    whole = len(rows)
    if whole > MAX_ROWS:
        rows = rows.iloc[np.sort(np.random.default_rng(seed).permutation(whole)[:MAX_ROWS])]
    model_store, audit, reasons, responses = handler_modules("model_store", "audit", "reasons", "responses")
    key = responses.class_key
    model = model_store.LoadedModel(artifacts=artifacts)
    lines: list[str] = []
    document = artifacts[1]
    model.audit = audit.AuditLog(model.version, model.task, environ={"PIPE_AUDIT_LOG": "decisions"},
                                 write=lines.append, positive_class=document.get("positive_class"),
                                 shap_output=document["shap_output"])
    names = model.names
    records = records_of(rows[names])
    size = int(document["limits"]["max_records"])
    answers = []
    for start in range(0, len(records), size):
        answers.extend(json.loads(model.predict(records[start:start + size], each=True))["predictions"])
    trail = [json.loads(line) for text in lines for line in text.splitlines() if line]
    answered = [a for a in answers if "error" not in a]
    if not answered:
        raise ExportError("the function refused every validation row: there is no baseline to record; "
                          f"the first refusal: {answers[0]['error']['message'] if answers else 'no rows'}")
    task = model.task
    baseline: dict = {"rows": len(answered), "refused": len(answers) - len(answered),
                      "of": "validation rows (validation_index.csv)" if whole <= MAX_ROWS else
                            f"of the {whole} validation rows (validation_index.csv), a seeded sample"}
    if task == "binary":
        scores = np.array([line["output"]["probability"] for line in trail])
        label = label_text(document["positive_class"])
        of = f"probability that {target} is {label}" if target else f"probability of {label}"
        baseline["score"] = {"is": of, **score_bins(scores)}
    elif task == "regression":
        scores = np.array([line["output"]["prediction"] for line in trail])
        baseline["score"] = {"is": f"predicted {target}" if target else "prediction", **score_bins(scores)}
    else:
        baseline["score"] = {"is": "predicted label", "labels": _shares([line["decision"] for line in trail], key)}
    if task != "regression":
        baseline["decisions"] = _shares([line["decision"] for line in trail], key)
    frame = rows[names]
    baseline["missing"] = {name: float(frame[name].isna().mean()) for name in names}
    first = Counter(line["reasons"][0]["feature"] if line["reasons"] else None for line in trail)
    baseline["first_reason"] = {name: first[name] / len(trail) for name in names if first[name]}
    baseline["no_reason"] = first[None] / len(trail)
    if task == "multiclass":
        toward = [a["shap"][key(a["label"])] for a in answered]
    else:
        toward = [a["shap"] for a in answered]
    baseline["mean_abs_shap"] = {name: float(np.mean([abs(s[name]) for s in toward])) for name in names}
    reason_sum = dict.fromkeys(names, 0.0)
    for line in trail:
        for reason in line["reasons"]:
            reason_sum[reason["feature"]] += abs(reason["contribution"])
    baseline["mean_abs_reason"] = {name: total / len(trail) for name, total in reason_sum.items()}
    baseline["reasons_per_decision"] = int((document.get("reasons") or {}).get("count", reasons.DEFAULT_COUNT))
    return baseline
