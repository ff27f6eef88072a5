"""pipe score's driver (src/runtime/score_table.py) against the function's own answers.

Each family is trained by the real training CLI on a user-style table, packaged as the function sees it
(handler modules and artifacts/ in one directory), and a table with bad rows in it is scored through
the driver as `pipe score` runs it; every answered row must equal the function's answer to the same
record over POST /predict, and every bad row must be in its place with its message.
"""

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, run_build
from real_tables import credit, houses
from test_models_end_to_end import loans

DRIVER = ROOT / "src" / "runtime" / "score_table.py"


def package(artifacts: Path, tmp: Path) -> Path:
    """The function's code as /var/task holds it: the handler modules and artifacts/."""
    code = tmp / "code"
    shutil.copytree(ROOT / "handler", code, ignore=shutil.ignore_patterns("__pycache__", "requirements.txt"))
    shutil.copytree(artifacts, code / "artifacts")
    return code


def drive(code: Path, mode: str, table: bytes, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(DRIVER), mode, "--code", str(code), *args], input=table,
                          capture_output=True, timeout=300, env={"PATH": "/usr/bin:/bin", "PIPE_AUDIT_LOG": "off"})


ANSWER = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
os.environ["PIPE_ARTIFACTS_DIR"] = os.path.join(sys.argv[1], "artifacts")
import app
for line in sys.stdin:
    event = {"version": "2.0", "rawPath": "/predict", "requestContext": {"http": {"method": "POST"}},
             "queryStringParameters": {"errors": "each"}, "body": line, "isBase64Encoded": False}
    print(json.dumps(app.handler(event, None)))
"""


def function_answers(code: Path, bodies: list[str]) -> list[dict]:
    """The function's own answers to POST /predict?errors=each, one per body, from a fresh process as a
    Lambda container is (a test process that trained models may round differently in the last bit)."""
    result = subprocess.run([sys.executable, "-c", ANSWER, str(code)], input="".join(b + "\n" for b in bodies),
                            capture_output=True, text=True, timeout=300,
                            env={"PATH": "/usr/bin:/bin", "PIPE_AUDIT_LOG": "off"})
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def protocol(stderr: bytes) -> list[dict]:
    return [json.loads(line[len("PIPE-SCORE "):]) for line in stderr.decode().splitlines()
            if line.startswith("PIPE-SCORE ")]


def records_of(frame, card) -> list[dict]:
    """The rows as a client sends them, built here from pandas (not by the driver's own reading)."""
    booleans = {f["name"] for f in card["features"] if f["type"] == "boolean"}
    out = []
    for row in frame.to_dict(orient="records"):
        record = {}
        for key, value in row.items():
            if key in booleans and isinstance(value, str):
                record[key] = {"true": True, "false": False}.get(value.lower(), value)
            elif value is None or isinstance(value, float) and np.isnan(value):
                record[key] = None
            elif isinstance(value, (np.integer,)):
                record[key] = int(value)
            elif isinstance(value, (np.floating, float)):
                record[key] = float(value)
            else:
                record[key] = value
        out.append(record)
    return out


FAMILIES = {
    # name: (frame, target, id column, estimator, params, extra spec)
    "credit-lightgbm": (lambda: credit(700, seed=2), "Status", "Application No.", "lightgbm",
                        {"n_estimators": 30, "num_leaves": 15}, {"positiveClass": "bad"}),
    "houses-random-forest": (lambda: houses(600, seed=3), "SalePrice", None, "random_forest",
                             {"n_estimators": 12, "max_depth": 8}, {}),
    "loans-multiclass": (lambda: loans(700, seed=4).drop(columns=["default", "amount"]), "grade", "applicant id",
                         "hist_gradient_boosting", {"max_iter": 15}, {}),
}


@pytest.fixture(scope="module", params=list(FAMILIES))
def family(request, tmp_path_factory):
    make, target, ident, estimator, params, spec = FAMILIES[request.param]
    tmp = tmp_path_factory.mktemp(request.param)
    frame = make()
    if ident is None:
        ident = "listing"
        frame.insert(0, ident, [f"L-{i:05d}" for i in range(len(frame))])
    data = tmp / "train.csv"
    frame.to_csv(data, index=False)
    spec = {"exclude": [ident], **spec}
    result = run_build(tmp / "artifacts", "--data", str(data), "--target", target, "--estimator", estimator,
                       "--params", json.dumps(params), "--spec", json.dumps(spec))
    assert result.returncode == 0, result.stderr
    card = json.loads((tmp / "artifacts" / "model_card.json").read_text())
    return {"tmp": tmp, "code": package(tmp / "artifacts", tmp), "card": card, "frame": frame, "ident": ident,
            "target": target}


def scored_table(family, rows: int = 230):
    """A table to score: the training frame's first rows (target dropped, columns shuffled, an extra
    column), a number column holding a word in row 5, and row 9 with a missing field."""
    frame = family["frame"].head(rows).drop(columns=[family["target"]]).copy()
    frame = frame[list(reversed(frame.columns))]
    frame["note"] = "ignored"
    numbers = [f["name"] for f in family["card"]["features"] if f["type"] == "number"]
    text = io.StringIO()
    frame.to_csv(text, index=False)
    lines = text.getvalue().splitlines()
    header = next(csv.reader([lines[0]]))
    cells = next(csv.reader([lines[5]]))
    cells[header.index(numbers[0])] = "lots"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    lines[5] = out.getvalue().rstrip("\n")
    lines[9] = lines[9].rsplit(",", 1)[0]  # one field short
    return frame, numbers[0], ("\n".join(lines) + "\n").encode()


def test_every_row_equals_the_functions_answer_bad_rows_in_place(family):
    frame, broken, table = scored_table(family)
    ident = family["ident"]
    result = drive(family["code"], "score", table, "--keep", ident, "--output", "jsonl", "--chunk", "70",
                   "--jobs", "2")
    assert result.returncode == 0, result.stderr.decode()
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [line["row"] for line in lines] == list(range(1, len(frame) + 1))
    assert [line[ident] for line in lines] == [str(v) for v in frame[ident]]

    names = [f["name"] for f in family["card"]["features"]]
    records = records_of(frame[names], family["card"])
    good = [i for i in range(len(frame)) if i not in (4, 8)]
    # The same batches the driver sends (a batch's sums may differ from another's in the last bit).
    batches = [[i for i in good if start <= i < start + 70] for start in range(0, len(frame), 70)]
    answers = function_answers(family["code"], [json.dumps([records[i] for i in batch]) for batch in batches])
    for batch, answer in zip(batches, answers):
        assert answer["statusCode"] == 200, answer
        for i, expected in zip(batch, json.loads(answer["body"])["predictions"]):
            got = {k: v for k, v in lines[i].items() if k not in ("row", ident)}
            assert got == expected, f"row {i + 1}"
    assert lines[4]["error"]["field"] == broken and "must be a number" in lines[4]["error"]["message"]
    assert lines[8]["error"]["code"] == "malformed_row"
    done = protocol(result.stderr)[-1]
    assert (done["rows"], done["refused"]) == (len(frame), 2)


def test_csv_columns_jobs_and_the_url_route_agree(family):
    frame, broken, table = scored_table(family)
    card = family["card"]
    ident = family["ident"]
    one = drive(family["code"], "score", table, "--keep", ident, "--jobs", "1", "--chunk", "50")
    two = drive(family["code"], "score", table, "--keep", ident, "--jobs", "2", "--chunk", "50")
    assert one.returncode == 0 and two.returncode == 0, one.stderr.decode() + two.stderr.decode()
    assert one.stdout == two.stdout

    # The route through a Function URL: the batches as requests, answered, then formatted.
    requests = drive(family["code"], "requests", table, "--keep", ident, "--chunk", "50")
    assert requests.returncode == 0, requests.stderr.decode()
    batches = [json.loads(line) for line in requests.stdout.decode().splitlines()]
    assert sum(len(b["keep"]) for b in batches[1:]) == len(frame) and len(batches) == 1 + 5
    answers = function_answers(family["code"], [batch["body"] for batch in batches[1:]])
    answered = [json.dumps(batches[0])] + [json.dumps({**batch, "answer": answer["body"]})
                                           for batch, answer in zip(batches[1:], answers)]
    formatted = drive(family["code"], "format", ("\n".join(answered) + "\n").encode(), "--keep", ident)
    assert formatted.returncode == 0, formatted.stderr.decode()
    assert formatted.stdout == one.stdout

    rows = list(csv.reader(io.StringIO(one.stdout.decode())))
    header, body = rows[0], rows[1:]
    names = [f["name"] for f in card["features"]]
    assert len(body) == len(frame)
    if card["task"] == "multiclass":
        classes = [str(c) for c in card["classes"]]
        assert [f"shap_{c}_{n}" for c in classes for n in names] == [h for h in header if h.startswith("shap_")]
        assert [f"probability_{c}" for c in classes] == [h for h in header if h.startswith("probability_")]
        assert "label" in header
    elif card["task"] == "binary":
        assert header[1:4] == [f"probability_{card['positive_class']}", "decision", "base_value"]
    else:
        assert header[1:3] == ["prediction", "base_value"]
        assert float(body[0][1]) > 10_000  # prices, in the target's own unit
    assert header[0] == ident and header[-1] == "error" and "note" not in header
    assert body[4][-1] and all(cell == "" for cell in body[4][1:-1])
    assert all(row[-1] == "" for i, row in enumerate(body) if i not in (4, 8))


def test_a_missing_feature_column_exits_2_before_scoring_and_strict_names_the_row(family):
    frame, broken, table = scored_table(family)
    lines = table.decode().splitlines()
    header = next(csv.reader([lines[0]]))
    at = header.index(broken)
    cut = io.StringIO()
    writer = csv.writer(cut, lineterminator="\n")
    for row in csv.reader(lines):
        writer.writerow(row[:at] + row[at + 1:])
    missing = drive(family["code"], "score", cut.getvalue().encode())
    assert missing.returncode == 2 and missing.stdout == b""
    assert f"lacks the feature column {broken!r}" in protocol(missing.stderr)[-1]["error"]

    strict = drive(family["code"], "score", table, "--strict", "--jobs", "1")
    assert strict.returncode == 2
    assert protocol(strict.stderr)[-1]["error"].startswith("row 5 was refused (--strict)")


def test_a_wide_table_is_cut_under_the_functions_body_limit(family):
    """A batch's body never exceeds the card's max_body_bytes, however wide the rows."""
    frame, _, table = scored_table(family, rows=400)
    card = dict(family["card"])
    limit = 20_000
    card["limits"] = {**card["limits"], "max_body_bytes": limit}
    code = family["tmp"] / "narrow"
    if not code.exists():
        shutil.copytree(family["code"], code)
    (code / "artifacts" / "model_card.json").write_text(json.dumps(card))
    requests = drive(code, "requests", table)
    assert requests.returncode == 0, requests.stderr.decode()
    batches = [json.loads(line) for line in requests.stdout.decode().splitlines()[1:]]
    assert max(len(b["body"].encode()) for b in batches) <= limit
    numbers = [n for b in batches for n in b["rows"]]
    assert numbers == list(range(1, len(frame) + 1))


def test_select_keeps_the_listed_rows_with_their_numbers(tmp_path):
    positions = tmp_path / "rows.csv"
    positions.write_text("row\n0\n2\n")
    table = b"a,b\n1,x\n\n2,\"multi\nline\"\n3,z\n"
    result = subprocess.run([sys.executable, str(DRIVER), "select", "--rows", str(positions)], input=table,
                            capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    assert list(csv.reader(io.StringIO(result.stdout.decode()))) == [["pipe_row", "a", "b"], ["1", "1", "x"],
                                                                     ["3", "3", "z"]]
    positions.write_text("row\n0\n7\n")
    short = subprocess.run([sys.executable, str(DRIVER), "select", "--rows", str(positions)], input=table,
                           capture_output=True, timeout=60)
    assert short.returncode == 2 and "the data changed" in protocol(short.stderr)[-1]["error"]
