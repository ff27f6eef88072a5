"""A 5xx answer, counted in CloudWatch through the embedded metric format (one JSON log line).

The function answers its own failures with a JSON 500 (or 503 when the model did not load) rather than
raising, so Lambda's Errors metric does not see them. This line makes CloudWatch count them as
pipe/ServerErrors with Lambda's own dimensions (FunctionName; FunctionName, Resource, ExecutedVersion),
which a gradual rollout watches for the new version. Nothing is logged for answers below 500.
"""

import json
import os
import sys
import time

NAMESPACE = "pipe"
METRIC = "ServerErrors"


def server_error_line(context, now_ms: int | None = None) -> str | None:
    """The EMF line for one 5xx answer; None outside Lambda (no function name)."""
    name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
    if not name:
        return None
    version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
    arn = getattr(context, "invoked_function_arn", "") or ""
    parts = arn.split(":")
    # arn:aws:lambda:region:account:function:name[:qualifier]
    qualifier = parts[7] if len(parts) > 7 else None
    root = {"FunctionName": name, METRIC: 1}
    dimensions = [["FunctionName"]]
    if qualifier:
        root["Resource"] = f"{name}:{qualifier}"
        root["ExecutedVersion"] = version
        dimensions.append(["FunctionName", "Resource", "ExecutedVersion"])
    root["_aws"] = {
        "Timestamp": int(time.time() * 1000) if now_ms is None else now_ms,
        "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": dimensions, "Metrics": [{"Name": METRIC, "Unit": "Count"}]}],
    }
    return json.dumps(root, separators=(",", ":"))


def count_server_error(context) -> None:
    line = server_error_line(context)
    if line:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
