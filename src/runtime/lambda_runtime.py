"""A small stand-in for the AWS Lambda Python runtime, for running a packaged function locally.

Run isolated (``python3 -I -S``) so that only the function's own files and its layers are importable,
as in a Lambda container. The handler module is imported once (the container's init phase); then
each line on stdin is one invocation. Protocol: one JSON object per line on the real stdout:

    {"type": "ready", "initMs": 12.3}
    {"type": "init_error", "errorType": "...", "errorMessage": "..."}     (then exit 1)
    {"id": N, "result": ..., "durationMs": 1.2}
    {"id": N, "error": {"errorType": "...", "errorMessage": "...", "stackTrace": [...]}, "durationMs": 1.2}

Anything the function writes to stdout (print, C extensions) goes to stderr, which is the log stream,
so it can never corrupt the protocol.
"""

import argparse
import importlib
import json
import os
import sys
import time
import traceback


def _parse_args(argv):
    parser = argparse.ArgumentParser(prog="lambda_runtime")
    parser.add_argument("--code", required=True, help="directory of the function code (/var/task)")
    parser.add_argument("--layer", action="append", default=[], help="an extracted layer (/opt)")
    parser.add_argument("--handler", required=True, help="module.function")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds, for get_remaining_time_in_millis")
    return parser.parse_args(argv)


def _set_path(code, layers):
    # Lambda's order: the function first, then /opt/python and its site-packages, then /opt itself.
    version = "python%d.%d" % sys.version_info[:2]
    entries = [os.path.abspath(code)]
    for layer in layers:
        layer = os.path.abspath(layer)
        entries += [
            os.path.join(layer, "python"),
            os.path.join(layer, "python", "lib", version, "site-packages"),
            layer,
        ]
    sys.path[:0] = entries


def _protocol_stream():
    """Keeps a private copy of fd 1 for protocol lines and points fd 1 (and sys.stdout) at stderr."""
    sys.stdout.flush()
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", newline="\n")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return proto


class LambdaContext:
    """The attributes and method of the context object the AWS Python runtime passes to handlers."""

    def __init__(self, request_id, deadline_ms):
        env = os.environ
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "function")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/" + self.function_name)
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        region = env.get("AWS_REGION", "us-east-1")
        self.invoked_function_arn = "arn:aws:lambda:%s:000000000000:function:%s" % (region, self.function_name)
        self.aws_request_id = request_id
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(int(self._deadline_ms - time.time() * 1000), 0)


_OWN_FILES = (os.path.abspath(__file__), os.path.dirname(importlib.__file__))


def _error(exc, error_type=None):
    # The trace shows the function's frames only, not this runtime's or importlib's.
    frames = [
        frame for frame in traceback.extract_tb(exc.__traceback__)
        if not frame.filename.startswith(_OWN_FILES) and not frame.filename.startswith("<frozen")
    ]
    return {
        "errorType": error_type or type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_list(frames),
    }


def _log_error(request_id, error):
    sys.stderr.write("[ERROR] %s\t%s: %s\n" % (request_id or "init", error["errorType"], error["errorMessage"]))
    for frame in error.get("stackTrace", []):
        sys.stderr.write(frame)


def _load_handler(spec):
    module_name, _, func_name = spec.rpartition(".")
    if not module_name:
        return None, {"errorType": "Runtime.MalformedHandlerName", "errorMessage": "Bad handler '%s': not enough values to unpack (expected 2, got 1)" % spec}
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except SyntaxError as exc:
        return None, _error(exc, "Runtime.UserCodeSyntaxError")
    except ImportError as exc:
        error = _error(exc, "Runtime.ImportModuleError")
        error["errorMessage"] = "Unable to import module '%s': %s" % (module_name, exc)
        return None, error
    except Exception as exc:  # an exception in the module's top level fails init, as in Lambda
        return None, _error(exc)
    func = getattr(module, func_name, None)
    if func is None:
        return None, {"errorType": "Runtime.HandlerNotFound", "errorMessage": "Handler '%s' missing on module '%s'" % (func_name, module_name)}
    return func, None


def _encode(message):
    return json.dumps(message, separators=(",", ":"), allow_nan=False)


def _write(proto, line):
    sys.stderr.flush()
    proto.write(line + "\n")
    proto.flush()


def _invoke(handler, request, timeout):
    request_id = request.get("requestId") or str(request.get("id"))
    deadline = request.get("deadlineMs") or (time.time() + timeout) * 1000
    context = LambdaContext(request_id, deadline)
    sys.stderr.write("START RequestId: %s Version: %s\n" % (request_id, context.function_version))
    started = time.perf_counter()
    error = None
    try:
        result = handler(request.get("event"), context)
    except Exception as exc:
        error = _error(exc)
    duration = round((time.perf_counter() - started) * 1000, 3)
    line = None
    if error is None:
        try:
            line = _encode({"id": request.get("id"), "result": result, "durationMs": duration})
        except (TypeError, ValueError) as exc:
            # Lambda serialises the return value; a value JSON cannot carry is an error, not a crash.
            error = {"errorType": "Runtime.MarshalError", "errorMessage": "Unable to marshal response: %s" % exc}
    if error is not None:
        _log_error(request_id, error)
        line = _encode({"id": request.get("id"), "error": error, "durationMs": duration})
    sys.stderr.write("END RequestId: %s\n" % request_id)
    sys.stderr.write("REPORT RequestId: %s\tDuration: %.2f ms\n" % (request_id, duration))
    return line


def main(argv):
    args = _parse_args(argv)
    proto = _protocol_stream()
    _set_path(args.code, args.layer)
    started = time.perf_counter()
    handler, error = _load_handler(args.handler)
    if error is not None:
        _log_error(None, error)
        _write(proto, _encode(dict(type="init_error", **error)))
        return 1
    _write(proto, _encode({"type": "ready", "initMs": round((time.perf_counter() - started) * 1000, 3)}))
    for raw in sys.stdin.buffer:
        if not raw.strip():
            continue
        request = json.loads(raw.decode("utf-8"))
        try:
            _write(proto, _invoke(handler, request, args.timeout))
        except SystemExit as exc:
            # The function asked the process to exit: Lambda reports it and starts a new container.
            error = {"errorType": "Runtime.ExitError", "errorMessage": "Runtime exited with error: exit status %s" % exc.code}
            _log_error(request.get("requestId"), error)
            _write(proto, _encode({"id": request.get("id"), "error": error}))
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
