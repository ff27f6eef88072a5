"""pipe score's driver: a table through the packaged function's own code, row by row, in order.

Run isolated (``python3 -I -S``) with the function's code and layers on the path, as lambda_runtime.py
is. The table comes on stdin (CSV with a header), the result goes to stdout (CSV or JSON lines), and
progress, the summary and errors go to stderr as lines starting with ``PIPE-SCORE `` (a JSON object),
apart from whatever else the function writes there.

Modes:

* ``score``: the function's model answers every batch in this process (or in ``--jobs`` processes);
* ``requests``: each batch's request body, as JSON lines ``{"rows", "keep", "refused", "body"}``;
* ``format``: those lines (after the header's, which ``requests`` writes first) with the function's
  answers added (``"answer"``: the response body), for a deployed function, become the same output
  ``score`` writes.

Every batch is the same in every mode: its records are built from the cells by the model card's feature
types here, and answered by the function's own ``POST /predict?errors=each``, so a row the function
refuses gets its message in ``error`` and the run goes on. Exit codes: 0 done, 2 bad input (a missing
column, or with ``--strict`` the first refused row), 1 a failure.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import sys
import time
from collections import Counter, deque

PROTOCOL = "PIPE-SCORE "
# Cells read as a missing value (null), as the training data's reader reads them.
MISSING = frozenset(("", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"))
RECORD_NOTE = re.compile(r" \(record \d+\)| in record \d+|^record \d+ ")
# A spreadsheet runs text starting with these as a formula.
FORMULA_START = frozenset("=+-@\t\r")
NUMBER_TEXT = re.compile(r"^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$")
PROGRESS_SECONDS = 0.5
# The row-number column the select step adds.
ROW_COLUMN = "pipe_row"
# Bytes an answer may take: well under Lambda's 6 MB response payload.
RESPONSE_BUDGET = 4_000_000


class InputError(Exception):
    """The table cannot be scored as given (exit 2); the message says what to change."""


def say(**fields) -> None:
    sys.stderr.write(PROTOCOL + json.dumps(fields) + "\n")
    sys.stderr.flush()


def _set_path(code: str, layers: list[str]) -> None:
    version = "python%d.%d" % sys.version_info[:2]
    entries = [os.path.abspath(code)]
    for layer in layers:
        layer = os.path.abspath(layer)
        entries += [os.path.join(layer, "python"), os.path.join(layer, "python", "lib", version, "site-packages"), layer]
    sys.path[:0] = entries


class Table:
    """What the model card says of the records and the answers: the features and their types, the task,
    classes and reasons; and the columns of the output."""

    def __init__(self, card: dict, header: list[str], keep: list[str]):
        self.features = [(f["name"], f["type"]) for f in card["features"]]
        self.task = card["task"]
        self.classes = [str(c) if not isinstance(c, bool) else json.dumps(c) for c in card.get("classes") or []]
        positive = card.get("positive_class")
        self.positive = None if positive is None else (json.dumps(positive) if isinstance(positive, bool) else str(positive))
        self.reasons = int((card.get("reasons") or {}).get("count", 4))
        self.max_records = int(card["limits"]["max_records"])
        self.max_body_bytes = int(card["limits"].get("max_body_bytes", 1_048_576))
        names = [name for name, _ in self.features]
        repeated = sorted({c for c in header if header.count(c) > 1})
        if repeated:
            raise InputError(f"the table's header names {repeated[0]!r} more than once")
        missing = [name for name in names if name not in header]
        if missing:
            raise InputError(f"the table lacks the feature column {missing[0]!r} (the model reads "
                             f"{', '.join(names)})")
        unknown = [name for name in keep if name not in header]
        if unknown:
            raise InputError(f"--keep {unknown[0]!r}: the table has no such column (columns: {', '.join(header)})")
        self.width = len(header)
        self.at = [header.index(name) for name in names]
        self._reading = [(name, kind, at) for (name, kind), at in zip(self.features, self.at)]
        self.keep = keep
        self.keep_at = [header.index(name) for name in keep]

    def columns(self) -> list[str]:
        names = [name for name, _ in self.features]
        if self.task == "binary":
            head = [f"probability_{self.positive}", "decision", "base_value"]
            shap = [f"shap_{n}" for n in names]
        elif self.task == "multiclass":
            head = [f"probability_{c}" for c in self.classes] + ["label"] + [f"base_value_{c}" for c in self.classes]
            shap = [f"shap_{c}_{n}" for c in self.classes for n in names]
        else:
            head = ["prediction", "base_value"]
            shap = [f"shap_{n}" for n in names]
        reasons = [f"reason_{i}_{part}" for i in range(1, self.reasons + 1) for part in ("feature", "text")]
        return [*self.keep, *head, *shap, *reasons, "error"]

    def record(self, cells: list[str]) -> dict:
        """A row's cells as the record a client sends: numbers, true/false, strings, null for missing."""
        record = {}
        missing, number = MISSING, _number
        for name, kind, at in self._reading:
            text = cells[at].strip()
            if text in missing:
                record[name] = None
            elif kind == "number":
                record[name] = number(text)
            elif kind == "boolean":
                lowered = text.lower()
                record[name] = True if lowered == "true" else False if lowered == "false" else text
            else:
                record[name] = text
        return record

    def prepare(self, rows: list[list[str]], numbers: list[int]) -> list[dict]:
        """The rows as batches: each with the kept cells of its rows, the rows refused before the function
        sees them (by their position in the batch), the records of the others and their request body, cut
        so that no body is over the card's max_body_bytes."""
        keep, refused, records = [], [], []
        for i, cells in enumerate(rows):
            keep.append([cells[at] if at < len(cells) else "" for at in self.keep_at])
            if len(cells) != self.width:
                refused.append([i, f"the row has {len(cells)} fields, the header {self.width}"])
            else:
                records.append((i, self.record(cells)))
        body = json.dumps([r for _, r in records], allow_nan=False, ensure_ascii=False)
        if len(body) <= self.max_body_bytes // 4 or len(body.encode("utf-8")) <= self.max_body_bytes:
            return [_batch(numbers, keep, refused, records, body)]
        # Too large for one request: cut where the next record would pass the limit.
        out: list[dict] = []
        start, size, part = 0, 2, []
        bad = dict(refused)
        texts = {i: json.dumps(r, allow_nan=False, ensure_ascii=False) for i, r in records}
        for i in range(len(rows)):
            text = texts.get(i)
            length = len(text.encode("utf-8")) + 1 if text is not None else 0
            if text is not None and part and size + length > self.max_body_bytes:
                out.append(self._part(numbers, keep, bad, records, start, i, part))
                start, size, part = i, 2, []
            if text is not None:
                part.append(text)
                size += length
        out.append(self._part(numbers, keep, bad, records, start, len(rows), part))
        return out

    @staticmethod
    def _part(numbers, keep, bad, records, start, end, texts) -> dict:
        chosen = [(i - start, r) for i, r in records if start <= i < end]
        return _batch(numbers[start:end], keep[start:end], [[i - start, m] for i, m in bad.items() if start <= i < end],
                      chosen, "[" + ",".join(texts) + "]")

    def rows_per_batch(self, chunk: int) -> int:
        """Rows per batch: at most the card's max_records, and few enough that an answer stays well under
        Lambda's 6 MB response payload (about 40 bytes per SHAP value and 200 per reason)."""
        values = len(self.features) * max(1, len(self.classes) if self.task == "multiclass" else 1)
        per_row = 40 * values + 200 * self.reasons + sum(len(name) for name, _ in self.features) + 200
        return max(1, min(chunk, self.max_records, RESPONSE_BUDGET // per_row))

    def output(self, batch: dict, answer: str | None) -> tuple[list[list], list[tuple[int, str]]]:
        """The batch's output rows, and its refused rows (row number, message)."""
        answers = json.loads(answer)["predictions"] if answer else []
        refused = dict(batch["refused"])
        out, errors, next_answer = [], [], iter(answers)
        width = len(self.columns()) - len(self.keep) - 1
        for i, cells in enumerate(batch["keep"]):
            row = batch["rows"][i]
            kept = [_safe(c) for c in cells]
            if i in refused:
                message = refused[i]
            else:
                prediction = next(next_answer)
                error = prediction.get("error")
                if error is None:
                    out.append(kept + self._cells(prediction) + [""])
                    continue
                message = RECORD_NOTE.sub("", error["message"])
            errors.append((row, message))
            out.append(kept + [""] * width + [_safe(message)])
        return out, errors

    def _cells(self, p: dict) -> list:
        names = [name for name, _ in self.features]
        if self.task == "binary":
            head = [p["probability"], _safe(p["decision"]), p["base_value"]]
            shap = [p["shap"][n] for n in names]
        elif self.task == "multiclass":
            head = [p["probabilities"][c] for c in self.classes] + [_safe(p["label"])] + [p["base_value"][c] for c in self.classes]
            shap = [p["shap"][c][n] for c in self.classes for n in names]
        else:
            head = [p["prediction"], p["base_value"]]
            shap = [p["shap"][n] for n in names]
        reasons = []
        for i in range(self.reasons):
            reason = p["reasons"][i] if i < len(p["reasons"]) else None
            reasons += [_safe(reason["feature"]), _safe(reason["text"])] if reason else ["", ""]
        return head + shap + reasons

    def jsonl(self, batch: dict, answer: str | None) -> tuple[list[str], list[tuple[int, str]]]:
        """The batch as JSON lines: the row number, the kept cells, then the function's own answer."""
        answers = json.loads(answer)["predictions"] if answer else []
        refused = dict(batch["refused"])
        lines, errors, next_answer = [], [], iter(answers)
        for i, kept in enumerate(batch["keep"]):
            row = batch["rows"][i]
            head = {"row": row, **dict(zip(self.keep, kept))}
            if i in refused:
                head["error"] = {"code": "malformed_row", "message": refused[i]}
            else:
                prediction = next(next_answer)
                head.update(prediction)
            if "error" in head:
                head["error"]["message"] = RECORD_NOTE.sub("", head["error"]["message"])
                head["error"].pop("record", None)
                errors.append((row, head["error"]["message"]))
            lines.append(json.dumps(head, ensure_ascii=False))
        return lines, errors


def shap_meaning(card: dict) -> str | None:
    """What the SHAP columns are of, in words: the output they explain and what they are measured against."""
    meaning = card.get("shap_output_meaning") or card.get("shap_output")
    against = (card.get("explainer") or {}).get("measured_against")
    if not meaning:
        return None
    return f"{meaning}, measured against {against}" if against else meaning


def _batch(numbers: list[int], keep: list, refused: list, records: list, body: str) -> dict:
    """One request's worth of rows; ``records`` (position, record) stays in this process."""
    return {"rows": numbers, "keep": keep, "refused": refused, "body": body, "records": [r for _, r in records]}


_INFINITE = (float("inf"), float("-inf"))


def _number(text: str):
    digits = text[1:] if text[:1] in "+-" else text
    if digits.isdecimal():
        return int(text)
    try:
        value = float(text)
    except ValueError:
        return text  # the function refuses it, naming the feature
    return value if value == value and value not in _INFINITE else text


def _safe(cell):
    """A text cell a spreadsheet would run as a formula, kept as text."""
    if isinstance(cell, str) and cell[:1] in FORMULA_START and not NUMBER_TEXT.match(cell):
        return "'" + cell
    return cell


class Writer:
    def __init__(self, table: Table, kind: str, stream, header: bool = True):
        self.table, self.kind = table, kind
        self.stream = stream
        self.csv = csv.writer(stream) if kind == "csv" else None
        if self.csv is not None and header:
            self.csv.writerow([_safe(c) for c in table.columns()])

    def write(self, batch: dict, answer: str | None) -> list[tuple[int, str]]:
        if self.csv is not None:
            rows, errors = self.table.output(batch, answer)
            self.csv.writerows(rows)
        else:
            lines, errors = self.table.jsonl(batch, answer)
            self.stream.write("".join(line + "\n" for line in lines))
        return errors


class Tally:
    """Rows done and refused, and progress lines at most every PROGRESS_SECONDS."""

    def __init__(self, strict: bool, shap_is: str | None = None):
        self.strict = strict
        self.shap_is = shap_is
        self.rows = 0
        self.refused = Counter()
        self.count = 0
        self.started = self.shown = time.monotonic()

    def add(self, rows: int, errors: list[tuple[int, str]]) -> None:
        if errors and self.strict:
            row, message = errors[0]
            raise InputError(f"row {row} was refused (--strict): {message} (row 1 is the first after the header)")
        self.rows += rows
        self.count += len(errors)
        self.refused.update(message for _, message in errors)
        now = time.monotonic()
        if now - self.shown >= PROGRESS_SECONDS:
            self.shown = now
            say(progress=self.rows, seconds=round(now - self.started, 3))

    def done(self) -> None:
        say(done=True, rows=self.rows, refused=self.count, top=self.refused.most_common(5),
            seconds=round(time.monotonic() - self.started, 3), shap_is=self.shap_is)


def batches(reader, size: int, only: set[int] | None = None):
    """Chunks of raw rows with their 1-based row numbers (a blank line is no row); with ``only``, just the
    rows at those 0-based positions."""
    chunk, numbers, number = [], [], 0
    for cells in reader:
        if not cells:
            continue
        number += 1
        if only is not None and number - 1 not in only:
            continue
        chunk.append(cells)
        numbers.append(number)
        if len(chunk) == size:
            yield chunk, numbers
            chunk, numbers = [], []
    if chunk:
        yield chunk, numbers


def read_positions(path: str) -> set[int]:
    """A ``row`` column of 0-based data-row positions (artifacts/validation_index.csv)."""
    try:
        with open(path, encoding="utf-8", newline="") as file:
            reader = csv.DictReader(file)
            if reader.fieldnames is None or "row" not in reader.fieldnames:
                raise InputError(f"--rows {path}: expected a header with a row column (0-based positions)")
            return {int(line["row"]) for line in reader}
    except OSError as err:
        raise InputError(f"--rows {path}: {err.strerror}") from err
    except ValueError as err:
        raise InputError(f"--rows {path}: a row is not a whole number ({err})") from err


# --- score: the function's model in this process or in workers ------------------------------------

_MODEL = None


def _load(code: str) -> None:
    global _MODEL
    os.environ.setdefault("PIPE_ARTIFACTS_DIR", os.path.join(code, "artifacts"))
    os.environ["PIPE_AUDIT_LOG"] = "off"  # a table is scored, not decided on: no trail lines
    import app  # the function's own start-up: memory settings, the model

    if app.MODEL is None:
        raise RuntimeError(f"the packaged model did not load: {app.LOAD_ERROR}")
    _MODEL = app.MODEL


_TABLE: Table | None = None
_KIND = "csv"


def _work(rows: list[list[str]], numbers: list[int]) -> tuple[str, list[tuple[int, str]], int]:
    """A chunk of rows scored by the function's model: its output text, its refused rows, its size."""
    out = io.StringIO()
    writer = Writer(_TABLE, _KIND, out, header=False)
    errors: list[tuple[int, str]] = []
    for batch in _TABLE.prepare(rows, numbers):
        # The records a client's request body would give (json.loads of the body is the same objects).
        answer = _MODEL.predict(batch["records"], None, each=True) if batch["records"] else None
        errors += writer.write(batch, answer)
    return out.getvalue(), errors, len(rows)


def score(args, table: Table, reader, out, tally: Tally) -> None:
    global _TABLE, _KIND
    _TABLE, _KIND = table, args.output
    if args.output == "csv":
        csv.writer(out).writerow([_safe(c) for c in table.columns()])
    size = table.rows_per_batch(args.chunk)
    if args.jobs <= 1:
        _load(args.code)
        for rows, numbers in batches(reader, size, args.only):
            text, errors, count = _work(rows, numbers)
            out.write(text)
            tally.add(count, errors)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # The model loaded once, here, and forked workers sharing it, each taking whole chunks (records,
    # answers and output text); a bounded window of chunks in flight keeps the memory flat whatever the
    # table's size, and the output in input order.
    _load(args.code)
    with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        window: deque = deque()
        for rows, numbers in batches(reader, size, args.only):
            window.append(pool.submit(_work, rows, numbers))
            while len(window) >= 2 * args.jobs:
                text, errors, count = window.popleft().result()
                out.write(text)
                tally.add(count, errors)
        while window:
            text, errors, count = window.popleft().result()
            out.write(text)
            tally.add(count, errors)


def requests(args, table: Table, reader, out) -> None:
    for rows, numbers in batches(reader, table.rows_per_batch(args.chunk), args.only):
        for batch in table.prepare(rows, numbers):
            del batch["records"]
            out.write(json.dumps(batch, ensure_ascii=False) + "\n")
        out.flush()


def format_answers(args, table: Table, lines, writer: Writer, tally: Tally) -> None:
    for line in lines:
        if not line.strip():
            continue
        batch = json.loads(line)
        tally.add(len(batch["keep"]), writer.write(batch, batch.get("answer")))


def select(args) -> int:
    """The rows of the table on stdin at the positions ``--rows`` lists, in order, with their 1-based row
    number in the table as a first column, ``pipe_row``: the rows a model held out, to score."""
    stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
    stdout = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="", write_through=False)
    try:
        if not args.rows:
            raise InputError("select needs --rows FILE")
        only = read_positions(args.rows)
        reader = csv.reader(stdin)
        header = next(reader, None)
        if header is None:
            raise InputError("the table is empty: expected a header line and rows")
        if ROW_COLUMN in header:
            raise InputError(f"the table has a column named {ROW_COLUMN!r}, the name this step gives the row number")
        writer = csv.writer(stdout)
        writer.writerow([ROW_COLUMN, *header])
        selected = 0
        for rows, numbers in batches(reader, 1000, only):
            writer.writerows([number, *cells] for number, cells in zip(numbers, rows))
            selected += len(rows)
        stdout.flush()
        if selected < len(only):
            raise InputError(f"--rows names {len(only)} rows, the table has only {selected} of them: the data changed "
                             "since the model was trained (train again, or pass --data)")
        say(done=True, rows=selected, refused=0, top=[], seconds=0)
        return 0
    except InputError as err:
        say(error=str(err), exit=2)
        return 2
    except (csv.Error, UnicodeDecodeError) as err:
        say(error=f"the table is not a readable UTF-8 CSV: {err}", exit=2)
        return 2


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="score_table")
    parser.add_argument("mode", choices=("score", "requests", "format", "select"))
    parser.add_argument("--code", help="the function's code (/var/task)")
    parser.add_argument("--layer", action="append", default=[])
    parser.add_argument("--keep", action="append", default=[], help="a column passed through (repeatable)")
    parser.add_argument("--output", choices=("csv", "jsonl"), default="csv")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--chunk", type=int, default=1000, help="rows per batch (at most the card's max_records)")
    parser.add_argument("--strict", action="store_true")
    parser.add_argument("--rows", help="select: the rows at these 0-based positions (a CSV with a row column)")
    args = parser.parse_args(argv)
    if args.mode == "select":
        return select(args)
    if not args.code:
        parser.error("--code is required")
    _set_path(args.code, args.layer)
    try:
        with open(os.path.join(args.code, "artifacts", "model_card.json"), encoding="utf-8") as file:
            card = json.load(file)
    except (OSError, ValueError) as err:
        say(error=f"the package has no readable model card: {err}", exit=1)
        return 1
    stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
    stdout = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="", write_through=False)
    try:
        if args.mode == "format":
            # The requests step's first line: the table's header.
            header = json.loads(stdin.readline() or "{}").get("header")
            if header is None:
                raise InputError("format: the first line must be the table's header, as requests writes it")
            reader = None
        else:
            reader = csv.reader(stdin)
            header = next(reader, None)
            if header is None:
                raise InputError("the table is empty: expected a header line and rows")
            if args.mode == "requests":
                # The header first, for the format step.
                stdout.write(json.dumps({"header": header}) + "\n")
        table = Table(card, [h.strip() for h in header], args.keep)
        args.only = None
        if args.mode == "requests":
            requests(args, table, reader, stdout)
            stdout.flush()
            return 0
        tally = Tally(args.strict, shap_meaning(card))
        if args.mode == "score":
            score(args, table, reader, stdout, tally)
        else:
            format_answers(args, table, stdin, Writer(table, args.output, stdout), tally)
        stdout.flush()
        tally.done()
        return 0
    except InputError as err:
        say(error=str(err), exit=2)
        return 2
    except csv.Error as err:
        say(error=f"the table is not a readable CSV: {err}", exit=2)
        return 2
    except UnicodeDecodeError as err:
        say(error=f"the table is not UTF-8 (byte {err.start} of a read)", exit=2)
        return 2
    except BrokenPipeError:
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
