"""Reasons in words: the features that pushed a prediction toward its outcome, largest contribution first.

Deterministic, from the SHAP values alone. A binary decision's reasons are the features that moved
the output toward that decision (raised it for the positive label, lowered it for the negative one);
a multiclass label's, those that raised its score; a regression's, the largest contributions either
way. Ties go to the feature listed first; features in ``exclude`` (protected attributes) are never
named.

Sentences come from per-feature templates, with a small formatting language::

    {feature}              the feature's name
    {value}                the value as sent: numbers of 1,000 or more whole (1966), with thousands
                           separators from 10,000 (92,700), smaller ones with up to 4 significant
                           digits (0.1542), text as is, true/false, and "missing" for null
    {value:%}              a number as a percentage (0.93 -> 93%); {value:.1%} with one decimal
    {value:.2f}            a number with 2 decimals; {value:,.0f} with thousands separators
    {contribution}         the SHAP value (signed), written as {value} writes numbers: a price model's
                           "by 12,480"; {contribution:.3f} formats it like a number
    {magnitude}            its absolute value (same formats)
    {magnitude:pt}         a probability's change in percentage points, one decimal: "12.4 points"
                           ({magnitude:.2pt} with two; {contribution:pt} signed)
    {direction}            "raised" or "lowered"

and otherwise a generated default: ``"DebtRatio = 0.93 raised the log-odds that default is yes by 0.12"``, or
in probability points where the SHAP values are probabilities: ``"... raised the risk by 12.4 points"``.
"""

from __future__ import annotations

import json
import math
import re
from _string import formatter_parser  # what string.Formatter().parse uses, without importing string
from operator import itemgetter
from typing import Callable

import numpy as np

PLACEHOLDER = re.compile(r"\{([^{}:]*)(?::([^{}]*))?\}")
# Format specs that %-formatting writes as str.format does (not thousands separators or percentages).
PERCENT_SPEC = re.compile(r"^(\.\d+)?[fg]$")
NUMBER_SPEC = re.compile(r"^,?(\.\d{1,2})?[f%]$")
POINTS_SPEC = re.compile(r"^(\.\d)?pt$")
FIELDS = ("feature", "value", "contribution", "magnitude", "direction")
NUMERIC_FIELDS = ("value", "contribution", "magnitude")
DEFAULT_COUNT = 4
# Up to this many records the reasons are chosen in plain Python.
FEW_RECORDS = 2


class TemplateError(ValueError):
    """A reason template names an unknown field or an invalid format."""


# From 1,000 on a number is written whole (an income of 92,700, a price of 215,000), not in 4 significant
# digits, which would write them 9.27e+04 and 2.15e+05; from 10,000 on with thousands separators, so that
# a year or an amount of four digits reads as written (1966, 4062), as the what-if page writes them.
WHOLE_FROM, GROUPED_FROM = 1000, 10000


def show_number(value: int | float) -> str:
    """A finite number as a sentence writes it: "92,700", "-12,480", "1966", "0.1542", "31.5"."""
    size = abs(value)
    if size < WHOLE_FROM or size >= 1e21:  # past 1e21 Python writes floats in exponents anyway
        return f"{value:.4g}" if type(value) is float else str(value)
    if type(value) is int:
        return f"{value:,}" if size >= GROUPED_FROM else str(value)
    return f"{value:,.0f}" if round(size) >= GROUPED_FROM else f"{value:.0f}"


def show_value(value: object) -> str:
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)) and math.isfinite(value):
        return show_number(value)
    return str(value)


def _number(value: object, spec: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return show_value(value)
    if spec.endswith("pt"):
        return format(value * 100, _python_spec(spec)) + " points"
    return format(value, _python_spec(spec))


def compile_template(template: str, feature: str, numeric: bool) -> "ReasonTemplate":
    """The sentence of a template: ``compiled(fields)`` with fields feature, value, contribution,
    magnitude and direction; TemplateError names the feature and what is wrong."""
    return ReasonTemplate(template, feature, numeric)


class ReasonTemplate:
    """A parsed template. ``__call__`` writes the sentence from a dict of fields; ``item_format`` is the
    same sentence as one ``str.format`` string that writes a whole JSON reason object at once."""

    def __init__(self, template: str, feature: str, numeric: bool):
        self.feature = feature
        self.pieces: list = []
        position = 0
        for match in PLACEHOLDER.finditer(template):
            name, spec = match.group(1), match.group(2)
            if name not in FIELDS:
                raise TemplateError(f"template for {feature!r}: unknown placeholder {{{name}}}; "
                                    f"use {', '.join('{' + f + '}' for f in FIELDS)}")
            if spec is not None:
                points = name != "value" and POINTS_SPEC.match(spec)
                if name not in NUMERIC_FIELDS or not (NUMBER_SPEC.match(spec) or points):
                    raise TemplateError(f"template for {feature!r}: invalid format {{{name}:{spec}}}; numbers take "
                                        "':%', ':.1%', ':.2f' or ':,.0f', and contributions also ':pt' (points)")
                if name == "value" and not numeric:
                    raise TemplateError(f"template for {feature!r}: {{value:{spec}}} formats numbers, and "
                                        f"{feature!r} is not a number feature")
            self.pieces.append(template[position: match.start()])
            self.pieces.append((name, spec))
            position = match.end()
        tail = template[position:]
        if "{" in tail or "}" in tail or any("{" in p or "}" in p for p in self.pieces if isinstance(p, str)):
            raise TemplateError(f"template for {feature!r}: unbalanced braces in {template!r}")
        self.pieces.append(tail)
        # Whether the sentence formats the value as a number (then a missing value takes the slow path).
        self.formats_value = any(piece == ("value", piece[1]) and piece[1] is not None
                                 for piece in self.pieces if isinstance(piece, tuple))

    def __call__(self, fields: dict) -> str:
        out = []
        for piece in self.pieces:
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

    def item_format(self, value_json: str = "{0}", value_text: str = "{1}") -> str:
        """The JSON reason object as a format string of (value as JSON, value as text, value, contribution,
        magnitude, direction, contribution as JSON, contribution x 100, magnitude x 100, contribution and
        magnitude as show_number writes them), the text's fixed parts escaped for JSON once, here.
        ``value_json`` and ``value_text`` say how the value is written (a number: "{2!r}" or "{2}", and
        the text show_number writes in place of {1})."""
        text = []
        for piece in self.pieces:
            if isinstance(piece, str):
                text.append(_escaped(piece))
                continue
            name, spec = piece
            if name == "feature":
                text.append(_escaped(self.feature))
            elif name == "direction":
                text.append("{5}")
            elif name == "value":
                text.append(value_text if spec is None else "{2:" + _python_spec(spec) + "}")
            elif spec is not None and spec.endswith("pt"):  # in points: the fields' hundredfold copies
                text.append("{%d:%s} points" % (7 if name == "contribution" else 8, _python_spec(spec)))
            elif spec is None:  # a contribution or magnitude is always a finite float: as show_number writes it
                text.append("{9}" if name == "contribution" else "{10}")
            else:
                text.append("{%d:%s}" % (3 if name == "contribution" else 4, _python_spec(spec)))
        # repr: the shortest text that reads back as the same double, as JSON writes floats.
        return ('{{"feature":' + _escaped_json(json.dumps(self.feature)) + ',"value":' + value_json
                + ',"contribution":{6},"text":"' + "".join(text) + '"}}')


def _percent_format(template: str) -> tuple[str, Callable[[tuple], tuple]] | None:
    """A str.format string of numbered fields as a %-format and the picker of its fields, in order, from
    the tuple str.format would take; None when a spec has no %-form."""
    out, order = [], []
    for literal, field, spec, conversion in formatter_parser(template):
        out.append(literal.replace("%", "%%"))
        if field is None:
            continue
        if spec and not PERCENT_SPEC.match(spec):
            return None
        out.append("%" + (spec or ("r" if conversion == "r" else "s")))
        order.append(int(field))
    pick = itemgetter(*order) if len(order) > 1 else lambda fields: tuple(fields[i] for i in order)
    return "".join(out), pick


def _write(item_format: tuple[str, Callable[[tuple], tuple] | None], fields: tuple) -> str:
    template, pick = item_format
    return template % pick(fields) if pick is not None else template.format(*fields)


def _python_spec(spec: str) -> str:
    # A bare '%' is a whole percentage (Python's own default would print six decimals); points are a
    # number of one decimal unless the spec says.
    if spec.endswith("pt"):
        return (spec[:-2] or ".1") + "f"
    return spec[:-1] + ".0%" if spec in ("%", ",%") else spec


def _escaped(text: str) -> str:
    """Text as it reads inside a JSON string, with braces doubled for str.format."""
    return _escaped_json(json.dumps(text)[1:-1])


def _escaped_json(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _value_json_and_text(value: object) -> tuple[str, str]:
    """A value as sent, as JSON and as show_value writes it (JSON-escaped)."""
    kind = type(value)
    if kind is float:
        return repr(value), show_number(value)
    if kind is str:
        encoded = json.dumps(value)
        return encoded, encoded[1:-1]
    if value is None:
        return "null", "missing"
    if kind is bool:
        return ("true", "true") if value else ("false", "false")
    if kind is int:
        return repr(value), show_number(value)
    encoded = json.dumps(value)
    return encoded, json.dumps(show_value(value))[1:-1]


class ReasonWriter:
    """Chooses and words the reasons of a batch of records."""

    def __init__(self, names: list[str], types: list[str], task: str, settings: dict, subject: str,
                 in_points: bool = False):
        """``in_points``: the SHAP values are probabilities, and the default sentence gives them in points."""
        self.names = names
        self.task = task
        self.count = int(settings.get("count", DEFAULT_COUNT))
        excluded = set(settings.get("exclude") or [])
        self._allowed = np.array([name not in excluded for name in names])
        self._allowed_features = np.nonzero(self._allowed)[0].tolist()
        templates = settings.get("templates") or {}
        default = ("{feature} = {value} {direction} the " + re.sub(r"[{}]", "", subject)
                   + (" by {magnitude:pt}" if in_points else " by {magnitude}"))
        self._templates = [compile_template(templates.get(name, default), name, kind == "number")
                           for name, kind in zip(names, types)]
        # Per feature, the reason's format by the value's type: numbers format themselves in the one
        # call; other values (text, booleans, missing) come as JSON and text. As a %-format where the
        # template's specs allow (about a third faster than str.format's), with the fields it takes.
        self._formats = [{kind: _percent_format(item) or (item, None) for kind, item in
                          ((float, t.item_format("{2!r}")), (int, t.item_format("{2}")),
                           (None, t.item_format()))} for t in self._templates]

    def reasons(self, shap: np.ndarray, positive: np.ndarray | None, records: list[dict]) -> list[str]:
        """JSON arrays of reasons, one per record. shap: (n, features) toward the outcome's output;
        positive: per record, whether the outcome is the one the output measures (binary decisions)."""
        return self.arrays(shap.tolist(), self.chosen(shap, positive), records)

    def arrays(self, shap: list[list[float]], chosen: list[list[int]], records: list[dict],
               texts: list[list[str]] | None = None) -> list[str]:
        """JSON arrays of the chosen reasons, one per record (see ``items``)."""
        return ["[" + ",".join(items) + "]" for items in self.items(shap, chosen, records, texts)]

    def chosen(self, shap: np.ndarray, positive: np.ndarray | None) -> list[list[int]]:
        """Per record, the features named as reasons: largest score first, ties in feature order."""
        if len(shap) <= FEW_RECORDS:  # the same choice in Python: numpy's fixed costs would dominate
            return [self._chosen_one(row, None if positive is None else bool(p))
                    for row, p in zip(shap.tolist(), [None] * len(shap) if positive is None else positive.tolist())]
        if self.task == "regression":
            score = np.abs(shap)
        elif positive is None:
            score = shap
        else:
            score = np.where(positive[:, None], shap, -shap)
        score = np.where(self._allowed & (score > 0), score, 0.0)
        # The stable sort keeps feature order among equal scores; features that did not push are dropped.
        order = np.argsort(-score, axis=1, kind="stable")[:, : self.count]
        named = np.take_along_axis(score, order, axis=1) > 0
        return [picks[:count] for picks, count in zip(order.tolist(), named.sum(axis=1).tolist())]

    def _chosen_one(self, row: list[float], positive: bool | None) -> list[int]:
        if self.task == "regression":
            score = [abs(v) for v in row]
        elif positive is False:
            score = [-v for v in row]
        else:
            score = row
        # sorted is stable: equal scores keep feature order.
        return sorted((f for f in self._allowed_features if score[f] > 0), key=lambda f: -score[f])[: self.count]

    def items(self, shap: list[list[float]] | np.ndarray, chosen: list[list[int]], records: list[dict],
              texts: list[list[str]] | None = None) -> list[list[str]]:
        """Per record, its chosen reasons as JSON objects (feature, value, contribution, text). shap: per
        record, the SHAP values toward its outcome; texts, when given: the same values as JSON text."""
        names, formats, templates = self.names, self._formats, self._templates
        if isinstance(shap, np.ndarray):
            shap = shap.tolist()
        out = []
        for r, (picks, contributions, record) in enumerate(zip(chosen, shap, records)):
            items = []
            for f in picks:
                contribution = contributions[f]
                written = texts[r][f] if texts is not None else repr(contribution)
                value = record[names[f]]
                direction = "raised" if contribution > 0 else "lowered"
                number_format = formats[f].get(type(value))  # a float or an int (finite: validated)
                magnitude = abs(contribution)
                # item_format's fields after the value's three (as JSON, as text, as a number).
                shares = (contribution, magnitude, direction, written, contribution * 100, magnitude * 100,
                          show_number(contribution), show_number(magnitude))
                if number_format is not None:
                    items.append(_write(number_format, (None, show_number(value), value) + shares))
                elif not templates[f].formats_value:
                    encoded, shown = _value_json_and_text(value)
                    items.append(_write(formats[f][None], (encoded, shown, None) + shares))
                else:  # a number format and no number to format (a missing value): the sentence falls back
                    text = templates[f]({"feature": names[f], "value": value, "contribution": contribution,
                                         "magnitude": magnitude, "direction": direction})
                    items.append('{"feature":%s,"value":%s,"contribution":%s,"text":%s}'
                                 % (json.dumps(names[f]), json.dumps(value), written, json.dumps(text)))
            out.append(items)
        return out


def subject_of(task: str, shap_output: str, positive_class: object | None, configured: str | None,
               target: str | None = None) -> str:
    """What the output is, in words, for the default sentence: of which class, in which space."""
    if configured:
        return configured
    if task == "regression":  # in the target's own unit, which its name often gives: "Sale price ($)"
        return f"predicted {target}" if target else "prediction"
    space = "probability" if shap_output == "probability" else "log-odds"
    if positive_class is None:
        return f"{space} of the predicted class"
    label = show_value(positive_class)
    return f"{space} that {target} is {label}" if target else f"{space} of {label}"
