"""Slim-mode bootstrap: SigV4 against AWS's documented example, download + verify + atomic extraction."""

from __future__ import annotations

import hashlib
import io
import os
import sys
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import deps_bootstrap
from deps_bootstrap import DepsBootstrapError, ensure_deps, object_url, sign_request

# "GET Object" example of the S3 SigV4 documentation (Signature Calculations for the Authorization
# Header: Transferring Payload in a Single Chunk).
DOC_ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
DOC_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DOC_SIGNATURE = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"

MODULE = "pipe_slim_fixture_dep"


def test_signature_matches_the_s3_documentation_get_object_example():
    headers = sign_request(
        method="GET", host="examplebucket.s3.amazonaws.com", path="/test.txt", query="",
        headers={"Range": "bytes=0-9"}, region="us-east-1", service="s3",
        access_key=DOC_ACCESS_KEY, secret_key=DOC_SECRET_KEY, amz_date="20130524T000000Z",
        payload_hash=deps_bootstrap.EMPTY_SHA256)
    assert headers["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=" + DOC_SIGNATURE)
    assert headers["range"] == "bytes=0-9"
    assert "x-amz-security-token" not in headers


def test_session_token_is_sent_and_signed():
    args = dict(method="GET", host="examplebucket.s3.amazonaws.com", path="/test.txt", query="",
                headers={}, region="us-east-1", service="s3", access_key=DOC_ACCESS_KEY,
                secret_key=DOC_SECRET_KEY, amz_date="20130524T000000Z",
                payload_hash=deps_bootstrap.EMPTY_SHA256)
    plain = sign_request(**args)
    with_token = sign_request(**args, session_token="TOKEN")
    assert with_token["x-amz-security-token"] == "TOKEN"
    assert "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token," in with_token["authorization"]
    assert plain["authorization"] != with_token["authorization"]


def test_object_url_is_virtual_hosted_on_aws_and_path_style_under_an_endpoint_override():
    key = "pipe/credit dev/deps/abc.zip"
    assert object_url({"AWS_REGION": "eu-west-1"}, "my-bucket", key) == \
        "https://my-bucket.s3.eu-west-1.amazonaws.com/pipe/credit%20dev/deps/abc.zip"
    assert object_url({"AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:9/"}, "b", "k/x.zip") == \
        "http://127.0.0.1:9/b/k/x.zip"
    assert object_url({"AWS_ENDPOINT_URL": "http://a:1", "AWS_ENDPOINT_URL_S3": "http://s3:2"}, "b", "k") == "http://s3:2/b/k"
    with pytest.raises(DepsBootstrapError, match="AWS_REGION"):
        object_url({}, "b", "k")


def _deps_zip(source: str = "VALUE = 42\n") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"python/{MODULE}.py", source)
        zf.writestr("python/pkg_only_in_deps/__init__.py", "")
    return buf.getvalue()


class _S3Stub:
    """Serves objects at /BUCKET/KEY and records each request's path and headers."""

    def __init__(self):
        self.objects: dict[str, bytes] = {}
        self.errors: dict[str, tuple[int, bytes]] = {}
        self.requests: list[tuple[str, dict]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                stub.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                if self.path in stub.errors:
                    status, body = stub.errors[self.path]
                else:
                    status, body = (200, stub.objects[self.path]) if self.path in stub.objects else (404, b"")
                self.send_response(status)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture()
def s3():
    stub = _S3Stub()
    yield stub
    stub.close()


@pytest.fixture()
def clean_path(monkeypatch):
    """sys.path and sys.modules restored after the test, as in a fresh container."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield
    for name in (MODULE, "pkg_only_in_deps"):
        sys.modules.pop(name, None)


def _env(s3: _S3Stub, tmp: Path, data: bytes, **extra) -> dict:
    s3.objects["/deps-bucket/pipe/deps/abc.zip"] = data
    env = {
        "PIPE_DEPS_BUCKET": "deps-bucket", "PIPE_DEPS_KEY": "pipe/deps/abc.zip",
        "PIPE_DEPS_SHA256": hashlib.sha256(data).hexdigest(),
        "AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "session",
        "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": s3.endpoint, "TMPDIR": str(tmp),
    }
    env.update(extra)
    return env


def test_not_slim_mode_is_a_no_op(clean_path):
    before = list(sys.path)
    assert ensure_deps({"AWS_REGION": "us-east-1"}) is None
    assert sys.path == before


def test_downloads_signed_extracts_and_puts_python_dir_first(s3, tmp_path, clean_path):
    data = _deps_zip()
    env = _env(s3, tmp_path, data)
    python_dir = ensure_deps(env)
    target = tmp_path / ("pipe-deps-" + env["PIPE_DEPS_SHA256"][:16])
    assert python_dir == str(target / "python")
    assert sys.path[0] == python_dir
    module = __import__(MODULE)
    assert module.VALUE == 42
    assert Path(module.__file__).parent == target / "python"
    # Only the extracted tree remains: no archive, no staging directory.
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]

    [(path, headers)] = s3.requests
    assert path == "/deps-bucket/pipe/deps/abc.zip"
    assert headers["x-amz-security-token"] == "session"
    assert headers["x-amz-content-sha256"] == deps_bootstrap.EMPTY_SHA256
    # What was sent is what was signed: recompute the signature from the received request.
    expected = sign_request(
        method="GET", host=headers["host"], path=path, query="", headers={}, region="us-east-1", service="s3",
        access_key="AKIDTEST", secret_key="secret", amz_date=headers["x-amz-date"],
        payload_hash=headers["x-amz-content-sha256"], session_token=headers["x-amz-security-token"])
    assert headers["authorization"] == expected["authorization"]
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDTEST/")


def test_a_warm_tmp_reuses_the_extracted_deps_without_downloading(s3, tmp_path, clean_path):
    env = _env(s3, tmp_path, _deps_zip())
    first = ensure_deps(env)
    sys.path.remove(first)
    second = ensure_deps(env)
    assert second == first and sys.path[0] == first
    assert len(s3.requests) == 1
    # Called twice in one process, the directory is on sys.path once.
    ensure_deps(env)
    assert sys.path.count(first) == 1


def test_sha256_mismatch_is_a_clear_error_and_leaves_nothing(s3, tmp_path, clean_path, capsys):
    data = _deps_zip()
    wrong = hashlib.sha256(b"something else").hexdigest()
    env = _env(s3, tmp_path, data, PIPE_DEPS_SHA256=wrong)
    before = list(sys.path)
    with pytest.raises(DepsBootstrapError) as caught:
        ensure_deps(env)
    message = str(caught.value)
    assert "sha256 mismatch for s3://deps-bucket/pipe/deps/abc.zip" in message
    assert wrong in message and hashlib.sha256(data).hexdigest() in message
    assert "slim deps: sha256 mismatch" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    assert sys.path == before


def test_a_half_done_earlier_attempt_is_not_trusted(s3, tmp_path, clean_path):
    env = _env(s3, tmp_path, _deps_zip())
    target = tmp_path / ("pipe-deps-" + env["PIPE_DEPS_SHA256"][:16])
    # What a process killed mid-extraction leaves: a staging dir and a partial archive, never the target.
    (tmp_path / f"{target.name}.999.extracting" / "python").mkdir(parents=True)
    (tmp_path / f"{target.name}.zip.999.part").write_bytes(b"PK")
    ensure_deps(env)
    assert len(s3.requests) == 1
    assert (target / "python" / f"{MODULE}.py").is_file()


def test_an_archive_that_fails_to_extract_leaves_no_target(s3, tmp_path, clean_path):
    broken = _deps_zip()[:-30]  # truncated: the sha256 matches what is served, the zip is unreadable
    env = _env(s3, tmp_path, broken)
    with pytest.raises(DepsBootstrapError, match="is not a readable zip"):
        ensure_deps(env)
    assert list(tmp_path.iterdir()) == []


def test_extraction_is_renamed_into_place_in_one_step(s3, tmp_path, clean_path, monkeypatch):
    env = _env(s3, tmp_path, _deps_zip())
    renames = []
    real_rename = os.rename

    def spy(src, dst):
        renames.append((src, dst, sorted(os.listdir(src))))
        real_rename(src, dst)

    monkeypatch.setattr(deps_bootstrap.os, "rename", spy)
    ensure_deps(env)
    [(src, dst, contents)] = renames
    assert dst == str(tmp_path / ("pipe-deps-" + env["PIPE_DEPS_SHA256"][:16]))
    assert src.endswith(".extracting") and contents == ["python"]


def test_http_errors_name_the_object_and_the_s3_error_code(s3, tmp_path, clean_path):
    env = _env(s3, tmp_path, _deps_zip())
    s3.errors["/deps-bucket/pipe/deps/abc.zip"] = (
        403, b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>")
    with pytest.raises(DepsBootstrapError, match=r"GET s3://deps-bucket/pipe/deps/abc.zip failed: HTTP 403 "
                                                 r"AccessDenied: Access Denied"):
        ensure_deps(env)
    assert list(tmp_path.iterdir()) == []


def test_missing_credentials_or_settings_are_clear_errors(tmp_path, clean_path):
    base = {"PIPE_DEPS_BUCKET": "b", "PIPE_DEPS_KEY": "k", "PIPE_DEPS_SHA256": "a" * 64,
            "AWS_REGION": "us-east-1", "TMPDIR": str(tmp_path)}
    with pytest.raises(DepsBootstrapError, match="no AWS credentials"):
        ensure_deps(base)
    with pytest.raises(DepsBootstrapError, match="PIPE_DEPS_KEY is not"):
        ensure_deps({**base, "PIPE_DEPS_KEY": ""})
    with pytest.raises(DepsBootstrapError, match="not a sha256"):
        ensure_deps({**base, "PIPE_DEPS_SHA256": "xyz"})


def test_an_unreachable_endpoint_is_a_clear_error(tmp_path, clean_path):
    stub = _S3Stub()
    endpoint = stub.endpoint
    stub.close()  # nothing listens on that port now
    env = {"PIPE_DEPS_BUCKET": "b", "PIPE_DEPS_KEY": "k", "PIPE_DEPS_SHA256": "a" * 64, "AWS_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "S", "AWS_ENDPOINT_URL": endpoint,
           "TMPDIR": str(tmp_path)}
    with pytest.raises(DepsBootstrapError, match=f"GET s3://b/k from {endpoint} failed"):
        ensure_deps(env)
