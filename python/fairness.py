"""model.fairness: how the model treats groups of people, on the validation split, at the decision cutoff.

Group columns (a protected attribute: marital status, age, ...) are read from the data for this report
only: they are never features, never in a request, never in a reason. Per group value:

- rows;
- binary: the approval rate (the share given the favourable decision), the adverse impact ratio (AIR:
  the group's approval rate over the control group's, flagged below 0.8, the four-fifths rule), the
  score's standardized mean difference against the control group (difference of the mean probability of
  the positive class, in standard deviations of that probability over all validation rows), and the
  observed and predicted positive-class rates;
- regression: the mean prediction and its standardized difference;
- multiclass: the share of rows predicted as each label.

A group with fewer than MIN_ROWS rows is reported but neither flagged nor gated.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from estimators import UsageError
from tabular_data import MISSING_TOKENS

MIN_ROWS = 30
FOUR_FIFTHS = 0.8
SETTING_KEYS = {"groups", "bands", "control", "minAir", "favourable"}


class FairnessGateError(Exception):
    """model.fairness.minAir: a group's approval ratio is below it (exit 1, the table shown)."""


def check_setting(setting: object, features: list[str] | None, columns: list[str]) -> dict:
    """The setting, checked against the data's columns and model.features (exit 2 for every mistake)."""
    if not isinstance(setting, dict):
        raise UsageError("model.fairness must be an object such as { groups: ['Marital'] }")
    unknown = sorted(set(setting) - SETTING_KEYS)
    if unknown:
        raise UsageError(f"model.fairness has unknown key {unknown[0]!r}; allowed: {', '.join(sorted(SETTING_KEYS))}")
    groups = setting.get("groups")
    if not isinstance(groups, list) or not groups or not all(isinstance(g, str) for g in groups):
        raise UsageError("model.fairness.groups must list the data's group columns, e.g. ['Marital', 'Age']")
    absent = [g for g in groups if g not in columns]
    if absent:
        raise UsageError(f"model.fairness.groups names {absent[0]!r}, which the data does not have "
                         f"(columns: {', '.join(columns)})")
    named = [g for g in groups if g in (features or [])]
    if named:
        raise UsageError(f"model.features names {named[0]!r}, which model.fairness.groups lists: a protected "
                         "attribute must not drive the decision. Remove it from model.features; it is read for "
                         "the fairness report only")
    bands = setting.get("bands") or {}
    for name, cuts in bands.items():
        if name not in groups:
            raise UsageError(f"model.fairness.bands cuts {name!r}, which is not in model.fairness.groups")
        if not isinstance(cuts, list) or not cuts or not all(isinstance(c, (int, float)) for c in cuts) \
                or any(b <= a for a, b in zip(cuts, cuts[1:])):
            raise UsageError(f"model.fairness.bands.{name} must be increasing numbers, e.g. [25, 40, 60]")
    control = setting.get("control") or {}
    for name in control:
        if name not in groups:
            raise UsageError(f"model.fairness.control names {name!r}, which is not in model.fairness.groups")
    min_air = setting.get("minAir")
    if min_air is not None and not (isinstance(min_air, (int, float)) and 0 < min_air <= 1):
        raise UsageError(f"model.fairness.minAir must be a ratio above 0 and at most 1 (0.8: the four-fifths rule), "
                         f"got {min_air!r}")
    return {"groups": groups, "bands": bands, "control": control, "minAir": min_air,
            "favourable": setting.get("favourable")}


def band_label(value: float, cuts: list[float]) -> str:
    fmt = lambda x: f"{x:g}"  # noqa: E731
    if value < cuts[0]:
        return f"<{fmt(cuts[0])}"
    for low, high in zip(cuts, cuts[1:]):
        if low <= value < high:
            return f"{fmt(low)}-{fmt(high)}"
    return f">={fmt(cuts[-1])}"


def group_values(raw: pd.Series, cuts: list[float] | None, name: str) -> pd.Series:
    """A group column's value per row as text: its value, its band, or 'missing'."""
    text = raw.astype(str).str.strip()
    missing = text.isin(MISSING_TOKENS)
    if cuts is None:
        return text.where(~missing, "missing")
    numbers = pd.to_numeric(text.where(~missing), errors="coerce")
    bad = ~missing & numbers.isna()
    if bad.any():
        raise UsageError(f"model.fairness.bands.{name}: {name!r} holds {text[bad].iloc[0]!r}, which is not a number")
    return pd.Series([("missing" if math.isnan(v) else band_label(v, cuts)) for v in numbers], index=raw.index)


def _smd(values: np.ndarray, mask: np.ndarray, control: np.ndarray, spread: float) -> float | None:
    if spread == 0 or not mask.any() or not control.any():
        return None
    return float((values[mask].mean() - values[control].mean()) / spread)


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 6)


def report(setting: dict, groups: pd.DataFrame, task: str, *, proba: np.ndarray | None = None,
           classes: list | None = None, positive: object = None, decision: dict | None = None,
           observed: np.ndarray | None = None, predicted: np.ndarray | None = None) -> dict:
    """The fairness section of the card: per group column, one row per value (sorted by value)."""
    out: dict = {"split": "validation", "rows": int(len(groups)), "min_rows": MIN_ROWS, "groups": {}}
    if task == "binary":
        column = classes.index(positive)
        score = proba[:, column]
        positive_label, negative_label = decision["positive"], decision["negative"]
        favourable = setting["favourable"] if setting["favourable"] is not None else negative_label
        if favourable not in (positive_label, negative_label):
            raise UsageError(f"model.fairness.favourable is {favourable!r}; it must be one of the decision's labels: "
                             f"{positive_label!r} (positive) or {negative_label!r} (negative)")
        threshold = float(decision["threshold"])
        favoured = (score >= threshold) if favourable == positive_label else (score < threshold)
        out.update({"favourable": favourable, "threshold": threshold, "four_fifths": FOUR_FIFTHS,
                    "score": f"probability of {positive}", "positive_class": positive})
        if setting["minAir"] is not None:
            out["min_air"] = setting["minAir"]
        spread = float(score.std())
        is_positive = observed == positive
    elif task == "regression":
        spread = float(predicted.std())
    flagged, failing = [], []
    for name in setting["groups"]:
        values = groups[name].to_numpy()
        levels = sorted(set(values.tolist()), key=lambda v: (v == "missing", v))
        rows = []
        for level in levels:
            mask = values == level
            row = {"group": level, "rows": int(mask.sum()), "small": bool(mask.sum() < MIN_ROWS)}
            if task == "binary":
                row.update({"approval_rate": _round(favoured[mask].mean()),
                            "observed_positive_rate": _round(is_positive[mask].mean()),
                            "predicted_positive_rate": _round(score[mask].mean())})
            elif task == "regression":
                row["mean_prediction"] = _round(predicted[mask].mean())
            else:
                labels = np.asarray(classes)[proba[mask].argmax(1)]
                row["predicted_rates"] = {str(c): _round(np.mean(labels == c)) for c in classes}
            rows.append(row)
        section: dict = {"values": rows}
        if task in ("binary", "regression"):
            eligible = [r for r in rows if not r["small"]]
            control = setting["control"].get(name)
            if control is not None:
                control = str(control)
                if control not in levels:
                    raise UsageError(f"model.fairness.control.{name} is {control!r}, which no validation row has "
                                     f"(values: {', '.join(levels)})")
            elif eligible and task == "binary":
                control = max(eligible, key=lambda r: (r["approval_rate"], r["rows"]))["group"]
            elif eligible:
                control = max(eligible, key=lambda r: r["rows"])["group"]
            section["control"] = control
            section["control_chosen"] = "model.fairness.control" if name in setting["control"] else (
                "highest approval rate" if task == "binary" else "most rows")
            if control is not None:
                control_mask = values == control
                base = next(r for r in rows if r["group"] == control)
                for row in rows:
                    mask = values == row["group"]
                    if task == "binary":
                        row["smd"] = _round(_smd(score, mask, control_mask, spread))
                        rate = base["approval_rate"]
                        row["air"] = _round(row["approval_rate"] / rate) if rate else None
                        row["flagged"] = bool(not row["small"] and row["air"] is not None and row["air"] < FOUR_FIFTHS)
                        if row["flagged"]:
                            flagged.append(f"{name}={row['group']}")
                        if (not row["small"] and row["air"] is not None and setting["minAir"] is not None
                                and row["air"] < setting["minAir"]):
                            failing.append(f"{name}={row['group']} (AIR {row['air']:.3f})")
                    else:
                        row["smd"] = _round(_smd(predicted, mask, control_mask, spread))
        out["groups"][name] = section
    if task == "binary":
        out["flagged"] = flagged
        out["passed"] = not failing
        out["failing"] = failing
    return out


def table_lines(fairness: dict) -> list[str]:
    """The report as a small text table, one block per group column."""
    lines = []
    binary = "favourable" in fairness
    positive = fairness.get("positive_class")
    if binary:
        lines.append(f"fairness on {fairness['rows']} validation rows: approval = decision {fairness['favourable']!r} "
                     f"(cutoff {fairness['threshold']:g} on the {fairness['score']}); AIR flagged below "
                     f"{fairness['four_fifths']}; SMD in standard deviations of the score")
    else:
        lines.append(f"fairness on {fairness['rows']} validation rows")
    for name, section in fairness["groups"].items():
        control = section.get("control")
        lines.append(f"  {name}" + (f" (control: {control}, {section['control_chosen']})" if control is not None else ""))
        width = max([14] + [len(str(row["group"])) for row in section["values"]])
        for row in section["values"]:
            note = " (fewer than %d rows: not flagged)" % fairness["min_rows"] if row["small"] else ""
            if binary:
                air = "n/a" if row.get("air") is None else f"{row['air']:.3f}"
                smd = "n/a" if row.get("smd") is None else f"{row['smd']:+.3f}"
                flag = "  FLAGGED" if row.get("flagged") else ""
                lines.append(f"    {row['group']:<{width}} {row['rows']:>6} rows  approval {row['approval_rate']:.1%}  "
                             f"AIR {air}  SMD {smd}  {positive} observed {row['observed_positive_rate']:.1%}, "
                             f"predicted {row['predicted_positive_rate']:.1%}{flag}{note}")
            elif "mean_prediction" in row:
                smd = "n/a" if row.get("smd") is None else f"{row['smd']:+.3f}"
                lines.append(f"    {row['group']:<{width}} {row['rows']:>6} rows  mean prediction {row['mean_prediction']:.6g}  "
                             f"SMD {smd}{note}")
            else:
                rates = ", ".join(f"{k} {v:.1%}" for k, v in row["predicted_rates"].items())
                lines.append(f"    {row['group']:<{width}} {row['rows']:>6} rows  predicted {rates}{note}")
    return lines
