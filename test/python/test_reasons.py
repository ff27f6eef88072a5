"""Reasons in words: which features are named, in which order, and how the sentences read."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reasons import ReasonWriter, TemplateError, compile_template, subject_of
from test_handler import card, predict  # noqa: F401 - the card fixture

NAMES = ["utilisation", "income", "purpose", "age"]
TYPES = ["number", "number", "category", "number"]
RECORD = {"utilisation": 0.934, "income": 12500.0, "purpose": "car", "age": None}


def writer(task="binary", **settings):
    return ReasonWriter(NAMES, TYPES, task, settings, subject_of(task, "probability", "decline", settings.get("subject")))


def parse(arrays):
    return [json.loads(a) for a in arrays]


@pytest.mark.parametrize("template, fields, expected", [
    ("Credit utilisation of {value:%} is high", {"value": 0.934}, "Credit utilisation of 93% is high"),
    ("{value:.1%}", {"value": 0.934}, "93.4%"),
    ("Income {value:,.0f} {direction} it by {magnitude:.2f}", {"value": 12500.0, "direction": "lowered",
                                                               "magnitude": 0.1234}, "Income 12,500 lowered it by 0.12"),
    ("{feature}: {value}", {"feature": "age", "value": None}, "age: missing"),
    ("{value}", {"value": 0.123456789}, "0.1235"),
    ("{contribution:.3f}", {"contribution": -0.01234}, "-0.012"),
])
def test_template_language(template, fields, expected):
    full = {"feature": "f", "value": 1, "contribution": 0.5, "magnitude": 0.5, "direction": "raised", **fields}
    assert compile_template(template, "f", True)(full) == expected


@pytest.mark.parametrize("template, numeric, message", [
    ("{colour}", True, "unknown placeholder {colour}"),
    ("{value:%d}", True, "invalid format {value:%d}"),
    ("{direction:.2f}", True, "invalid format"),
    ("{value:%}", False, "is not a number feature"),
    ("{value", True, "unbalanced braces"),
])
def test_bad_templates_name_the_feature_and_the_problem(template, numeric, message):
    with pytest.raises(TemplateError, match="template for 'purpose'") as err:
        compile_template(template, "purpose", numeric)
    assert message in str(err.value)


def test_a_decline_names_what_raised_it_and_an_approval_what_lowered_it():
    shap = np.array([[0.20, -0.10, 0.05, 0.20], [0.20, -0.10, 0.05, -0.30]])
    declined, approved = parse(writer().reasons(shap, np.array([True, False]), [RECORD, RECORD]))
    # Largest first; the tie between utilisation and age goes to the feature listed first.
    assert [r["feature"] for r in declined] == ["utilisation", "age", "purpose"]
    assert declined[0] == {"feature": "utilisation", "value": 0.934, "contribution": 0.2,
                           "text": "utilisation = 0.934 raised the probability of decline by 0.2"}
    assert declined[1]["text"] == "age = missing raised the probability of decline by 0.2"
    assert [r["feature"] for r in approved] == ["age", "income"]
    assert approved[1]["text"] == "income = 12,500 lowered the probability of decline by 0.1"


def test_count_excluded_features_templates_and_subject():
    shap = np.array([[0.4, 0.3, 0.2, 0.1]])
    settings = {"count": 2, "exclude": ["utilisation"], "subject": "risk",
                "templates": {"purpose": "A {value} loan {direction} the risk"}}
    [reasons] = parse(writer(**settings).reasons(shap, np.array([True]), [RECORD]))
    assert [r["text"] for r in reasons] == ["income = 12,500 raised the risk by 0.3", "A car loan raised the risk"]


@pytest.mark.parametrize("value, shown", [
    (92700.0, "92,700"), (92700, "92,700"), (215000.0, "215,000"), (-12480.6, "-12,481"), (1966.0, "1966"),
    (1966, "1966"), (-1250.6, "-1251"), (9999.6, "10,000"), (1000.0, "1000"), (999.5, "999.5"),
    (0.15420345, "0.1542"), (31.0, "31"), (0.0, "0"), (7, "7"), (-7, "-7"), (1.2e-05, "1.2e-05"),
])
def test_numbers_read_whole_from_a_thousand_with_separators_from_ten_thousand(value, shown):
    template = compile_template("{value}", "price", True)
    assert template({"value": value}) == shown
    [[item]] = ReasonWriter(["price"], ["number"], "regression", {"templates": {"price": "{value}"}},
                            "prediction").items(np.array([[1.0]]), [[0]], [{"price": value}])
    assert json.loads(item)["text"] == shown


def test_a_price_model_reads_in_whole_amounts():
    """A house-price regression: the value and the contribution as a person writes them, not 2.15e+05."""
    names, types = ["living area (sq ft)", "neighbourhood"], ["number", "category"]
    [reasons] = parse(ReasonWriter(names, types, "regression", {}, subject_of("regression", "raw", None, None,
                                                                             "Sale price ($)"))
                      .reasons(np.array([[12480.37, -3100.0]]), None,
                               [{"living area (sq ft)": 2150.0, "neighbourhood": "Old Town"}]))
    assert [r["text"] for r in reasons] == ["living area (sq ft) = 2150 raised the predicted Sale price ($) by 12,480",
                                            "neighbourhood = Old Town lowered the predicted Sale price ($) by 3100"]
    assert reasons[0]["contribution"] == 12480.37


def test_regression_names_the_largest_contributions_either_way_and_multiclass_its_label():
    shap = np.array([[0.1, -0.5, 0.0, 0.3]])
    [regression] = parse(ReasonWriter(NAMES, TYPES, "regression", {}, subject_of("regression", "raw", None, None))
                         .reasons(shap, None, [RECORD]))
    assert [(r["feature"], r["text"].split(" ")[-5]) for r in regression] == [("income", "lowered"),
                                                                              ("age", "raised"),
                                                                              ("utilisation", "raised")]
    assert regression[0]["text"].endswith("the prediction by 0.5")
    multiclass = ReasonWriter(NAMES, TYPES, "multiclass", {}, subject_of("multiclass", "log_odds", None, None))
    [label] = parse(multiclass.reasons(shap, None, [RECORD]))
    assert [r["feature"] for r in label] == ["age", "utilisation"]
    assert "log-odds of the predicted class" in label[0]["text"]


def test_every_prediction_carries_reasons_that_follow_its_shap_values(app, card):
    records = [card["example_request"], dict(card["example_request"], NumberOfTimes90DaysLate=4, age=23)]
    status, body = predict(app, records)
    assert status == 200
    assert card["reasons"]["count"] == 4 and card["reasons"]["exclude"] == []
    for p in body["predictions"]:
        toward = {k: (v if p["decision"] == "decline" else -v) for k, v in p["shap"].items()}
        expected = sorted((k for k in toward if toward[k] > 0), key=lambda k: -toward[k])[:4]
        assert [r["feature"] for r in p["reasons"]] == expected
        assert all(r["contribution"] == p["shap"][r["feature"]] for r in p["reasons"])
        assert all(" the risk by " in r["text"] for r in p["reasons"])


TEMPLATES = ["{feature} = {value} {direction} it by {magnitude}", 'Quote " and \\ in {feature}: {value:.1%}',
             "{value:,.0f} é {contribution:.3f} {{}} {magnitude:%}", "{contribution} {value:.2f}", "plain",
             "100% sure: {feature} at {value} {direction} % by {contribution:.3f}"]
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.text(max_size=8),
                   st.floats(allow_nan=False, allow_infinity=False, width=64))


@settings(max_examples=150, deadline=None)
@given(name=st.text(min_size=1, max_size=6), template=st.sampled_from(TEMPLATES), value=VALUES,
       contribution=st.floats(-1e6, 1e6, allow_nan=False).filter(lambda c: c != 0))
def test_the_one_format_call_writes_what_the_template_says(name, template, value, contribution):
    """The request path writes each reason with one format call (%-formatting where the template's specs
    allow, else str.format): the same JSON, value and sentence as the template's own rendering, for any
    name, value and template (quotes, braces, percent signs, non-ASCII)."""
    template = template.replace("{{}}", "")  # literal braces are refused by the language
    numeric = value is None or isinstance(value, (int, float)) and not isinstance(value, bool)
    if not numeric and "{value:" in template:
        template = template.replace("{value:.1%}", "{value}").replace("{value:,.0f}", "{value}") \
            .replace("{value:.2f}", "{value}")
    [[item]] = ReasonWriter([name], ["number" if numeric else "category"], "regression", {"templates": {name: template}},
                            "prediction").items(np.array([[contribution]]), [[0]], [{name: value}])
    expected_text = compile_template(template, name, numeric)(
        {"feature": name, "value": value, "contribution": contribution, "magnitude": abs(contribution),
         "direction": "raised" if contribution > 0 else "lowered"})
    assert json.loads(item) == {"feature": name, "value": value, "contribution": contribution, "text": expected_text}


@settings(max_examples=60, deadline=None)
@given(task=st.sampled_from(["binary", "multiclass", "regression"]), seed=st.integers(0, 2**32 - 1),
       count=st.integers(1, 5))
def test_a_batch_chooses_as_each_record_alone(task, seed, count):
    """Batches choose with numpy, one or two records in plain Python: the same features in the same order."""
    rng = np.random.default_rng(seed)
    shap = np.round(rng.normal(size=(7, len(NAMES))), 1)  # rounded: ties are common
    shap[rng.random(shap.shape) < 0.2] = 0.0
    positive = rng.random(7) < 0.5 if task == "binary" else None
    chooser = writer(task, count=count, exclude=["income"])
    together = chooser.chosen(shap, positive)
    alone = [chooser.chosen(shap[i: i + 1], None if positive is None else positive[i: i + 1])[0] for i in range(7)]
    assert together == alone
