"""The decision trail: one line per prediction with what was decided and why, and no personal data."""

import hashlib
import importlib
import json
import sys

import pytest

import audit
from conftest import run_build
from test_handler import call, predict, v2

SALT = "0f" * 32
MARKER = 987654.321  # a value recognisable anywhere in the log


def audit_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith('{"pipe_audit":1')]


@pytest.fixture()
def function(artifacts, monkeypatch):
    """handler/app.py freshly imported with a given PIPE_AUDIT_LOG (as a function deployed with it)."""
    def load(mode):
        monkeypatch.setenv("PIPE_ARTIFACTS_DIR", str(artifacts))
        monkeypatch.setenv("PIPE_AUDIT_SALT", SALT)
        if mode is None:
            monkeypatch.delenv("PIPE_AUDIT_LOG", raising=False)
        else:
            monkeypatch.setenv("PIPE_AUDIT_LOG", mode)
        sys.modules.pop("app", None)
        return importlib.import_module("app")

    yield load
    sys.modules.pop("app", None)


def records_with_marker(card):
    """The example record, and one with a recognisable number and every feature that may be null, null."""
    example = card["example_request"]
    number = next(f["name"] for f in card["features"] if f["type"] == "number")
    nullable = [f["name"] for f in card["features"] if f["missing"] != "required" and f["name"] != number]
    return [dict(example), {**example, number: MARKER, **dict.fromkeys(nullable, None)}]


def test_decisions_by_default_name_output_decision_and_reasons_but_not_the_values(function, capsys):
    app = function(None)
    card = call(app, v2("GET", "/"))[1]
    capsys.readouterr()
    records = records_with_marker(card)
    response = app.handler(v2("POST", "/predict", json.dumps(records)), type("Context", (), {"aws_request_id": "r-1"}))
    body = json.loads(response["body"])
    out, err = capsys.readouterr()
    lines = audit_lines(out)
    assert len(lines) == 2 and all(line.keys() == {"pipe_audit", "time", "request_id", "model_version", "task",
                                                   "positive_class", "shap_output", "record", "output", "decision",
                                                   "reasons", "missing", "input_sha256"}
                                   for line in lines)
    # Which features were null: their names only.
    assert [line["missing"] for line in lines] == [[], [name for name, value in records[1].items() if value is None]]
    assert lines[1]["missing"], "the test sends nulls"
    # What the numbers are of: the probability's class, the contributions' space.
    assert {(line["positive_class"], line["shap_output"]) for line in lines} == {(1, "probability")}
    for index, (line, answer, record) in enumerate(zip(lines, body["predictions"], records)):
        assert (line["request_id"], line["model_version"], line["task"], line["record"]) == \
               ("r-1", card["version"], "binary", index)
        assert line["output"] == {"probability": answer["probability"]}
        assert line["decision"] == answer["decision"]
        assert line["reasons"] == [{"feature": r["feature"], "contribution": r["contribution"]}
                                   for r in answer["reasons"]]
        canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert line["input_sha256"] == hashlib.sha256((SALT + canonical).encode()).hexdigest()
        assert line["time"].endswith("Z") and line["time"][:4].isdigit()
    # No feature value, and in particular not the recognisable one, reaches the log.
    assert "987654" not in out + err
    assert lines[0]["input_sha256"] != lines[1]["input_sha256"]


def test_full_adds_the_values_and_off_writes_nothing(function, capsys):
    app = function("full")
    card = call(app, v2("GET", "/"))[1]
    records = records_with_marker(card)
    capsys.readouterr()
    predict(app, records)
    lines = audit_lines(capsys.readouterr().out)
    assert [line["values"] for line in lines] == records

    app = function("off")
    capsys.readouterr()
    status, _ = predict(app, records)
    out, err = capsys.readouterr()
    assert status == 200 and out == "" and "987654" not in err


@pytest.mark.parametrize("task, target", [("multiclass", "grade"), ("regression", "amount")])
def test_multiclass_and_regression_lines_follow_the_task(tmp_path, monkeypatch, capsys, task, target):
    from test_models_end_to_end import loans

    loans(300, 5).to_csv(tmp_path / "loans.csv", index=False)
    result = run_build(tmp_path / "out", "--data", str(tmp_path / "loans.csv"), "--target", target, "--task", task,
                       "--estimator", "decision_tree", "--params", '{"max_depth": 4}',
                       "--spec", json.dumps({"exclude": ["applicant id", "default", "grade", "amount"]}))
    assert result.returncode == 0, result.stderr
    monkeypatch.setenv("PIPE_ARTIFACTS_DIR", str(tmp_path / "out"))
    monkeypatch.delenv("PIPE_AUDIT_LOG", raising=False)
    sys.modules.pop("app", None)
    app = importlib.import_module("app")
    card = call(app, v2("GET", "/"))[1]
    capsys.readouterr()
    _, body = predict(app, card["example_request"])
    [line] = audit_lines(capsys.readouterr().out)
    [answer] = body["predictions"]
    if task == "multiclass":
        assert line["output"] == {"probabilities": answer["probabilities"]} and line["decision"] == answer["label"]
    else:
        assert line["output"] == {"prediction": answer["prediction"]} and line["decision"] is None
    assert line["reasons"] == [{"feature": r["feature"], "contribution": r["contribution"]} for r in answer["reasons"]]
    sys.modules.pop("app", None)


def test_warm_up_and_health_write_nothing(function, capsys):
    app = function("full")
    capsys.readouterr()
    assert app.handler({"pipe": "warm-up"}, None) == {"warm": True, "model_version": app.MODEL.version}
    assert call(app, v2("GET", "/health"))[0] == 200
    assert call(app, v2("GET", "/"))[0] == 200
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_an_unknown_mode_is_said_once_and_decisions_are_kept(function, capsys):
    app = function("everything")
    assert "PIPE_AUDIT_LOG='everything'" in capsys.readouterr().err
    card = call(app, v2("GET", "/"))[1]
    capsys.readouterr()
    predict(app, card["example_request"])
    [line] = audit_lines(capsys.readouterr().out)
    assert "values" not in line


@pytest.mark.parametrize("size", [0, 1000, audit.OPENSSL_BYTES, audit.OPENSSL_BYTES + 1, 3 * audit.OPENSSL_BYTES])
def test_digest_is_the_sha256_whichever_implementation_serves_the_size(size):
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    assert audit.digest(data) == hashlib.sha256(data).hexdigest()
