"""The inside of one local Lambda container: import the handler once, then serve invocations one at a time.

Run as a script by ``local.containers`` with the function's environment, so
module-level state (clients, caches) lives exactly as long as a warm Lambda
container, and the test process's environment is never touched. It speaks
JSON lines: one ``{"ready": ...}`` line after init, then one reply per
request line on the original stdout; the handler's own prints and logs go to
stderr, which plays CloudWatch.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import time
import traceback
from datetime import datetime, timezone
from typing import Any, TextIO

_current_request_id = ""


class LambdaContext:
    """What Lambda passes as ``context``: identity of the invocation and its deadline."""

    def __init__(self, request_id: str, deadline_ms: int) -> None:
        name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        region = os.environ.get("AWS_REGION", "us-east-1")
        self.aws_request_id = request_id
        self.function_name = name
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{name}"
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _current_request_id
        return True


class LambdaJsonFormatter(logging.Formatter):
    """Lambda's JSON log format, as the Python runtime interface client (awslambdaric) writes it.

    One object per record: its fixed keys, then every attribute ``logging``
    does not define itself (``extra`` fields, top-level keys), keys whose value
    is None left out. The encoder is strict, as Lambda's is: a value JSON
    cannot hold fails the record (``logging`` reports it on stderr), it is not
    written as its ``str``.
    """

    _RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) - {"taskName"} | {"aws_request_id", "tenant_id"}
    """``taskName`` (3.12+) is not among Lambda's reserved names; its value is None and so left out anyway."""
    _encode = json.JSONEncoder(ensure_ascii=False).encode

    def format(self, record: logging.LogRecord) -> str:
        record.levelno = min(50, max(0, record.levelno)) // 10 * 10
        record.levelname = logging.getLevelName(record.levelno)
        exc_info = record.exc_info
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "stackTrace": traceback.format_tb(exc_info[2]) if exc_info else None,
            "errorType": exc_info[0].__name__ if exc_info and exc_info[0] else None,
            "errorMessage": str(exc_info[1]) if exc_info else None,
            "requestId": getattr(record, "aws_request_id", None),
            "location": f"{record.pathname}:{record.funcName}:{record.lineno}" if exc_info else None,
        }
        if getattr(record, "tenant_id", None) is not None:
            entry["tenantId"] = record.tenant_id
        entry.update((key, value) for key, value in vars(record).items() if key not in self._RESERVED and key not in entry)
        return self._encode({key: value for key, value in entry.items() if value is not None})


def _install_lambda_logging() -> None:
    """The root handler Lambda's Python runtime installs, in the function's log format and level.

    With ``AWS_LAMBDA_LOG_FORMAT=JSON`` (what the Pulumi program deploys) records
    are JSON and the root logger takes ``AWS_LAMBDA_LOG_LEVEL``; with the text
    format the level stays WARNING unless the code changes it.
    """
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("AWS_LAMBDA_LOG_FORMAT") == "JSON":
        handler.setFormatter(LambdaJsonFormatter())
        logging.getLogger().setLevel(os.environ.get("AWS_LAMBDA_LOG_LEVEL", "INFO"))
    else:
        text = logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S"
        )
        text.converter = time.gmtime
        handler.setFormatter(text)
    handler.addFilter(_RequestIdFilter())
    logging.getLogger().addHandler(handler)


def _error(error: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorType": error_type or type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


def _log_error(request_id: str, error: BaseException) -> None:
    lines = traceback.format_exception(error)
    print(f"[ERROR] {type(error).__name__}: {error}\t{request_id}", file=sys.stderr)
    print("".join(lines).rstrip(), file=sys.stderr, flush=True)


def _send(channel: TextIO, message: dict[str, Any]) -> None:
    channel.write(json.dumps(message) + "\n")
    channel.flush()


def _load_handler() -> Any:
    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    return getattr(importlib.import_module(module_name), function_name)


def main() -> None:
    global _current_request_id
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    sys.path[0] = task_root
    os.chdir(task_root)
    _install_lambda_logging()
    try:
        handler = _load_handler()
    except Exception as error:
        _log_error("init", error)
        _send(channel, {"ready": False, "error": _error(error, "Runtime.ImportModuleError")})
        return
    _send(channel, {"ready": True})
    for line in sys.stdin:
        request = json.loads(line)
        _current_request_id = request["id"]
        context = LambdaContext(request["id"], request["deadline_ms"])
        try:
            result = handler(request["event"], context)
        except Exception as error:
            _log_error(request["id"], error)
            _send(channel, {"id": request["id"], "error": _error(error)})
            continue
        try:
            reply = json.dumps({"id": request["id"], "result": result})
        except (TypeError, ValueError) as error:
            _log_error(request["id"], error)
            _send(channel, {"id": request["id"], "error": _error(error, "Runtime.MarshalError")})
            continue
        channel.write(reply + "\n")
        channel.flush()


if __name__ == "__main__":
    main()
