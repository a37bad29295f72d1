"""The function's metrics, counted locally from the same EMF records CloudWatch would extract them from.

The local containers write Lambda's JSON log format to stderr; every request
line carries its ``_aws`` directives. ``MetricsCounters.tap`` sits on that
log stream and aggregates each metric under each of its dimension sets, as
CloudWatch would publish it, so ``/__metrics`` on the local site shows what
an operator's dashboard and alarms will see, before anything is deployed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PATH = "/__metrics"
SAMPLES_KEPT = 1000
"""Per metric and dimension values: enough for a p99 of a local session, bounded however long it runs."""

Key = tuple[str, tuple[tuple[str, str], ...]]


@dataclass
class _Series:
    unit: str
    count: int = 0
    total: float = 0.0
    samples: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.samples.append(value)
        del self.samples[:-SAMPLES_KEPT]

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class MetricsCounters:
    """Thread-safe totals per metric and dimension values; lines without EMF are ignored."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[Key, _Series] = {}
        self.lines = 0

    def tap(self, log: Callable[[str], None]) -> Callable[[str], None]:
        """A log sink that counts each line's metrics, then hands the line on unchanged."""

        def counted(line: str) -> None:
            self.observe(line)
            log(line)

        return counted

    def observe(self, line: str) -> None:
        event = _json_object(line)
        if event is None or not isinstance(event.get("_aws"), dict):
            return
        with self._lock:
            self.lines += 1
            for directive in event["_aws"].get("CloudWatchMetrics", []):
                for definition in directive.get("Metrics", []):
                    name = definition.get("Name")
                    value = event.get(name)
                    if not isinstance(value, (int, float)) or isinstance(value, bool):
                        continue
                    for dimension_set in directive.get("Dimensions", []):
                        key = (name, tuple((dimension, str(event.get(dimension))) for dimension in dimension_set))
                        series = self._series.setdefault(key, _Series(definition.get("Unit", "None")))
                        series.add(float(value))

    def value(self, name: str, **dimensions: str) -> float:
        """The sum of a metric under exactly these dimensions (0 when never seen)."""
        with self._lock:
            series = self._series.get((name, tuple(dimensions.items())))
            return 0.0 if series is None else series.total

    def render(self) -> str:
        """A plain-text table: metric, dimensions, samples, sum, and p50 / p99 for times."""
        with self._lock:
            rows = sorted(self._series.items())
            lines = self.lines
        out = [f"# {lines} request lines with metrics; one row per metric and dimension values, as CloudWatch publishes them", ""]
        out.append(f"{'metric':<20} {'dimensions':<58} {'samples':>7} {'sum':>10} {'p50':>9} {'p99':>9}")
        for (name, dimensions), series in rows:
            shown = ",".join(f"{key}={value}" for key, value in dimensions) or "(all)"
            timed = series.unit == "Milliseconds"
            p50 = f"{series.percentile(0.5):9.1f}" if timed else " " * 9
            p99 = f"{series.percentile(0.99):9.1f}" if timed else " " * 9
            out.append(f"{name:<20} {shown:<58} {series.count:>7} {series.total:>10.1f} {p50} {p99}")
        return "\n".join(out) + "\n"


def _json_object(line: str) -> dict[str, Any] | None:
    """The JSON object a container's log line holds after its ``function[N]`` prefix, if any."""
    start = line.find("{")
    if start < 0:
        return None
    try:
        value = json.loads(line[start:])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
