"""The container pool runs a handler as Lambda does: warm reuse, scaling, isolation, failures."""

from __future__ import annotations

import json
import os
import re
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from local.containers import ContainerPool
from local.function_url import FunctionError, Throttled

HANDLER = '''
import json, os, sys, time

COUNT = 0

def handler(event, context):
    global COUNT
    COUNT += 1
    action = event.get("action")
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "raise":
        raise RuntimeError("handler failed on purpose")
    if action == "exit":
        os._exit(3)
    if action == "print":
        print("printed to stdout, not to the protocol")
    if action == "log":
        import logging
        logging.getLogger("app").info("an info record", extra={"route": "/token", "status": 200})
    if action == "log_odd":
        import logging
        logging.getLogger("app").info("a record with nothing", extra={"nothing": None, "kept": 0})
        logging.getLogger("app").info("a record JSON cannot hold", extra={"odd": object()})
        try:
            {}["missing"]
        except KeyError:
            logging.getLogger("app").exception("a failure")
    if action == "unserialisable":
        return {"value": object()}
    if action == "environment":
        return {"env": dict(os.environ), "cwd": os.getcwd(), "path": sys.path}
    if action == "context":
        return {
            "request_id": context.aws_request_id,
            "function_name": context.function_name,
            "remaining": context.get_remaining_time_in_millis(),
            "arn": context.invoked_function_arn,
            "memory": context.memory_limit_in_mb,
        }
    return {"count": COUNT, "pid": os.getpid()}
'''


@pytest.fixture
def logs() -> list[str]:
    return []


def eventually_logged(logs: list[str], matches: Callable[[str], bool], timeout: float = 5.0) -> bool:
    """Container output reaches the log on a reader thread, a moment after the reply."""
    deadline = time.monotonic() + timeout
    while not any(matches(line) for line in list(logs)):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.fixture
def make_pool(tmp_path: Path, logs: list[str]) -> Iterator[Callable[..., ContainerPool]]:
    pools: list[ContainerPool] = []

    def make(source: str = HANDLER, **options: Any) -> ContainerPool:
        (tmp_path / "app.py").write_text(textwrap.dedent(source), encoding="utf-8")
        settings = {
            "task_root": tmp_path,
            "handler": "app.handler",
            "function_name": "test-function",
            "environment": {"CONFIG_VALUE": "from-the-function-config"},
            "timeout_seconds": 5.0,
            "max_concurrency": 3,
            "log": logs.append,
            **options,
        }
        pool = ContainerPool(**settings)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.close()


def test_a_warm_container_keeps_module_state_between_invocations(make_pool):
    pool = make_pool()
    first = pool({}, "req-1")
    second = pool({}, "req-2")
    assert first["pid"] == second["pid"]
    assert (first["count"], second["count"]) == (1, 2)
    assert pool.cold_starts == 1


def test_concurrent_invocations_scale_up_to_the_maximum_then_wait(make_pool):
    pool = make_pool(max_concurrency=3)
    results: list[Any] = []

    def call(i: int) -> None:
        results.append(pool({"action": "sleep", "seconds": 0.4}, f"req-{i}"))

    threads = [threading.Thread(target=call, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6
    assert pool.cold_starts == 3
    assert len({result["pid"] for result in results}) == 3
    assert pool.size == 3


def test_a_timeout_fails_the_invocation_and_discards_the_container(make_pool):
    pool = make_pool(timeout_seconds=0.5)
    before = pool({}, "req-1")
    started = time.monotonic()
    with pytest.raises(FunctionError, match="Task timed out after 0.50 seconds"):
        pool({"action": "sleep", "seconds": 30}, "req-2")
    assert time.monotonic() - started < 3
    after = pool({}, "req-3")
    assert after["pid"] != before["pid"]
    assert after["count"] == 1
    assert pool.cold_starts == 2


def test_a_handled_exception_fails_the_invocation_but_keeps_the_container_warm(make_pool, logs):
    pool = make_pool()
    before = pool({}, "req-1")
    with pytest.raises(FunctionError, match="RuntimeError: handler failed on purpose"):
        pool({"action": "raise"}, "req-2")
    after = pool({}, "req-3")
    assert after["pid"] == before["pid"]
    assert after["count"] == 3
    assert eventually_logged(logs, lambda line: "[ERROR] RuntimeError: handler failed on purpose" in line)


def test_a_crashed_container_is_replaced(make_pool):
    pool = make_pool()
    before = pool({}, "req-1")
    with pytest.raises(FunctionError, match="Runtime exited with error: exit status 3"):
        pool({"action": "exit"}, "req-2")
    after = pool({}, "req-3")
    assert after["pid"] != before["pid"]


def test_an_import_error_is_reported_as_a_failed_invocation(make_pool):
    pool = make_pool("import module_that_does_not_exist\n\ndef handler(event, context):\n    return 1\n")
    with pytest.raises(FunctionError, match="Runtime.ImportModuleError"):
        pool({}, "req-1")
    assert pool.size == 0


def test_an_unserialisable_result_is_a_marshal_error(make_pool):
    pool = make_pool()
    with pytest.raises(FunctionError, match="Runtime.MarshalError"):
        pool({"action": "unserialisable"}, "req-1")


def test_prints_go_to_the_log_not_into_the_result(make_pool, logs):
    pool = make_pool()
    assert pool({"action": "print"}, "req-1")["count"] == 1
    assert eventually_logged(logs, lambda line: line.endswith("printed to stdout, not to the protocol"))


def test_the_json_log_format_writes_json_records_at_the_configured_level(make_pool, logs):
    pool = make_pool(environment={"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"})
    pool({"action": "log"}, "req-json")
    assert eventually_logged(logs, lambda line: '"an info record"' in line)
    record = json.loads(next(line for line in logs if '"an info record"' in line).split(" ", 1)[1])
    assert record["level"] == "INFO" and record["logger"] == "app" and record["requestId"] == "req-json"
    assert (record["route"], record["status"]) == ("/token", 200)


def test_the_json_log_format_leaves_out_none_and_writes_no_record_json_cannot_hold(make_pool, logs):
    pool = make_pool(environment={"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"})
    pool({"action": "log_odd"}, "req-odd")
    assert eventually_logged(logs, lambda line: '"a failure"' in line)
    nothing = json.loads(next(line for line in logs if '"a record with nothing"' in line).split(" ", 1)[1])
    assert "nothing" not in nothing and nothing["kept"] == 0
    assert not any("a record JSON cannot hold" in line and line.split(" ", 1)[1].startswith("{") for line in logs)
    assert any("--- Logging error ---" in line for line in logs)  # logging's report on stderr, as in CloudWatch
    failure = json.loads(next(line for line in logs if '"a failure"' in line).split(" ", 1)[1])
    assert (failure["level"], failure["errorType"], failure["errorMessage"]) == ("ERROR", "KeyError", "'missing'")
    assert isinstance(failure["stackTrace"], list) and re.fullmatch(r".*app\.py:handler:\d+", failure["location"])


def test_the_text_log_format_keeps_info_records_out(make_pool, logs):
    pool = make_pool()
    pool({"action": "log"}, "req-text")
    pool({"action": "print"}, "req-text-2")
    assert eventually_logged(logs, lambda line: line.endswith("printed to stdout, not to the protocol"))
    assert not any("an info record" in line for line in logs)


def test_containers_get_the_function_environment_and_not_the_test_process_environment(make_pool, monkeypatch, tmp_path):
    monkeypatch.setenv("TEST_PROCESS_ONLY", "must-not-leak")
    pool = make_pool()
    result = pool({"action": "environment"}, "req-1")
    env = result["env"]
    assert env["CONFIG_VALUE"] == "from-the-function-config"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "test-function"
    assert env["LAMBDA_TASK_ROOT"] == str(tmp_path.resolve())
    assert env["_HANDLER"] == "app.handler"
    assert "TEST_PROCESS_ONLY" not in env
    assert "127.0.0.1" in env["NO_PROXY"]
    assert result["cwd"] == str(tmp_path.resolve())
    assert result["path"][0] == str(tmp_path.resolve())
    assert not any(Path(entry, "local", "containers.py").exists() for entry in result["path"])
    assert "CONFIG_VALUE" not in os.environ


def test_the_context_carries_the_request_id_and_the_deadline(make_pool):
    pool = make_pool(timeout_seconds=3.0)
    context = pool({"action": "context"}, "4a1f-request")
    assert context["request_id"] == "4a1f-request"
    assert context["function_name"] == "test-function"
    assert context["arn"].endswith(":function:test-function")
    assert 2000 < context["remaining"] <= 3000
    assert context["memory"] == "256"


def test_no_free_container_within_the_queue_timeout_is_throttled(make_pool):
    pool = make_pool(max_concurrency=1, queue_timeout_seconds=0.2)
    busy = threading.Thread(target=pool, args=({"action": "sleep", "seconds": 1.5}, "req-1"))
    busy.start()
    time.sleep(0.5)
    with pytest.raises(Throttled):
        pool({}, "req-2")
    busy.join()
    assert pool({}, "req-3")["count"] == 2


def test_close_stops_every_container_process(make_pool):
    pool = make_pool()
    pids = {pool({"action": "sleep", "seconds": 0.2}, f"req-{i}")["pid"] for i in range(2)}
    assert set(pool.pids) == pids
    pool.close()
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()]
    with pytest.raises(FunctionError):
        pool({}, "req-after-close")
