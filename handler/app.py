"""The Lambda function: tree-model predictions with exact SHAP values, numpy as the only dependency.

Routes: POST /predict, GET / (model card, or the what-if page for browsers), GET /health. Artifacts
are loaded once per process (at import, i.e. during the Lambda init phase) from $PIPE_ARTIFACTS_DIR
or ./artifacts next to this file. A scheduled warm-up invoke (the event ``{"pipe": "warm-up"}``) is
answered without predicting or logging. Each prediction writes a line to the decision trail (audit.py).
"""

from __future__ import annotations

import os
import sys

import deps_bootstrap


# Heap faulted in at start-up per byte of model.json, within bounds: a load's peak heap is 45-90 bytes
# per byte of model.json on the bench models (the most for the smallest).
HEAP_PER_MODEL_BYTE = 48
HEAP_RESERVE_MIN, HEAP_RESERVE_MAX = 16 << 20, 64 << 20
# Below the mmap threshold set below, so that each block is carved from the heap.
HEAP_BLOCK = 16 << 20
THP_SETTING = "/sys/kernel/mm/transparent_hugepage/enabled"
MADV_HUGEPAGE, MADV_POPULATE_WRITE = 14, 23
PAGE = 4096


def _artifacts_dir() -> str:
    # os.path, not pathlib: every import here is paid again on each cold start.
    return os.environ.get("PIPE_ARTIFACTS_DIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                                "artifacts")


def _prepare_memory(model_path: str) -> None:
    """Keeps freed memory in the process, and faults in the heap the load will use.

    glibc hands blocks over 128 kB straight back to the kernel when freed, so every request's work
    arrays (megabytes) would be mapped and page-faulted afresh, at about 10 us a page on Lambda's
    microVMs: most of a 100-record request on a wide model. 32 MB is the largest mmap threshold
    every glibc accepts. Elsewhere (no glibc) nothing changes.
    """
    try:
        import ctypes  # numpy loads it anyway

        libc = ctypes.CDLL(None)
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD: blocks below it come from the heap
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD: the heap keeps what is freed
        size = os.path.getsize(model_path) * HEAP_PER_MODEL_BYTE
    except (OSError, AttributeError):
        return
    if _huge_pages_offered():
        _fault_in_heap(ctypes, libc, min(max(size, HEAP_RESERVE_MIN), HEAP_RESERVE_MAX))


def _huge_pages_offered() -> bool:
    try:
        with open(THP_SETTING, encoding="ascii") as file:
            setting = file.read()  # e.g. "always [madvise] never"
    except OSError:
        return False
    return "[always]" in setting or "[madvise]" in setting


def _fault_in_heap(ctypes, libc, size: int) -> None:
    """Faults in ``size`` bytes of heap as transparent huge pages and hands them back to malloc, which
    serves the load from them.

    A load touches thousands of fresh heap pages, and a page fault costs some 14 us in a Firecracker
    microVM (a 300-tree LightGBM model's load took ~5,000: ~40 ms of its init). As 2 MB pages they
    are a few dozen, populated by the kernel in one call (MADV_POPULATE_WRITE, Linux 5.14+) or else
    written. (Populating 4 kB pages instead measured slower than leaving the faults to the load.)
    """
    libc.malloc.restype = ctypes.c_void_p
    blocks = sorted(filter(None, (libc.malloc(ctypes.c_size_t(HEAP_BLOCK)) for _ in range(-(-size // HEAP_BLOCK)))))
    if not blocks:
        return
    start, end = -(-blocks[0] // PAGE) * PAGE, blocks[-1] + HEAP_BLOCK
    # One range when the blocks lie end to end, as on a heap that grew for them (2 MB pages then span
    # the blocks' boundaries too); otherwise each block on its own.
    spans = [(start, end)] if end - start < len(blocks) * (HEAP_BLOCK + PAGE) else \
        [(-(-p // PAGE) * PAGE, p + HEAP_BLOCK) for p in blocks]
    spans = [(ctypes.c_void_p(first), ctypes.c_size_t((last - first) // PAGE * PAGE)) for first, last in spans]
    for span in spans:
        libc.madvise(*span, MADV_HUGEPAGE)
    if not all(libc.madvise(*span, MADV_POPULATE_WRITE) == 0 for span in spans):
        for p in blocks:
            ctypes.memset(p, 0, HEAP_BLOCK)
    for p in blocks:
        libc.free(ctypes.c_void_p(p))


_prepare_memory(os.path.join(_artifacts_dir(), "model.json"))
# numpy's OpenBLAS would start a thread per core at import (some 100 ms of CPU on two cores, which a
# Lambda below 1,769 MB does not have whole); the function's matrix products are small. A value set in
# the function's environment still wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# Slim mode: the runtime deps (numpy) come from S3 and must be on sys.path before the imports below.
deps_bootstrap.ensure_deps()

from lambda_events import RequestError, html_response, json_response, parse_event, raw_json_response  # noqa: E402
from metrics import count_server_error  # noqa: E402
from model_store import ArtifactError, LoadedModel  # noqa: E402
from validation import parse_body  # noqa: E402

# Used only to size-check bodies when the model (which carries the real limit) failed to load.
_FALLBACK_MAX_BODY = 1_048_576
ROUTES = {"/": ("GET",), "/health": ("GET",), "/predict": ("POST",)}


def _load() -> tuple[LoadedModel | None, str | None]:
    try:
        return LoadedModel(_artifacts_dir()), None
    except ArtifactError as err:
        print(f"model not loaded: {err}", file=sys.stderr, flush=True)
        return None, str(err)


MODEL, LOAD_ERROR = _load()
_PAGE: list = []


def _what_if_page() -> str | None:
    """The what-if page for browsers, read on the first request that asks (not during init)."""
    if not _PAGE:
        try:
            with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "what_if.html"), encoding="utf-8") as f:
                _PAGE.append(f.read())
        except OSError:
            _PAGE.append(None)
    return _PAGE[0]


WARM_UP = {"pipe": "warm-up"}


def handler(event, context):
    if event == WARM_UP:
        return {"warm": True, "model_version": MODEL.version if MODEL else None}
    response = _answer(event, context)
    if response.get("statusCode", 200) >= 500:
        count_server_error(context)
    return response


def _answer(event, context) -> dict:
    try:
        return _route(event, getattr(context, "aws_request_id", None))
    except RequestError as err:
        return json_response(err.status, err.body(), err.headers)
    except Exception:  # noqa: BLE001 - the client gets a JSON 500, the log gets the traceback
        request_id = getattr(context, "aws_request_id", None)
        print(f"unhandled error (request {request_id}):", file=sys.stderr)
        import traceback  # only on this path: it is slow to import at start-up

        traceback.print_exc(file=sys.stderr)
        sys.stderr.flush()
        error = {"code": "internal_error", "message": "the function failed unexpectedly; see its logs"}
        if request_id:
            error["request_id"] = request_id
        return json_response(500, {"error": error})


def _route(event, request_id: str | None) -> dict:
    request = parse_event(event, MODEL.max_body_bytes if MODEL else _FALLBACK_MAX_BODY)
    methods = ROUTES.get(request.path)
    if methods is None:
        raise RequestError(404, "not_found", f"no route {request.path}; try POST /predict, GET / or GET /health")
    if request.method not in methods:
        raise RequestError(405, "method_not_allowed", f"{request.path} accepts {', '.join(methods)}, "
                                                      f"not {request.method}", headers={"allow": ", ".join(methods)})
    if MODEL is None:
        # The reason (with file paths) went to the log at start-up; the public answer stays generic.
        error = {"code": "model_unavailable", "message": "the model artifacts could not be loaded; see the logs"}
        if request.path == "/health":
            return json_response(503, {"status": "unavailable", "error": error})
        return json_response(503, {"error": error})
    if request.path == "/health":
        return json_response(200, {"status": "ok", "model_version": MODEL.version, "features": len(MODEL.names)})
    if request.path == "/":
        page = _what_if_page() if "text/html" in request.accept else None
        if page is not None:
            return html_response(200, page, {"vary": "Accept"})
        return raw_json_response(200, MODEL.card_body, {"vary": "Accept"})
    errors = request.query.get("errors", "refuse")
    if errors not in ("refuse", "each"):
        raise RequestError(400, "invalid_parameter", f"errors={errors!r}: use errors=each (a bad record answered "
                                                     "with its error in place) or errors=refuse (the default)",
                           field="errors")
    return raw_json_response(200, MODEL.predict(parse_body(request.body), request_id, each=errors == "each"))
