"""One warm Lambda function in its own process:
``python -m ticket_enhancer_dev.local.function_host MOD.ATTR``.

Imports the handler once (Lambda's init), says ``{"ready": true}``, then answers invocations over
JSON lines: ``{"event": ..., "request_id": ..., "deadline_ms": ...}`` on stdin ->
``{"result": ...}`` or ``{"error": {"errorType", "errorMessage"}}`` on stdout. Whatever the
function prints or logs goes to stderr, so the protocol channel stays clean. Ends at EOF on stdin.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from typing import IO, Any


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    aws_request_id: str
    deadline_ms: int
    function_version: str = "$LATEST"

    @property
    def invoked_function_arn(self) -> str:
        region = os.environ.get("AWS_REGION", "us-east-1")
        return f"arn:aws:lambda:{region}:123456789012:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(time.time() * 1000))


def _error(exc: BaseException) -> dict[str, Any]:
    return {"error": {"errorType": type(exc).__name__, "errorMessage": str(exc)}}


def _send(channel: IO[str], message: dict[str, Any]) -> None:
    try:
        line = json.dumps(message)
    except (TypeError, ValueError) as exc:
        line = json.dumps({"error": {"errorType": "Runtime.MarshalError", "errorMessage": str(exc)}})
    channel.write(line + "\n")
    channel.flush()


def serve(spec: str) -> int:
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")  # the protocol's own copy of stdout
    os.dup2(2, 1)  # print() and loggers writing to stdout now land on stderr
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the stack; it stops us itself
    module_name, _, attribute = spec.rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), attribute)
    except Exception as exc:
        traceback.print_exc()
        _send(channel, {"init_error": _error(exc)["error"]})
        return 1
    _send(channel, {"ready": True})
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", module_name)
    memory = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
    for line in sys.stdin:
        request = json.loads(line)
        context = LambdaContext(function_name, memory, request["request_id"], request["deadline_ms"])
        try:
            answer = {"result": handler(request["event"], context)}
        except Exception as exc:
            traceback.print_exc()
            answer = _error(exc)
        _send(channel, answer)
    return 0


def main(argv: list[str]) -> int:
    if len(argv) != 1 or "." not in argv[0]:
        print("usage: python -m ticket_enhancer_dev.local.function_host MODULE.ATTRIBUTE", file=sys.stderr)
        return 2
    return serve(argv[0])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
