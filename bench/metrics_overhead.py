"""Metrics on vs off for one warm call, interleaved: the request line's EMF members, as Lambda would write them.

Shared by ``function_bench.py`` (the warm exchange) and ``session_bench.py``
(the proxied call). The request line goes through a formatter that does what
Lambda's JSON log format does (``local.lambda_runtime.LambdaJsonFormatter``:
every ``extra`` field JSON-encoded) into /dev/null, so the CPU of building
and encoding the metrics is counted, not just of building them. Each round
runs the call once with the container's metrics namespace and once without,
taking turns to go first.
"""

from __future__ import annotations

import logging
import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from local.lambda_runtime import LambdaJsonFormatter

WARMUP = 20


@contextmanager
def lambda_json_log(function_logger: logging.Logger) -> Iterator[list[int]]:
    """Request lines encoded as Lambda's JSON log format does, to /dev/null; yields their sizes in bytes."""
    sizes: list[int] = []

    class _Sized(logging.StreamHandler):
        def emit(self, record: logging.LogRecord) -> None:
            line = self.format(record)
            sizes.append(len(line.encode()))
            self.stream.write(line + "\n")

    sink = open(os.devnull, "w")  # noqa: SIM115 - closed below
    handler = _Sized(sink)
    handler.setFormatter(LambdaJsonFormatter())
    previous_propagate, previous_level = function_logger.propagate, function_logger.level
    function_logger.addHandler(handler)
    function_logger.propagate = False
    function_logger.setLevel(logging.INFO)
    try:
        yield sizes
    finally:
        function_logger.removeHandler(handler)
        function_logger.propagate, function_logger.level = previous_propagate, previous_level
        sink.close()


def compare(prepare: Callable[[], Callable[[], None]], exchange: Any, rounds: int) -> dict[str, list[float]]:
    """Thread CPU seconds of the call ``prepare()`` returns, with metrics on and off, and the line's bytes each way.

    ``prepare`` runs before the clock starts (a fresh code for an exchange).
    """
    container = exchange._container  # the warm container; a reset would drop its connections
    namespace = container.metrics_namespace
    assert namespace, "the benchmark's function environment sets a metrics namespace"
    samples: dict[str, list[float]] = {"on": [], "off": [], "on_bytes": [], "off_bytes": []}
    with lambda_json_log(exchange.log) as sizes:
        for round_number in range(rounds + WARMUP):
            order = ("on", "off") if round_number % 2 else ("off", "on")
            for state in order:
                container.metrics_namespace = namespace if state == "on" else ""
                call = prepare()
                cpu = time.thread_time()
                call()
                spent = time.thread_time() - cpu
                if round_number >= WARMUP:
                    samples[state].append(spent)
                    samples[f"{state}_bytes"].append(sizes[-1])
    container.metrics_namespace = namespace
    return samples


def rows(label: str, samples: dict[str, list[float]]) -> list[tuple[str, str, str]]:
    """Table rows: CPU p50 on / off and their ratio, and the line's size each way."""
    on, off = statistics.median(samples["on"]), statistics.median(samples["off"])
    ratio = on / off
    per_round = statistics.median(a / b for a, b in zip(samples["on"], samples["off"], strict=True))
    return [
        (f"{label} thread CPU p50, metrics on / off", f"{on * 1000:.3f} / {off * 1000:.3f} ms", ""),
        (f"{label} CPU ratio metrics on / off", f"{ratio:.3f} ({(ratio - 1) * 100:+.1f} %)", "<= 1.02"),
        ("  median of per-round ratios (each round back to back)", f"{per_round:.3f} ({(per_round - 1) * 100:+.1f} %)", "<= 1.02"),
        (
            "request line bytes, metrics on / off",
            f"{statistics.median(samples['on_bytes']):.0f} / {statistics.median(samples['off_bytes']):.0f}",
            "",
        ),
    ]
