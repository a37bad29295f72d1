"""The command's tests start ``python3 -m local`` as a subprocess and read what it prints."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.fake_github_graphql import FakeGraphQL
from local.fake_github_repo import FakeRepository
from local.fake_provider import FakeProvider
from local.stack import GHES_REST_PREFIX, REPO

START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 20


class Cli:
    """The command as a subprocess, its output read line by line on a thread."""

    def __init__(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        own_session: bool = False,
        command: list[str] | None = None,
        cwd: Path = REPO,
    ) -> None:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "OAUTH_CLIENT_SECRET_"))}
        self.process = subprocess.Popen(
            [*(command or [sys.executable, "-m", "local"]), "--site-port", "0", *args],
            cwd=cwd,
            env={**base, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=own_session,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, text: str, timeout: float = START_TIMEOUT_SECONDS) -> str:
        deadline = time.monotonic() + timeout
        while True:
            line = self._queue.get(timeout=max(0.01, deadline - time.monotonic()))
            if line is None:
                raise AssertionError(f"exited before printing {text!r}:\n" + "\n".join(self.lines))
            self.lines.append(line)
            if text in line:
                return line

    def value(self, label: str) -> str:
        return next(line.split(label, 1)[1].split()[0] for line in self.lines if label in line)

    def finish(self, timeout: float = STOP_TIMEOUT_SECONDS) -> int:
        """Wait for the exit and collect the rest of the output."""
        code = self.process.wait(timeout)
        while (line := self._queue.get(timeout=timeout)) is not None:
            self.lines.append(line)
        return code

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def children(self) -> list[int]:
        """Process ids whose parent is the command (Linux /proc)."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                found.append(int(stat.parent.name))
        return found


@pytest.fixture
def cli() -> Iterator[list[Cli]]:
    started: list[Cli] = []
    yield started
    for command in started:
        if command.process.poll() is None:
            command.process.kill()
            command.process.wait()


CMS_ORIGIN = "http://127.0.0.1:8001"


@pytest.fixture
def github() -> Iterator[FakeProvider]:
    """The fake GitHub serving the CMS repository's REST and GraphQL API (as ``LocalStack`` sets it up), to ``CMS_ORIGIN``."""
    with FakeProvider("github", allowed_origins=[CMS_ORIGIN]) as provider:
        repository = FakeRepository(
            allowed_origins=lambda: provider.allowed_origins,
            token_is_valid=lambda token: token in provider.active_access_tokens(),
        )
        provider.api_extensions.extend([repository, FakeGraphQL(repository, provider.base_url)])
        provider.api_prefix = GHES_REST_PREFIX
        provider.repository = repository
        yield provider
