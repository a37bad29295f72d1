"""CloudWatch metrics as Embedded Metric Format (EMF) members of the one log line per request.

No metrics client and no API call: CloudWatch Logs extracts the metrics from
the log event itself. Lambda's JSON log format writes a ``logging`` record as
one JSON object whose ``extra`` fields are top-level keys, so the ``_aws``
member and the metric values added here reach CloudWatch at the root of the
event, where EMF requires them (a ``print`` would not do better: with the
text format Lambda passes stdout lines as they are, and the request line
would then be two lines).

This module imports nothing but the standard library and nothing of the
function's: the Pulumi component loads it by path so its alarms and
dashboard name exactly the metrics written here (one list, ``METRICS``).

Dimension values come from closed sets (route names, configured providers,
error codes, status classes), never from what a caller sent: the metric
count, and the bill, stay bounded whatever the traffic.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

NAMESPACE_ENV = "OAUTH_METRICS_NAMESPACE"
"""The CloudWatch namespace; unset or empty, the function writes no metrics."""
UNKNOWN_PROVIDER = "unknown"
"""The provider dimension of a request that named a provider this stack does not configure."""

FULL = ("route", "provider", "outcome")
BY_OUTCOME = ("outcome",)
COUNTED = (FULL, BY_OUTCOME)
"""Counts by route, provider and outcome, and by outcome alone: what the alarms read (``server_misconfigured``)."""


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    dimensions: tuple[tuple[str, ...], ...]
    """The dimension sets it is published under: every set is one more metric per value combination."""
    meaning: str


METRICS: tuple[Metric, ...] = (
    Metric("Requests", "Count", COUNTED, "every request, by route, provider and outcome (ok or the error code)"),
    Metric("SignIns", "Count", COUNTED, "code redemptions: POST /token with a code, POST /api/session, the CMS callback"),
    Metric("Refreshes", "Count", COUNTED, "refresh grants: POST /token with a refresh token, session mode's refreshes"),
    Metric("Revocations", "Count", COUNTED, "POST /revoke and DELETE /api/session"),
    Metric("CmsHandshakes", "Count", COUNTED, "CMS popups started (/auth) and finished (/callback)"),
    Metric("ProviderLatency", "Milliseconds", COUNTED, "time spent waiting for the provider in one request"),
    Metric("SessionStoreLatency", "Milliseconds", COUNTED, "time spent in the session table in one request"),
    Metric("SessionStoreErrors", "Count", COUNTED, "session table calls that failed (throttled, unreachable, refused)"),
    Metric("SecretRereads", "Count", COUNTED, "client secret re-reads after the provider rejected the cached one"),
    Metric("ProxiedCalls", "Count", (("provider", "status_class"),), "session mode's API calls, by the provider's status class"),
)
"""All but ``ProxiedCalls`` share their dimension sets, so most lines hold one directive: the line stays short."""
BY_NAME: Mapping[str, Metric] = {metric.name: metric for metric in METRICS}


class Noted(Protocol):
    """What the request's note (``web.RequestNote``) tells the metrics; every field is safe to log."""

    operation: str
    """``refresh`` for ``POST /token`` with a refresh grant (any other ``/token`` request is a sign-in)."""
    upstream_seconds: float
    refreshes: int
    secret_rereads: int
    store_calls: int
    store_seconds: float
    store_errors: int


_SIGN_INS = frozenset({("/api/session", "POST"), ("/callback", "GET")})
_REVOCATIONS = frozenset({("/revoke", "POST"), ("/api/session", "DELETE")})
_CMS_ROUTES = frozenset({"/auth", "/callback"})


def values(route: str, method: str, noted: Noted) -> dict[str, float]:
    """Each metric this request reports, and its value."""
    found: dict[str, float] = {"Requests": 1}
    if (route == "/token" and noted.operation != "refresh") or (route, method) in _SIGN_INS:
        found["SignIns"] = 1
    if noted.operation == "refresh" or noted.refreshes:
        found["Refreshes"] = max(1, noted.refreshes)
    if (route, method) in _REVOCATIONS:
        found["Revocations"] = 1
    if route in _CMS_ROUTES:
        found["CmsHandshakes"] = 1
    if route == "/api/proxy":
        found["ProxiedCalls"] = 1
    if noted.upstream_seconds > 0:
        found["ProviderLatency"] = round(noted.upstream_seconds * 1000, 3)
    if noted.store_calls:
        found["SessionStoreLatency"] = round(noted.store_seconds * 1000, 3)
    if noted.store_errors:
        found["SessionStoreErrors"] = noted.store_errors
    if noted.secret_rereads:
        found["SecretRereads"] = noted.secret_rereads
    return found


def provider_dimension(provider: str, configured: Collection[str]) -> str:
    """A configured provider's name, ``-`` for none, ``unknown`` for any other name a request carried."""
    return provider if provider == "-" or provider in configured else UNKNOWN_PROVIDER


def status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status <= 599 else "other"


def emf_members(namespace: str, route: str, method: str, status: int, noted: Noted, timestamp_ms: int) -> dict[str, Any]:
    """The ``_aws`` metadata and the metric values (and ``status_class`` for a proxied call): the EMF members a request line adds.

    ``route``, ``provider`` and ``outcome`` are the line's own fields; the caller
    must already hold them as the dimension values (``provider_dimension``).
    """
    members: dict[str, Any] = values(route, method, noted)
    members["_aws"] = {"Timestamp": timestamp_ms, "CloudWatchMetrics": _directives(namespace, tuple(members))}
    if "ProxiedCalls" in members:
        members["status_class"] = status_class(status)
    return members


@functools.lru_cache(maxsize=256)
def _directives(namespace: str, names: tuple[str, ...]) -> list[dict[str, Any]]:
    """The metric directives for a set of metrics, one per distinct dimension sets: built once per kind of request.

    Every line of a kind shares the same (never modified) list; a few dozen kinds exist.
    """
    grouped: dict[tuple[tuple[str, ...], ...], list[dict[str, str]]] = {}
    for name in names:
        metric = BY_NAME[name]
        grouped.setdefault(metric.dimensions, []).append({"Name": name, "Unit": metric.unit})
    return [
        {"Namespace": namespace, "Dimensions": [list(dimension_set) for dimension_set in sets], "Metrics": metrics}
        for sets, metrics in grouped.items()
    ]
