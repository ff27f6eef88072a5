"""Reasons in words: the features that pushed a prediction toward its outcome, largest contribution first.

Deterministic, from the SHAP values alone. A binary decision's reasons are the features that moved
the output toward that decision (raised it for the positive label, lowered it for the negative one);
a multiclass label's, those that raised its score; a regression's, the largest contributions either
way. Ties go to the feature listed first; features in ``exclude`` (protected attributes) are never
named.

Sentences come from per-feature templates, with a small formatting language::

    {feature}              the feature's name
    {value}                the value as sent: numbers with up to 4 significant digits, text as is,
                           true/false, and "missing" for null
    {value:%}              a number as a percentage (0.93 -> 93%); {value:.1%} with one decimal
    {value:.2f}            a number with 2 decimals; {value:,.0f} with thousands separators
    {contribution}         the SHAP value (signed); {contribution:.3f} formats it like a number
    {magnitude}            its absolute value (same formats)
    {direction}            "raised" or "lowered"

and otherwise a generated default: ``"DebtRatio = 0.93 raised the risk by 0.12"``.
"""

from __future__ import annotations

import json
import math
import re
from typing import Callable

import numpy as np

PLACEHOLDER = re.compile(r"\{([^{}:]*)(?::([^{}]*))?\}")
NUMBER_SPEC = re.compile(r"^,?(\.\d{1,2})?[f%]$")
FIELDS = ("feature", "value", "contribution", "magnitude", "direction")
NUMERIC_FIELDS = ("value", "contribution", "magnitude")
DEFAULT_COUNT = 4


class TemplateError(ValueError):
    """A reason template names an unknown field or an invalid format."""


def show_value(value: object) -> str:
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"{value:.4g}" if isinstance(value, float) else str(value)
    return str(value)


def _number(value: object, spec: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return show_value(value)
    # A bare '%' is a whole percentage (Python's own default would print six decimals).
    return format(value, spec[:-1] + ".0%" if spec in ("%", ",%") else spec)


def compile_template(template: str, feature: str, numeric: bool) -> Callable[[dict], str]:
    """A function of {feature, value, contribution, magnitude, direction} giving the sentence."""
    pieces: list = []
    position = 0
    for match in PLACEHOLDER.finditer(template):
        name, spec = match.group(1), match.group(2)
        if name not in FIELDS:
            raise TemplateError(f"template for {feature!r}: unknown placeholder {{{name}}}; "
                                f"use {', '.join('{' + f + '}' for f in FIELDS)}")
        if spec is not None:
            if name not in NUMERIC_FIELDS or not NUMBER_SPEC.match(spec):
                raise TemplateError(f"template for {feature!r}: invalid format {{{name}:{spec}}}; numbers take "
                                    "':%', ':.1%', ':.2f' or ':,.0f'")
            if name == "value" and not numeric:
                raise TemplateError(f"template for {feature!r}: {{value:{spec}}} formats numbers, and "
                                    f"{feature!r} is not a number feature")
        pieces.append(template[position: match.start()])
        pieces.append((name, spec))
        position = match.end()
    tail = template[position:]
    if "{" in tail or "}" in tail or any("{" in p or "}" in p for p in pieces if isinstance(p, str)):
        raise TemplateError(f"template for {feature!r}: unbalanced braces in {template!r}")
    pieces.append(tail)

    def render(fields: dict) -> str:
        out = []
        for piece in pieces:
            if isinstance(piece, str):
                out.append(piece)
            else:
                name, spec = piece
                value = fields[name]
                if name in ("feature", "direction"):
                    out.append(str(value))
                else:
                    out.append(show_value(value) if spec is None else _number(value, spec))
        return "".join(out)

    return render


class ReasonWriter:
    """Chooses and words the reasons of a batch of records."""

    def __init__(self, names: list[str], types: list[str], task: str, settings: dict, subject: str):
        self.names = names
        self.task = task
        self.count = int(settings.get("count", DEFAULT_COUNT))
        excluded = set(settings.get("exclude") or [])
        self._allowed = np.array([name not in excluded for name in names])
        templates = settings.get("templates") or {}
        default = "{feature} = {value} {direction} the " + re.sub(r"[{}]", "", subject) + " by {magnitude}"
        self._render = [compile_template(templates.get(name, default), name, kind == "number")
                        for name, kind in zip(names, types)]

    def reasons(self, shap: np.ndarray, positive: np.ndarray | None, records: list[dict]) -> list[str]:
        """JSON arrays of reasons, one per record. shap: (n, features) toward the outcome's output;
        positive: per record, whether the outcome is the one the output measures (binary decisions)."""
        if self.task == "regression":
            score = np.abs(shap)
        elif positive is None:
            score = shap
        else:
            score = np.where(positive[:, None], shap, -shap)
        score = np.where(self._allowed & (score > 0), score, 0.0)
        # Largest first; the stable sort keeps feature order among equal scores.
        order = np.argsort(-score, axis=1, kind="stable")[:, : self.count]
        out = []
        for row, (picks, record) in enumerate(zip(order.tolist(), records)):
            items = []
            for f in picks:
                if score[row, f] <= 0:
                    break
                contribution = float(shap[row, f])
                name = self.names[f]
                value = record[name]
                fields = {"feature": name, "value": value, "contribution": contribution,
                          "magnitude": abs(contribution), "direction": "raised" if contribution > 0 else "lowered"}
                text = self._render[f](fields)
                items.append('{"feature":%s,"value":%s,"contribution":%.17g,"text":%s}'
                             % (json.dumps(name), json.dumps(value), contribution, json.dumps(text)))
            out.append("[" + ",".join(items) + "]")
        return out


def subject_of(task: str, shap_output: str, label: object | None, configured: str | None) -> str:
    """What the output is, in words, for the default sentence."""
    if configured:
        return configured
    if task == "regression":
        return "prediction"
    space = "probability" if shap_output == "probability" else "log-odds"
    return f"{space} of {show_value(label)}" if label is not None else f"{space} of the predicted class"
