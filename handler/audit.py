"""The decision trail: one JSON line per prediction in the function's log (``audit.log`` in the config).

$PIPE_AUDIT_LOG chooses what is written:

* ``decisions`` (the default): time, request id, model version, the output and decision, the reasons
  (features and their contributions), the names of the features that were null (``missing``) and a
  salted SHA-256 of the record, never the feature values;
* ``full``: the same plus the values as sent;
* ``off``: nothing.

A line reads::

    {"pipe_audit":1,"time":"2026-11-30T20:41:07.123Z","request_id":"...","model_version":"...",
     "task":"binary","positive_class":"bad","shap_output":"log_odds","record":0,"output":{"probability":0.41},
     "decision":"approve","reasons":[{"feature":"DebtRatio","contribution":0.12}],"missing":["MonthlyIncome"],
     "input_sha256":"..."}

``positive_class`` (binary models) says what ``probability`` is the probability of, and ``shap_output``
what the reasons' contributions are in (log-odds, probability, the predicted value).

The hash is SHA-256 over $PIPE_AUDIT_SALT then the record as canonical JSON (keys sorted, no
spaces, UTF-8): whoever holds the salt and a record can show that this decision was made for it,
and nobody can read the record back from the log. Without a salt each process draws its own, so
hashes still hide the values but can only be matched within one process.
"""

from __future__ import annotations

import json
import os
import sys
import time

try:  # CPython's own SHA-256 (3.12+: _sha2, 3.11: _sha256): importing hashlib loads OpenSSL, ~8 ms of a cold start
    from _sha2 import sha256
except ImportError:
    try:
        from _sha256 import sha256
    except ImportError:
        from hashlib import sha256

# Past this many bytes OpenSSL's SHA-256 (hashlib) pays for its import: some 4 ms against some 5 ms per
# megabyte saved (a model.json with 1,000 reference rows is 4 MB).
OPENSSL_BYTES = 1 << 20


def digest(data: bytes) -> str:
    """The hex SHA-256 of data, by whichever implementation is faster for its size."""
    if len(data) > OPENSSL_BYTES:
        import hashlib

        return hashlib.sha256(data).hexdigest()
    return sha256(data).hexdigest()

MODES = ("decisions", "full", "off")


def _timestamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + ".%03dZ" % int(seconds % 1 * 1000)


class AuditLog:
    def __init__(self, version: str, task: str, environ: dict | None = None, write=None,
                 positive_class: object = None, shap_output: str | None = None):
        environ = os.environ if environ is None else environ
        mode = environ.get("PIPE_AUDIT_LOG") or "decisions"
        if mode not in MODES:
            print(f"PIPE_AUDIT_LOG={mode!r} is not one of {', '.join(MODES)}; writing decisions", file=sys.stderr)
            mode = "decisions"
        self.mode = mode
        salt = environ.get("PIPE_AUDIT_SALT")
        self._salt = salt.encode("utf-8") if salt else os.urandom(32)
        self._write = write or _stdout
        # What the numbers are of, written once into the template (a label's % kept as text).
        meaning = ((',"positive_class":' + json.dumps(positive_class)) if positive_class is not None else "") + \
            ((',"shap_output":' + json.dumps(shap_output)) if shap_output else "")
        self._head = ('{"pipe_audit":1,"time":%s,"request_id":%s,"model_version":' + json.dumps(version)
                      + ',"task":' + json.dumps(task) + meaning.replace("%", "%%")
                      + ',"record":%d,"output":%s,"decision":%s,"reasons":%s,"missing":%s,"input_sha256":"%s"')

    def input_hash(self, record: dict) -> str:
        canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return sha256(self._salt + canonical.encode("utf-8")).hexdigest()

    def decisions(self, request_id: str | None, outputs: list[str], decisions: list[str],
                  reasons: list[list[tuple[str, float]]], records: list[dict]) -> None:
        """Writes one line per record. outputs and decisions come as JSON text (the response's own)."""
        if self.mode == "off":
            return
        now, rid = json.dumps(_timestamp(time.time())), json.dumps(request_id)
        full = self.mode == "full"
        lines = []
        for index, (output, decision, why, record) in enumerate(zip(outputs, decisions, reasons, records)):
            named = "[" + ",".join('{"feature":%s,"contribution":%r}' % (json.dumps(f), c) for f, c in why) + "]"
            missing = json.dumps([name for name, value in record.items() if value is None])
            line = self._head % (now, rid, index, output, decision, named, missing, self.input_hash(record))
            if full:
                line += ',"values":' + json.dumps(record, allow_nan=False)
            lines.append(line + "}")
        self._write("\n".join(lines) + "\n")


def _stdout(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
