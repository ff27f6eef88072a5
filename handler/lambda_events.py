"""Reads the HTTP request out of a Lambda event and writes HTTP responses back.

Two event shapes reach the function: Function URLs (and HTTP APIs) send payload format 2.0
(``rawPath``, ``requestContext.http.method``); API Gateway REST APIs send format 1.0
(``path``, ``httpMethod``). Both may carry a base64 body (``isBase64Encoded``).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import NamedTuple

JSON_HEADERS = {"content-type": "application/json", "cache-control": "no-store"}
# The what-if page is self-contained: its script may talk to this function's own URL and nothing else.
HTML_HEADERS = {
    "content-type": "text/html; charset=utf-8", "cache-control": "no-store",
    "content-security-policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                               "img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'",
    "x-content-type-options": "nosniff", "referrer-policy": "no-referrer",
}


class RequestError(Exception):
    """A client mistake: becomes a 4xx JSON response naming the problem (and the field, if any)."""

    def __init__(self, status: int, code: str, message: str, *, field: str | None = None,
                 record: int | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.record = record
        self.headers = headers or {}

    def body(self) -> dict:
        error: dict = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        if self.record is not None:
            error["record"] = self.record
        return {"error": error}


class HttpRequest(NamedTuple):
    method: str
    path: str
    body: bytes
    accept: str  # the Accept header, "" when absent
    query: dict  # the query string's parameters (the last value of a repeated one)


def parse_event(event: object, max_body_bytes: int) -> HttpRequest:
    if not isinstance(event, dict):
        raise RequestError(400, "invalid_event", "the event is not an HTTP request object")
    http = (event.get("requestContext") or {}).get("http") if isinstance(event.get("requestContext"), dict) else None
    if isinstance(http, dict) and "method" in http:
        method = http.get("method")
        path = event.get("rawPath") or http.get("path")
    elif "httpMethod" in event:
        method = event.get("httpMethod")
        path = event.get("path")
    else:
        raise RequestError(400, "invalid_event",
                           "the event is neither a Function URL (payload 2.0) nor an API Gateway request")
    if not isinstance(method, str) or not isinstance(path, str):
        raise RequestError(400, "invalid_event", "the event has no usable HTTP method and path")

    raw = event.get("body")
    if raw is None:
        body = b""
    elif not isinstance(raw, str):
        raise RequestError(400, "invalid_event", "the event body must be a string")
    elif event.get("isBase64Encoded"):
        # base64 inflates by 4/3: reject oversize bodies before decoding them.
        if len(raw) > (max_body_bytes + 2) // 3 * 4 + 4:
            raise _too_large(max_body_bytes)
        try:
            body = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as err:
            raise RequestError(400, "invalid_base64", "the body is marked base64 but does not decode") from err
    else:
        body = raw.encode("utf-8", "surrogatepass")
    if len(body) > max_body_bytes:
        raise _too_large(max_body_bytes)
    normalized = "/" + path.strip("/") if path.strip("/") else "/"
    headers = event.get("headers") if isinstance(event.get("headers"), dict) else {}
    accept = next((v for k, v in headers.items() if isinstance(k, str) and k.lower() == "accept"), "")
    query = event.get("queryStringParameters")
    return HttpRequest(method=method.upper(), path=normalized, body=body,
                       accept=accept if isinstance(accept, str) else "",
                       query=query if isinstance(query, dict) else {})


def _too_large(limit: int) -> RequestError:
    return RequestError(413, "body_too_large", f"the request body is larger than {limit} bytes")


def json_response(status: int, document: object, headers: dict | None = None) -> dict:
    return raw_json_response(status, json.dumps(document, allow_nan=False, separators=(",", ":")), headers)


def html_response(status: int, body: str, headers: dict | None = None) -> dict:
    return {"statusCode": status, "headers": {**HTML_HEADERS, **(headers or {})}, "body": body,
            "isBase64Encoded": False}


def raw_json_response(status: int, body: str, headers: dict | None = None) -> dict:
    return {"statusCode": status, "headers": {**JSON_HEADERS, **(headers or {})}, "body": body,
            "isBase64Encoded": False}
