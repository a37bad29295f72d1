"""Metrics on vs off, and vs an older function, for one warm call, interleaved: the request line as Lambda would write it.

Shared by ``function_bench.py`` (the warm exchange) and ``session_bench.py``
(the proxied call). The request line goes through a formatter that does what
Lambda's JSON log format does (``local.lambda_runtime.LambdaJsonFormatter``:
every ``extra`` field JSON-encoded) into /dev/null, so the CPU of building
and encoding the metrics is counted, not just of building them. Each round
runs the call once with the container's metrics namespace, once without and,
given a ``baseline.Baseline`` (``--baseline REV``), once through the function
as it was at that revision, in the same process. The target (within 2 %)
is metrics on against the function the metrics were added to,
``BEFORE_METRICS``, the baseline when none is named. Metrics on against off
is what the metrics themselves cost, which the cheaper request line pays for.
The states take turns to go first, in every order.
"""

from __future__ import annotations

import itertools
import logging
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from baseline import ROOT, Baseline
from local.lambda_runtime import LambdaJsonFormatter

WARMUP = 20
BEFORE_METRICS = "a2047b3"
"""The function the metrics were added to (after the library-first DynamoDB client): the CPU target's "today"."""


def baseline_revision(asked: str | None) -> str | None:
    """The revision to compare with: ``asked``, else ``BEFORE_METRICS`` when this clone holds it; ``""`` for none.

    A named revision git cannot find ends the run; the default missing (a
    shallow clone, an unpacked archive) only leaves the comparison out, saying so.
    """
    revision = BEFORE_METRICS if asked is None else asked
    if not revision:
        return None
    found = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], capture_output=True
    ).returncode == 0
    if found:
        return revision
    if asked is not None:
        raise SystemExit(f"--baseline {asked}: no such revision in this clone")
    print(f"(no comparison with {BEFORE_METRICS}, the function before the metrics: this clone does not hold it)", file=sys.stderr)
    return None


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


def compare(
    prepare: Callable[[Any], Callable[[], None]], handler: Any, rounds: int, baseline: Baseline | None = None
) -> dict[str, list[float]]:
    """Thread CPU seconds of the call ``prepare(handler module)`` returns, per state, and the line's bytes each way.

    ``prepare`` runs before the clock starts (a fresh code for an exchange);
    the call it returns checks the answer. States: ``on``, ``off`` and, with a
    baseline, ``baseline``.
    """
    container = handler.exchange._container  # the warm container; a reset would drop its connections
    namespace = container.metrics_namespace
    assert namespace, "the benchmark's function environment sets a metrics namespace"
    states = ("on", "off", *(("baseline",) if baseline is not None else ()))
    # Every order in turn, so each state follows each other one as often: the call before leaves the caches
    # to whoever comes next, and another function's code (the baseline's) leaves them colder.
    orders = list(itertools.permutations(states))
    samples: dict[str, list[float]] = {name: [] for state in states for name in (state, f"{state}_bytes")}
    with lambda_json_log(handler.exchange.log) as sizes:
        for round_number in range(rounds + WARMUP):
            for state in orders[round_number % len(orders)]:
                written = len(sizes)
                if state == "baseline" and baseline is not None:
                    with baseline.active():
                        spent = _thread_cpu(prepare(baseline.handler))
                else:
                    container.metrics_namespace = namespace if state == "on" else ""
                    spent = _thread_cpu(prepare(handler))
                assert len(sizes) == written + 1, f"{state}: {len(sizes) - written} log lines for one request"
                if round_number >= WARMUP:
                    samples[state].append(spent)
                    samples[f"{state}_bytes"].append(sizes[-1])
    container.metrics_namespace = namespace
    return samples


def _thread_cpu(call: Callable[[], None]) -> float:
    cpu = time.thread_time()
    call()
    return time.thread_time() - cpu


def rows(label: str, samples: dict[str, list[float]], revision: str | None = None) -> list[tuple[str, str, str]]:
    """Table rows: CPU p50 on / off and their ratio, on / the baseline at ``revision`` likewise, the line's size each way.

    The target is on / ``BEFORE_METRICS``; on / off is the metrics' own cost,
    off / the baseline what changed in the call besides the metrics since that revision.
    """
    found = _ratio_rows(label, samples, "on", "off", "metrics on / off", target="(their own cost)")
    states = ("on", "off")
    if revision:
        target = "<= 1.02" if revision == BEFORE_METRICS else ""
        found += _ratio_rows(label, samples, "on", "baseline", f"metrics on / at {revision}", target=target)
        found += _ratio_rows(label, samples, "off", "baseline", f"metrics off / at {revision}", target="(the rest of the change)")
        states += ("baseline",)
    sizes = " / ".join(f"{statistics.median(samples[f'{state}_bytes']):.0f}" for state in states)
    found.append((f"request line bytes, metrics on / off{f' / at {revision}' if revision else ''}", sizes, ""))
    return found


def _ratio_rows(
    label: str, samples: dict[str, list[float]], state: str, against: str, named: str, target: str
) -> list[tuple[str, str, str]]:
    mine, other = statistics.median(samples[state]), statistics.median(samples[against])
    ratio = mine / other
    per_round = statistics.median(a / b for a, b in zip(samples[state], samples[against], strict=True))
    return [
        (f"{label} thread CPU p50, {named}", f"{mine * 1000:.3f} / {other * 1000:.3f} ms", ""),
        (f"{label} CPU ratio {named}", f"{ratio:.3f} ({(ratio - 1) * 100:+.1f} %)", target),
        ("  median of per-round ratios (each round back to back)", f"{per_round:.3f} ({(per_round - 1) * 100:+.1f} %)", target),
    ]
