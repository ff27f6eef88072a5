"""Which class a binary model's probability is of, and the document's trees turned to explain it.

An estimator's binary output is the probability (or log-odds) of the second of its sorted labels.
That is the right class only by luck: for ``good``/``bad`` it is ``good``. So the positive class is
chosen, never assumed: ``1`` or ``true`` for 0/1 and boolean targets, ``yes``/``y``/``positive``
against their opposite, and otherwise the configured ``positive_class`` or an error naming both
labels. When it is the first label, the trees are negated (the margin of the other class), so that
``probability``, the SHAP values, the base value and the reasons are all of the positive class.
"""

from __future__ import annotations

import json

from .model_format import ExportError

# A label and the opposite that makes it the positive one, compared without case.
OPPOSITES = {"yes": "no", "y": "n", "positive": "negative", "true": "false"}
# Per link, the constant c with output(first class) = c - output(second class) in the margin space:
# log-odds negate (sigmoid(-m) = 1 - sigmoid(m)), probabilities complement.
COMPLEMENT = {"sigmoid": 0.0, "identity": 1.0}


def label_text(label: object) -> str:
    """A label as a person reads it and a config writes it: true, 1, bad."""
    return json.dumps(label) if isinstance(label, bool) else str(label)


def _is(label: object, given: object) -> bool:
    if type(label) is type(given):
        return label == given
    # A config may write the label of a 0/1 target as "1", or of a boolean one as "true".
    return isinstance(given, str) and label_text(label) == given


def positive_index(classes: list, given: object | None, setting: str = "positive_class") -> int:
    """The index in ``classes`` (two labels, the estimator's order) of the positive class."""
    if given is not None:
        hits = [i for i, label in enumerate(classes) if _is(label, given)]
        if len(hits) != 1:
            raise ExportError(f"{setting} is {label_text(given)!r}, which is not a class of the target; "
                              f"the classes are {label_text(classes[0])!r} and {label_text(classes[1])!r}")
        return hits[0]
    texts = [label_text(label).lower() for label in classes]
    if all(type(label) is bool for label in classes) or sorted(texts) == ["0", "1"]:
        return texts.index("true") if "true" in texts else texts.index("1")
    for i, text in enumerate(texts):
        if OPPOSITES.get(text) == texts[1 - i]:
            return i
    first, second = label_text(classes[0]), label_text(classes[1])
    raise ExportError(f"the target's classes are {first!r} and {second!r}: set {setting} to the one whose "
                      f"probability the model reports, the event a decision acts on (a default, a fraud): "
                      f"{first!r} or {second!r}")


def check_decision(classes: list, positive: int, decision: dict, setting: str = "decision",
                   class_setting: str = "positive_class") -> None:
    """The decision's labels may be free words, but a label that is a class name must mean that class:
    ``positive`` labels probability >= threshold, i.e. the positive class, and ``negative`` the other."""
    texts = [label_text(c) for c in classes]
    for key, meant, rule in (("positive", positive, ">= threshold"), ("negative", 1 - positive, "< threshold")):
        label = decision.get(key)
        if label is None or label_text(label) not in texts or label_text(label) == texts[meant]:
            continue
        raise ExportError(f"{setting}.{key} is {label_text(label)!r}, but {key} labels probability {rule}, and the "
                          f"probability is of the positive class {texts[positive]!r}: set {setting}.positive to "
                          f"{texts[positive]!r} and {setting}.negative to {texts[1 - positive]!r}, or set "
                          f"{class_setting} to {texts[1 - positive]!r}")


def negated(ensemble: dict, link: str) -> dict:
    """The ensemble of the other class: every leaf value negated, init complemented."""
    if link not in COMPLEMENT:
        raise ExportError(f"a binary model with link {link!r} cannot be turned to its first class")
    c = COMPLEMENT[link]
    trees = [dict(tree, value=[-float(v) for v in tree["value"]]) for tree in ensemble["trees"]]
    return dict(ensemble, init=[c - v for v in ensemble["init"]], trees=trees)
