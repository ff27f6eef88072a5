"""Every route and every bad input of handler/app.py, through both Lambda event shapes."""

import base64
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT


def v2(method, path, body=None, b64=False):
    event = {"version": "2.0", "rawPath": path, "requestContext": {"http": {"method": method, "path": path}}}
    if body is not None:
        event["body"] = base64.b64encode(body.encode()).decode() if b64 else body
        event["isBase64Encoded"] = b64
    return event


def v1(method, path, body=None):
    return {"httpMethod": method, "path": path, "body": body, "isBase64Encoded": False}


def call(app, event):
    response = app.handler(event, None)
    assert set(response) >= {"statusCode", "headers", "body"}
    assert response["headers"]["content-type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


@pytest.fixture()
def card(app):
    return call(app, v2("GET", "/"))[1]


def predict(app, document, shape=v2):
    return call(app, shape("POST", "/predict", json.dumps(document)))


def test_get_card_and_health(app, artifacts):
    status, card = call(app, v2("GET", "/"))
    assert status == 200
    assert card == json.loads((artifacts / "model_card.json").read_text())
    assert {"features", "missing_value_policy", "metrics", "artifacts", "version", "example_request"} <= set(card)
    status, health = call(app, v1("GET", "/health"))
    assert (status, health["status"], health["model_version"]) == (200, "ok", card["version"])


@pytest.mark.parametrize("shape", [v2, v1])
def test_predict_one_record_is_additive(app, card, shape):
    status, body = predict(app, card["example_request"], shape)
    assert status == 200
    [record] = body["predictions"]
    assert list(record["shap"]) == [f["name"] for f in card["features"]]
    assert abs(record["base_value"] + sum(record["shap"].values()) - record["probability"]) < 1e-9
    assert record["base_value"] == card["base_value"]
    # A whole-number column in training still takes any finite number in a request.
    status, body = predict(app, dict(card["example_request"], MonthlyIncome=1912.5, age=47.5), shape)
    assert status == 200, body
    assert record["decision"] == ("decline" if record["probability"] >= card["decision"]["threshold"] else "approve")
    assert record["imputed"] == []


def test_predict_matches_the_saved_estimator_and_shap(app, card, artifacts):
    import joblib
    import shap
    from credit_data import FEATURES, synthetic_credit_data

    frame = synthetic_credit_data(300, 11)[FEATURES]
    records = [{k: (None if np.isnan(v) else v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
    status, body = predict(app, records)
    assert status == 200 and len(body["predictions"]) == 300
    assert (body["task"], body["shap_output"], body["model_version"]) == ("binary", "probability", card["version"])
    pipeline = joblib.load(artifacts / "model.joblib")
    expected = np.asarray(shap.TreeExplainer(pipeline.named_steps["model"]).shap_values(frame.to_numpy()))[:, :, 1]
    got = np.array([list(p["shap"].values()) for p in body["predictions"]])
    np.testing.assert_allclose(got, expected, atol=1e-9, rtol=0)
    np.testing.assert_allclose([p["probability"] for p in body["predictions"]], pipeline.predict_proba(frame)[:, 1],
                               atol=1e-9, rtol=0)
    assert frame.isna().any().any() and all(p["imputed"] == [] for p in body["predictions"])


def test_null_follows_the_learned_missing_value_branch(app, card, artifacts):
    import joblib
    import pandas as pd

    record = dict(card["example_request"], MonthlyIncome=None)
    _, body = predict(app, record)
    pipeline = joblib.load(artifacts / "model.joblib")
    expected = pipeline.predict_proba(pd.DataFrame([record]).astype(float))[0, 1]
    assert abs(body["predictions"][0]["probability"] - expected) < 1e-12
    assert body["predictions"][0]["imputed"] == []
    assert card["features"][4]["missing_means"].startswith("null follows the branch the model learned")


def test_base64_body(app, card):
    status, body = call(app, v2("POST", "/predict", json.dumps([card["example_request"]] * 2), b64=True))
    assert status == 200 and len(body["predictions"]) == 2
    event = v2("POST", "/predict", "not base64!!")
    event["isBase64Encoded"] = True
    assert call(app, event)[1]["error"]["code"] == "invalid_base64"


def bad_records(card):
    ok = card["example_request"]
    return [
        ("{", 400, "invalid_json", None),
        ("", 400, "empty_body", None),
        ('"text"', 400, "wrong_type", None),
        ("[]", 400, "no_records", None),
        ("[1]", 400, "wrong_type", None),
        (json.dumps({**ok, "age": "forty"}), 400, "wrong_type", "age"),
        (json.dumps({**ok, "age": True}), 400, "wrong_type", "age"),
        (json.dumps({**ok, "age": [40]}), 400, "wrong_type", "age"),
        (json.dumps([ok, {**ok, "colour": 1}]), 400, "unknown_feature", "colour"),
        (json.dumps({k: v for k, v in ok.items() if k != "DebtRatio"}), 400, "missing_feature", "DebtRatio"),
        # The same key twice: one value for the model, another for whoever reads the first.
        (json.dumps(ok)[:-1] + ', "age": "x"}', 400, "duplicate_key", "age"),
        (json.dumps([ok, ok])[:-2] + ', "age": 40}]', 400, "duplicate_key", "age"),
        (json.dumps(ok).replace('"DebtRatio": ' + json.dumps(ok["DebtRatio"]), '"DebtRatio": NaN'), 400,
         "non_finite_number", "DebtRatio"),
        (json.dumps(ok).replace('"DebtRatio": ' + json.dumps(ok["DebtRatio"]), '"DebtRatio": -Infinity'), 400,
         "non_finite_number", "DebtRatio"),
        (json.dumps(ok).replace('"DebtRatio": ' + json.dumps(ok["DebtRatio"]), '"DebtRatio": 1e999'), 400,
         "non_finite_number", "DebtRatio"),
        (json.dumps([ok] * (card["limits"]["max_records"] + 1)), 400, "too_many_records", None),
        (" " * (card["limits"]["max_body_bytes"] + 1), 413, "body_too_large", None),
    ]


def test_every_bad_input_gets_a_4xx_naming_the_problem(app, card):
    for body, status, code, field in bad_records(card):
        got_status, got = call(app, v2("POST", "/predict", body))
        assert (got_status, got["error"]["code"]) == (status, code), body[:80]
        assert got["error"]["message"]
        if field:
            assert got["error"]["field"] == field and field in got["error"]["message"]


def test_invalid_utf8_body(app):
    event = v2("POST", "/predict", base64.b64encode(b'{"age": "\xff"}').decode())
    event["isBase64Encoded"] = True
    status, body = call(app, event)
    assert (status, body["error"]["code"]) == (400, "invalid_encoding")


def test_unknown_path_wrong_method_and_odd_events(app):
    assert call(app, v2("GET", "/nope"))[0] == 404
    response = app.handler(v2("GET", "/predict"), None)
    assert response["statusCode"] == 405 and response["headers"]["allow"] == "POST"
    assert call(app, v1("DELETE", "/"))[0] == 405
    assert call(app, v2("GET", "/health/"))[0] == 200
    assert call(app, {"hello": "world"})[1]["error"]["code"] == "invalid_event"
    assert call(app, "not an event")[0] == 400


def test_unexpected_error_is_a_json_500_without_traceback(app, card, monkeypatch, capsys):
    class Context:
        aws_request_id = "req-1"

    def boom(document, request_id=None, each=False):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(app.MODEL, "predict", boom)
    response = app.handler(v2("POST", "/predict", json.dumps(card["example_request"])), Context())
    assert response["statusCode"] == 500
    body = json.loads(response["body"])
    assert body["error"] == {"code": "internal_error", "request_id": "req-1",
                             "message": "the function failed unexpectedly; see its logs"}
    assert "secret" not in response["body"] and "Traceback" not in response["body"]
    assert "RuntimeError: secret internals" in capsys.readouterr().err


def test_missing_or_tampered_artifacts_give_503(tmp_path, artifacts, monkeypatch, capsys):
    import importlib

    tampered = tmp_path / "artifacts"
    tampered.mkdir()
    (tampered / "model_card.json").write_bytes((artifacts / "model_card.json").read_bytes())
    (tampered / "model.json").write_bytes((artifacts / "model.json").read_bytes().replace(b"0.", b"1.", 1))
    for directory, reason in ((tmp_path / "absent", "cannot read"), (tampered, "sha256")):
        monkeypatch.setenv("PIPE_ARTIFACTS_DIR", str(directory))
        sys.modules.pop("app", None)
        app = importlib.import_module("app")
        assert reason in capsys.readouterr().err
        status, body = call(app, v2("GET", "/health"))
        assert (status, body["status"], body["error"]["code"]) == (503, "unavailable", "model_unavailable")
        assert str(tmp_path) not in json.dumps(body)
        assert call(app, v2("POST", "/predict", "{}")) == (503, {"error": body["error"]})
    sys.modules.pop("app", None)


def test_the_function_imports_numpy_only(artifacts):
    script = ("import sys, app; heavy = {'shap', 'sklearn', 'pandas', 'numba', 'llvmlite', 'scipy', 'joblib', "
              "'matplotlib'} & {m.split('.')[0] for m in sys.modules}; assert app.MODEL, app.LOAD_ERROR; "
              "print(sorted(heavy))")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT / "handler", capture_output=True, text=True,
                            env={"PIPE_ARTIFACTS_DIR": str(artifacts), "PATH": "/usr/bin:/bin"}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: OpenBLAS starts no thread of its own")
def test_the_function_starts_no_blas_threads(artifacts):
    script = "import os, app; assert app.MODEL, app.LOAD_ERROR; print(len(os.listdir('/proc/self/task')))"
    env = {"PIPE_ARTIFACTS_DIR": str(artifacts), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT / "handler", capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"


THP_SETTING = "/sys/kernel/mm/transparent_hugepage/enabled"


def _huge_pages_offered() -> bool:
    try:
        with open(THP_SETTING, encoding="ascii") as file:
            return re.search(r"\[(always|madvise)\]", file.read()) is not None
    except OSError:
        return False


@pytest.mark.skipif(not _huge_pages_offered(), reason="the kernel offers no transparent huge pages")
def test_the_function_faults_in_its_heap_as_huge_pages(artifacts):
    # The example's load allocates no array large enough for numpy to ask for huge pages itself: any
    # on the anonymous mappings after the import come from the start-up's fault-in.
    script = ("import app; assert app.MODEL, app.LOAD_ERROR; "
              "print(sum(int(line.split()[1]) for line in open('/proc/self/smaps') if line.startswith('AnonHugePages:')))")
    env = {"PIPE_ARTIFACTS_DIR": str(artifacts), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT / "handler", capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    # At least half the smallest fault-in (16 MB) as 2 MB pages: the rest may straddle a mapping's edge.
    assert int(result.stdout) >= 8 * 1024


json_values = st.recursive(st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                           max_leaves=10)


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(json_values, st.lists(st.dictionaries(st.sampled_from(["age", "DebtRatio", "MonthlyIncome", "x"]),
                                                        json_values, max_size=4), max_size=3)))
def test_arbitrary_json_never_crashes(app, document):
    status, body = call(app, v2("POST", "/predict", json.dumps(document)))
    assert status == 400 and body["error"]["code"] != "internal_error"


def test_a_browser_gets_the_what_if_page_and_a_client_the_card(app, card):
    event = v2("GET", "/")
    event["headers"] = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    response = app.handler(event, None)
    assert response["statusCode"] == 200 and response["headers"]["content-type"].startswith("text/html")
    assert "connect-src 'self'" in response["headers"]["content-security-policy"]
    assert response["headers"]["vary"] == "Accept"
    assert response["body"].lstrip().lower().startswith("<!doctype html>")
    # Nothing is loaded from elsewhere (an SVG namespace URI is a name, not a request).
    assert not re.search(r"""(src|href|action)\s*=\s*["']?(https?:)?//|url\(\s*["']?(https?:)?//|fetch\(\s*["'`]https?:""",
                         response["body"])
    event["headers"] = {"Accept": "application/json"}
    assert call(app, event) == (200, card)


def test_messages_show_values_as_written_not_escaped():
    from lambda_events import RequestError as ClientError
    from validation import FeatureSpec, RecordValidator

    spec = FeatureSpec.from_document({"name": "carrier/name", "type": "category", "missing": "native",
                                      "categories": ["Ünïcode Ltd", "Fast/Co"]})
    with pytest.raises(ClientError) as raised:
        RecordValidator([spec], 10).to_batch({"carrier/name": "Café"})
    assert raised.value.message == ('carrier/name has the unknown category "Café"; known: "Ünïcode Ltd", '
                                    '"Fast/Co" (record 0)')


def test_errors_each_answers_every_record_in_place(app, card, capsys):
    ok = card["example_request"]
    records = [ok, {**ok, "age": "forty"}, {**ok, "DebtRatio": 0.9}, {**ok, "colour": 1}, [1],
               json.loads(json.dumps(ok).replace('"DebtRatio": ' + json.dumps(ok["DebtRatio"]), '"DebtRatio": 1e999'))]
    body = json.dumps(records).replace("Infinity", "1e999")
    event = v2("POST", "/predict", body)
    event["queryStringParameters"] = {"errors": "each"}
    status, answer = call(app, event)
    assert status == 200
    predictions = answer["predictions"]
    assert len(predictions) == len(records)
    assert [p.get("error", {}).get("code") for p in predictions] == [None, "wrong_type", None, "unknown_feature",
                                                                     "wrong_type", "non_finite_number"]
    assert predictions[1]["error"]["field"] == "age" and predictions[1]["error"]["record"] == 1
    assert predictions[5]["error"]["record"] == 5
    # The good records' answers are the ones they get alone.
    _, alone = call(app, v2("POST", "/predict", json.dumps([ok, {**ok, "DebtRatio": 0.9}])))
    assert [predictions[0], predictions[2]] == alone["predictions"]
    # Only answered records are decisions.
    assert sum('"pipe_audit"' in line for line in capsys.readouterr().out.splitlines()) == 4
    event["body"] = json.dumps([{**ok, "age": "x"}])
    status, answer = call(app, event)
    assert status == 200 and answer["predictions"][0]["error"]["code"] == "wrong_type"
    event["queryStringParameters"] = {"errors": "some"}
    status, answer = call(app, event)
    assert status == 400 and answer["error"]["field"] == "errors"


def test_a_category_with_surrounding_spaces_is_the_category_training_read():
    """Training strips every cell ("WD " in the data is WD): a record written the same way means the same."""
    from validation import FeatureSpec, RecordValidator

    spec = FeatureSpec.from_document({"name": "Sale Type", "type": "category", "missing": "native",
                                      "categories": ["New", "WD"]})
    validator = RecordValidator([spec], 10)
    assert validator.to_batch([{"Sale Type": "WD "}, {"Sale Type": " New"}]).x.tolist() == \
        validator.to_batch([{"Sale Type": "WD"}, {"Sale Type": "New"}]).x.tolist()


def test_a_5xx_answer_is_counted_in_embedded_metric_format_and_a_4xx_is_not(app, card, monkeypatch, capsys):
    """CloudWatch counts pipe/ServerErrors from this line, with Lambda's dimensions for the executed version."""

    class Context:
        aws_request_id = "req-2"
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:credit-prod:live"

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "credit-prod")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_VERSION", "7")
    capsys.readouterr()
    assert app.handler(v2("POST", "/predict", "not json"), Context())["statusCode"] == 400
    assert '"_aws"' not in capsys.readouterr().out

    def boom(document, request_id=None, each=False):
        raise RuntimeError("model failed")

    monkeypatch.setattr(app.MODEL, "predict", boom)
    assert app.handler(v2("POST", "/predict", json.dumps(card["example_request"])), Context())["statusCode"] == 500
    [line] = [line for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    emf = json.loads(line)
    directive = emf["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "pipe" and directive["Metrics"] == [{"Name": "ServerErrors", "Unit": "Count"}]
    assert ["FunctionName", "Resource", "ExecutedVersion"] in directive["Dimensions"]
    assert (emf["FunctionName"], emf["Resource"], emf["ExecutedVersion"], emf["ServerErrors"]) == ("credit-prod", "credit-prod:live", "7", 1)
    assert isinstance(emf["_aws"]["Timestamp"], int)
