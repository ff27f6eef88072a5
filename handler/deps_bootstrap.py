"""Slim mode: the runtime dependencies come from S3 instead of a layer, fetched once per container.

When a package is over Lambda's 262,144,000-byte unzipped limit, deploy uploads the deps archive (a
layer-shaped zip holding ``python/...``) to S3 and sets PIPE_DEPS_BUCKET, PIPE_DEPS_KEY and
PIPE_DEPS_SHA256 on the function. ``ensure_deps()`` runs at the top of the handler module, before
anything imports numpy: it downloads the object, checks its sha256, extracts it under /tmp and puts
its ``python/`` directory first on sys.path. A warm /tmp (same container) skips the download.

Only the standard library is used (no boto3: it is not guaranteed in the runtime, and the deps are
exactly what is not there yet). The GetObject request is signed with SigV4 using the credentials the
Lambda runtime puts in the environment. Any failure raises DepsBootstrapError, which fails the init
phase with a message naming the object and the cause, so the smoke test fails and the old version
stays live.
"""

from __future__ import annotations

import os
import sys

ENV_BUCKET = "PIPE_DEPS_BUCKET"
ENV_KEY = "PIPE_DEPS_KEY"
ENV_SHA256 = "PIPE_DEPS_SHA256"

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
_CHUNK = 1 << 20
_TIMEOUT_SECONDS = 60
# The prefix names the extraction directory: enough to tell deps versions apart in one /tmp.
_DIR_HASH_CHARS = 16


class DepsBootstrapError(RuntimeError):
    """The slim-mode deps archive could not be fetched, verified or extracted."""


def ensure_deps(environ=None) -> str | None:
    """Makes the S3 deps archive importable; returns its python/ dir, or None when not in slim mode."""
    env = os.environ if environ is None else environ
    bucket = env.get(ENV_BUCKET)
    if not bucket:
        return None
    try:
        key = _required(env, ENV_KEY)
        sha256 = _required(env, ENV_SHA256).lower()
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise DepsBootstrapError(f"{ENV_SHA256} is not a sha256 hex digest: {sha256!r}")
        target = os.path.join(env.get("TMPDIR") or "/tmp", "pipe-deps-" + sha256[:_DIR_HASH_CHARS])
        if not os.path.isdir(target):
            _fetch_and_extract(env, bucket, key, sha256, target)
        python_dir = os.path.join(target, "python")
        if not os.path.isdir(python_dir):
            raise DepsBootstrapError(f"the deps archive s3://{bucket}/{key} has no python/ directory")
    except DepsBootstrapError as err:
        # The init error goes to the log with the cause; the message alone says what to look at.
        print(f"slim deps: {err}", file=sys.stderr, flush=True)
        raise
    if python_dir in sys.path:
        sys.path.remove(python_dir)
    sys.path.insert(0, python_dir)
    return python_dir


def _required(env, name: str) -> str:
    value = env.get(name)
    if not value:
        raise DepsBootstrapError(f"{ENV_BUCKET} is set but {name} is not")
    return value


def _fetch_and_extract(env, bucket: str, key: str, sha256: str, target: str) -> None:
    base = os.path.dirname(target)
    os.makedirs(base, exist_ok=True)
    # Unique names per process: a concurrent or killed earlier attempt never collides with this one.
    archive = f"{target}.zip.{os.getpid()}.part"
    staging = f"{target}.{os.getpid()}.extracting"
    try:
        actual = download_object(env, bucket, key, archive)
        if actual != sha256:
            raise DepsBootstrapError(
                f"sha256 mismatch for s3://{bucket}/{key}: expected {sha256}, downloaded {actual}; "
                "the object changed since deploy: run `pipe deploy` again")
        _extract(archive, staging, bucket, key)
        os.remove(archive)
        try:
            os.rename(staging, target)
        except OSError:
            # Another process of this container got there first: its complete copy is as good.
            if not os.path.isdir(target):
                raise
    except OSError as err:
        raise DepsBootstrapError(f"cannot store s3://{bucket}/{key} under {base}: {err}") from err
    finally:
        _remove(archive)
        _remove(staging)


def _extract(archive: str, staging: str, bucket: str, key: str) -> None:
    import zipfile

    try:
        with zipfile.ZipFile(archive) as zf:
            # extractall drops absolute paths and ".." components, so entries stay inside staging.
            zf.extractall(staging)
    except (zipfile.BadZipFile, EOFError) as err:
        raise DepsBootstrapError(f"s3://{bucket}/{key} is not a readable zip: {err}") from err


def _remove(path: str) -> None:
    if os.path.isdir(path):
        import shutil

        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.remove(path)


def object_url(env, bucket: str, key: str) -> str:
    """Path-style under an endpoint override (S3-compatible servers, tests), else virtual-hosted AWS."""
    from urllib.parse import quote

    path = quote(key, safe="/~")
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if endpoint:
        return f"{endpoint.rstrip('/')}/{quote(bucket, safe='')}/{path}"
    region = _region(env)
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    if "." in bucket:
        # A dotted bucket name does not match the wildcard TLS certificate of the virtual host.
        return f"https://s3.{region}.{suffix}/{bucket}/{path}"
    return f"https://{bucket}.s3.{region}.{suffix}/{path}"


def _region(env) -> str:
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if not region:
        raise DepsBootstrapError("AWS_REGION is not set")
    return region


def download_object(env, bucket: str, key: str, dest: str) -> str:
    """GETs the object into dest (streamed, never whole in memory); returns its sha256 hex digest."""
    import hashlib
    import time
    import urllib.error
    import urllib.request
    from urllib.parse import urlsplit

    access_key = env.get("AWS_ACCESS_KEY_ID")
    secret_key = env.get("AWS_SECRET_ACCESS_KEY")
    if not access_key or not secret_key:
        raise DepsBootstrapError("no AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)")
    url = object_url(env, bucket, key)
    parts = urlsplit(url)
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    headers = sign_request(
        method="GET", host=parts.netloc, path=parts.path, query="", headers={},
        region=_region(env), service="s3", access_key=access_key, secret_key=secret_key,
        session_token=env.get("AWS_SESSION_TOKEN") or None, amz_date=amz_date, payload_hash=EMPTY_SHA256)
    request = urllib.request.Request(url, headers=headers, method="GET")
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_SECONDS) as response, open(dest, "wb") as out:
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                digest.update(chunk)
                out.write(chunk)
    except urllib.error.HTTPError as err:
        raise DepsBootstrapError(f"GET s3://{bucket}/{key} failed: HTTP {err.code} {_s3_error(err)}") from err
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise DepsBootstrapError(f"GET s3://{bucket}/{key} from {parts.scheme}://{parts.netloc} failed: {reason}") from err
    return digest.hexdigest()


def _s3_error(err) -> str:
    import re

    try:
        body = err.read(4096).decode("utf-8", "replace")
    except OSError:
        body = ""
    code = re.search(r"<Code>([^<]*)</Code>", body)
    message = re.search(r"<Message>([^<]*)</Message>", body)
    if code:
        return f"{code.group(1)}: {message.group(1) if message else ''}".rstrip(": ")
    return err.reason or ""


def sign_request(*, method: str, host: str, path: str, query: str, headers: dict, region: str, service: str,
                 access_key: str, secret_key: str, amz_date: str, payload_hash: str,
                 session_token: str | None = None) -> dict:
    """AWS Signature Version 4 for one request; returns every header to send, Authorization included.

    ``path`` is already URI-encoded once (S3 does not encode it again), ``query`` is the canonical
    query string, ``headers`` are extra headers to sign (e.g. Range).
    """
    import hashlib
    import hmac

    signed = {name.lower(): " ".join(str(value).split()) for name, value in headers.items()}
    signed["host"] = host
    signed["x-amz-date"] = amz_date
    signed["x-amz-content-sha256"] = payload_hash
    if session_token:
        signed["x-amz-security-token"] = session_token
    names = sorted(signed)
    canonical_headers = "".join(f"{n}:{signed[n]}\n" for n in names)
    signed_headers = ";".join(names)
    canonical_request = "\n".join([method, path or "/", query, canonical_headers, signed_headers, payload_hash])
    day = amz_date[:8]
    scope = f"{day}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()])

    def _hmac(key: bytes, data: str) -> bytes:
        return hmac.new(key, data.encode(), hashlib.sha256).digest()

    key = _hmac(_hmac(_hmac(_hmac(("AWS4" + secret_key).encode(), day), region), service), "aws4_request")
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    signed["authorization"] = (f"AWS4-HMAC-SHA256 Credential={access_key}/{scope},"
                               f"SignedHeaders={signed_headers},Signature={signature}")
    return signed
