"""A pool of local Lambda "containers": worker processes that run the handler as Lambda does.

Each container is a ``local/lambda_runtime.py`` process with the function's
own environment and only ``function/`` importable; it imports the handler
once (cold start) and serves one invocation at a time while warm. The pool
reuses the most recently freed container, starts another when all are busy,
up to ``max_concurrency``; beyond that a request waits for a free container
(a laptop cannot run Lambda's 1000) and is throttled (429) only if none frees
up within ``queue_timeout_seconds`` (the function timeout by default). A
timeout or a crash discards the container, as Lambda does.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from local.function_url import FunctionError, Throttled

RUNTIME = Path(__file__).with_name("lambda_runtime.py")
INIT_TIMEOUT_SECONDS = 10.0  # Lambda's limit for the init phase
STOP_GRACE_SECONDS = 2.0
_PASSTHROUGH = (
    "PATH",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "http_proxy",
    "https_proxy",
)

LogSink = Callable[[str], None]


def _loopback_without_proxy() -> dict[str, str]:
    """Whatever proxy the developer uses, the local provider and moto are reached directly."""
    current = os.environ.get("NO_PROXY") or os.environ.get("no_proxy") or ""
    value = ",".join(filter(None, [current, "127.0.0.1", "localhost"]))
    return {"NO_PROXY": value, "no_proxy": value}


def _stderr_sink(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Container:
    """One runtime process; not thread-safe: the pool hands it to one invocation at a time."""

    def __init__(self, number: int, env: Mapping[str, str], task_root: Path, log: LogSink) -> None:
        self.number = number
        self._replies: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.process = subprocess.Popen(
            [sys.executable, "-B", "-u", str(RUNTIME)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=task_root,
            text=True,
            encoding="utf-8",
            start_new_session=True,  # a terminal Ctrl-C reaches only the stack, which stops its children
        )
        assert self.process.stdin and self.process.stdout and self.process.stderr
        self._stdin = self.process.stdin
        self._readers = [
            threading.Thread(target=self._read_replies, args=(self.process.stdout,), daemon=True),
            threading.Thread(target=self._forward_logs, args=(self.process.stderr, log), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_replies(self, stream: IO[str]) -> None:
        for line in stream:
            self._replies.put(json.loads(line))
        self._replies.put(None)

    def _forward_logs(self, stream: IO[str], log: LogSink) -> None:
        for line in stream:
            log(f"function[{self.number}] {line.rstrip()}")

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_ready(self) -> None:
        """The init phase: importing the handler module."""
        reply = self._next_reply(INIT_TIMEOUT_SECONDS, f"Init did not finish within {INIT_TIMEOUT_SECONDS:.0f} seconds")
        if not reply.get("ready"):
            self.stop()
            error = reply.get("error", {})
            raise FunctionError(f"{error.get('errorType')}: {error.get('errorMessage')}")

    def invoke(self, event: dict[str, Any], request_id: str, timeout_seconds: float) -> Any:
        deadline_ms = int((time.time() + timeout_seconds) * 1000)
        try:
            self._stdin.write(json.dumps({"id": request_id, "event": event, "deadline_ms": deadline_ms}) + "\n")
            self._stdin.flush()
        except (BrokenPipeError, ValueError):
            self.stop()
            raise FunctionError(f"Runtime exited with error: exit status {self.process.poll()}") from None
        reply = self._next_reply(timeout_seconds, f"Task timed out after {timeout_seconds:.2f} seconds")
        if "error" in reply:
            error = reply["error"]
            raise FunctionError(f"{error['errorType']}: {error['errorMessage']}")
        return reply["result"]

    def _next_reply(self, timeout_seconds: float, timeout_message: str) -> dict[str, Any]:
        try:
            reply = self._replies.get(timeout=timeout_seconds)
        except queue.Empty:
            self.process.kill()
            self.stop()
            raise FunctionError(timeout_message) from None
        if reply is None:
            self.stop()
            raise FunctionError(f"Runtime exited with error: exit status {self.process.returncode}")
        return reply

    def stop(self) -> None:
        """Close stdin (the runtime exits at EOF), kill it if it does not."""
        try:
            self._stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for reader in self._readers:
            reader.join(STOP_GRACE_SECONDS)


class ContainerPool:
    """Runs ``handler`` from ``task_root`` like Lambda; call it as the emulator's ``Function``."""

    def __init__(
        self,
        *,
        task_root: Path,
        handler: str,
        function_name: str,
        environment: Mapping[str, str],
        timeout_seconds: float,
        memory_mb: int = 256,
        max_concurrency: int = 4,
        queue_timeout_seconds: float | None = None,
        log: LogSink = _stderr_sink,
    ) -> None:
        self.task_root = Path(task_root).resolve()
        self.timeout_seconds = timeout_seconds
        self.queue_timeout_seconds = timeout_seconds if queue_timeout_seconds is None else queue_timeout_seconds
        self.max_concurrency = max_concurrency
        self._log = log
        self.environment: dict[str, str] = {  # every container's, plus its own log stream name
            **{k: os.environ[k] for k in _PASSTHROUGH if k in os.environ},
            **_loopback_without_proxy(),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": str(self.task_root),
            "_HANDLER": handler,
            "AWS_LAMBDA_FUNCTION_NAME": function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
            **environment,
        }
        self._idle: list[Container] = []
        self._all: list[Container] = []
        self._starting = 0
        self._started = 0
        self._closed = False
        self._available = threading.Condition()

    @property
    def cold_starts(self) -> int:
        """How many containers were started (each one an init of the handler module)."""
        with self._available:
            return self._started

    @property
    def size(self) -> int:
        with self._available:
            return len(self._all)

    @property
    def pids(self) -> list[int]:
        """The process ids of the running containers."""
        with self._available:
            return [container.process.pid for container in self._all]

    def __call__(self, event: dict[str, Any], request_id: str) -> Any:
        container = self._acquire()
        try:
            return container.invoke(event, request_id, self.timeout_seconds)
        finally:
            self._release(container)

    def _acquire(self) -> Container:
        deadline = time.monotonic() + self.queue_timeout_seconds
        with self._available:
            while True:
                if self._closed:
                    raise FunctionError("the function is shutting down")
                if self._idle:
                    return self._idle.pop()
                if len(self._all) + self._starting < self.max_concurrency:
                    self._starting += 1
                    self._started += 1
                    number = self._started
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise Throttled()
                self._available.wait(remaining)
        return self._start(number)

    def _start(self, number: int) -> Container:
        stream = time.strftime("%Y/%m/%d", time.gmtime()) + f"/[$LATEST]{secrets.token_hex(16)}"
        env = {**self.environment, "AWS_LAMBDA_LOG_STREAM_NAME": stream}
        try:
            container = Container(number, env, self.task_root, self._log)
            container.wait_ready()
        except BaseException:
            with self._available:
                self._starting -= 1
                self._available.notify()
            raise
        with self._available:
            self._starting -= 1
            self._all.append(container)
        return container

    def _release(self, container: Container) -> None:
        with self._available:
            if container.alive and not self._closed:
                self._idle.append(container)
            else:
                self._all.remove(container)
            self._available.notify()
        if self._closed:
            container.stop()

    def close(self) -> None:
        """Stop every container; invocations still running end with a 502."""
        with self._available:
            self._closed = True
            containers = list(self._all)
            self._idle.clear()
            self._available.notify_all()
        for container in containers:
            container.stop()
