"""What the stack watches: its alarms (metric, threshold, why) and its dashboard, as plain data.

No Pulumi import: ``monitoring`` turns the plan into resources, the docs and
tests read it. The function's own metric names, units and dimension sets
come from ``function/metrics.py`` itself, loaded by path (the function ships
as its own folder, not as part of this package), so an alarm or a widget
cannot name a metric the function does not write.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from oauth_exchange.assets import function_dir
from oauth_exchange.monitoring_settings import EDGE_REGION

PERIOD_SECONDS = 300
MIN_REQUESTS_FOR_A_RATE = 10
"""Below this many requests in a period a rate alarm stays quiet: 1 failure in 2 requests is not an outage."""


@functools.cache
def function_metrics() -> ModuleType:
    """``function/metrics.py``: the one list of the metrics the function writes."""
    path = function_dir() / "metrics.py"
    spec = importlib.util.spec_from_file_location("oauth_exchange_function_metrics", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def metrics_namespace(project: str, stack: str) -> str:
    """One namespace per stack: two stacks in one account and region never mix their metrics."""
    return f"OAuthExchange/{project}/{stack}"


Named = Any
"""A name: a ``str`` here and in tests, a Pulumi ``Output[str]`` when ``monitoring`` builds alarms from the plan."""


@dataclass(frozen=True)
class MetricRef:
    """One metric an alarm reads: ``namespace`` None means the function's own (EMF) namespace."""

    id: str
    name: str
    dimensions: Mapping[str, Named]
    stat: str = "Sum"
    namespace: str | None = None


@dataclass(frozen=True)
class Watched:
    """What the monitored stack is made of; None for a part it does not have."""

    function_name: Named
    namespace: str
    log_group_name: Named
    region: Named
    distribution_id: Named | None = None
    web_acl_metric: Named | None = None
    session_mode: bool = False


@dataclass(frozen=True)
class AlarmPlan:
    key: str
    """Stable part of the alarm's name, and the runbook's heading anchor."""
    summary: str
    metrics: tuple[MetricRef, ...]
    threshold: float
    why: str
    expression: str | None = None
    """Metric math over ``metrics`` ids; None: the single metric itself."""
    comparison: str = "GreaterThanThreshold"
    evaluation_periods: int = 1
    datapoints_to_alarm: int = 1
    edge: bool = False
    """In us-east-1 (CloudFront, WAF), whatever the stack's region."""
    unit_label: str = ""


def _own(id: str, name: str, stat: str = "Sum", **dimensions: str) -> MetricRef:
    declared = function_metrics().BY_NAME[name]
    assert tuple(dimensions) in declared.dimensions, f"{name} is not published under {tuple(dimensions)}"
    return MetricRef(id, name, dimensions, stat)


_FAILED_CALLS = "(FILL(errors, 0) + FILL(timeouts, 0))"


def _rate(failures: str, total: str) -> str:
    """A percentage that is 0 while the period holds too few requests to mean anything."""
    return f"IF({total} >= {MIN_REQUESTS_FOR_A_RATE}, 100 * {failures} / {total}, 0)"


def alarm_plans(watched: Watched) -> list[AlarmPlan]:
    """Every alarm the stack has, with its threshold and the reason for it."""
    function = {"FunctionName": watched.function_name}
    plans = [
        AlarmPlan(
            "function-errors",
            "The function failed invocations (timeouts, out of memory, crashes).",
            (MetricRef("errors", "Errors", function, namespace="AWS/Lambda"),),
            0,
            "The handler answers every failure itself with a JSON error, so any invocation error is a "
            "timeout, an out-of-memory kill or a crash of the runtime: each is a sign-in a user saw fail.",
        ),
        AlarmPlan(
            "function-throttles",
            "Lambda refused invocations: the function's concurrency is used up.",
            (MetricRef("throttles", "Throttles", function, namespace="AWS/Lambda"),),
            0,
            "A throttled invocation is a 429 the SPA cannot retry its way out of while the burst lasts; "
            "with reservedConcurrency set, any throttle means the limit is too low for the traffic.",
        ),
        AlarmPlan(
            "server-misconfigured",
            "The provider rejected the client credentials, even after the secret was re-read.",
            (_own("misconfigured", "Requests", outcome="server_misconfigured"),),
            0,
            "The provider rejects the client secret only when it is wrong, rotated at the provider or "
            "revoked: from then on no one can sign in, so the first occurrence alarms.",
        ),
        AlarmPlan(
            "secret-unavailable",
            "The function could not read the client secret from Secrets Manager.",
            (_own("unavailable", "Requests", outcome="secret_unavailable"),),
            0,
            "Reads are cached for secretCacheSeconds, so a failure that reaches a user means Secrets "
            "Manager or KMS refused or failed for a whole cache period.",
        ),
        AlarmPlan(
            "provider-failures",
            "Over 5 % of the requests that waited for a provider got provider_error or provider_timeout, two periods in a row.",
            (
                _own("errors", "Requests", outcome="provider_error"),
                _own("timeouts", "Requests", outcome="provider_timeout"),
                _own("answered", "ProviderLatency", "SampleCount", outcome="ok"),
            ),
            5,
            "GitHub and its peers fail single requests now and then; 5 % of calls over 10 minutes (with at "
            f"least {MIN_REQUESTS_FOR_A_RATE} calls a period) is an outage, a certificate or DNS change, or "
            "a network problem between Lambda and the provider.",
            expression=_rate(_FAILED_CALLS, f"({_FAILED_CALLS} + FILL(answered, 0))"),
            evaluation_periods=2,
            datapoints_to_alarm=2,
            unit_label="%",
        ),
        AlarmPlan(
            "function-url-5xx",
            "Over 5 % of the function URL's answers were 5xx (in session mode: every /api/* request).",
            (
                MetricRef("failed", "Url5xxCount", function, namespace="AWS/Lambda"),
                MetricRef("requests", "UrlRequestCount", function, namespace="AWS/Lambda"),
            ),
            5,
            "Every 5xx is a sign-in or API call that failed on the server's side (provider down, secret "
            "wrong, table failing, timeouts); 5 % for 10 minutes is more than a provider's hiccup.",
            expression=_rate("FILL(failed, 0)", "requests"),
            evaluation_periods=2,
            datapoints_to_alarm=2,
            unit_label="%",
        ),
    ]
    if watched.session_mode:
        plans.append(
            AlarmPlan(
                "session-store-errors",
                "Three or more requests in 5 minutes got session_unavailable: the session table failed them.",
                (_own("unavailable", "Requests", outcome="session_unavailable"),),
                3,
                "The DynamoDB client retries throttles itself, so a failure that surfaces is a 503 for a "
                "signed-in user; three in 5 minutes rules out a single lost connection.",
                comparison="GreaterThanOrEqualToThreshold",
            )
        )
    if watched.distribution_id is not None:
        plans.append(
            AlarmPlan(
                "site-5xx",
                "Over 5 % of the site's CloudFront answers were 5xx, two periods in a row.",
                (
                    MetricRef(
                        "rate",
                        "5xxErrorRate",
                        {"DistributionId": watched.distribution_id, "Region": "Global"},
                        "Average",
                        namespace="AWS/CloudFront",
                    ),
                ),
                5,
                "CloudFront answers 5xx when its origin (S3 for pages, the function URL for /api/*) fails "
                "or refuses it, e.g. a broken origin access control: the function's own metrics never see those.",
                evaluation_periods=2,
                datapoints_to_alarm=2,
                edge=True,
                unit_label="%",
            )
        )
    if watched.web_acl_metric is not None:
        acl = {"WebACL": watched.web_acl_metric, "Rule": "ALL"}
        plans.append(
            AlarmPlan(
                "waf-blocked",
                "The rate limit blocked over 10 % of requests, two periods in a row.",
                (
                    MetricRef("blocked", "BlockedRequests", acl, namespace="AWS/WAFV2"),
                    MetricRef("allowed", "AllowedRequests", acl, namespace="AWS/WAFV2"),
                ),
                10,
                "The limit blocks one IP at a time; a tenth of all traffic blocked is an attack or a limit "
                "set below what real users (or a shared office IP) send.",
                expression=_rate("FILL(blocked, 0)", "(FILL(blocked, 0) + FILL(allowed, 0))"),
                evaluation_periods=2,
                datapoints_to_alarm=2,
                edge=True,
                unit_label="%",
            )
        )
    return plans


def _search(watched: Watched, name: str, keys: Sequence[str], stat: str = "Sum") -> dict[str, Any]:
    declared = function_metrics().BY_NAME[name]
    assert tuple(keys) in declared.dimensions, f"{name} is not published under {tuple(keys)}"
    schema = ",".join(['"' + watched.namespace + '"', *keys])
    query = f"SEARCH('{{{schema}}} MetricName=\"{name}\"', '{stat}', {PERIOD_SECONDS})"
    return {"expression": query, "id": "_".join([name.lower(), *keys])}


def _own_metric(watched: Watched, name: str, stat: str, label: str, **dimensions: str) -> list[Any]:
    declared = function_metrics().BY_NAME[name]
    assert tuple(dimensions) in declared.dimensions, f"{name} is not published under {tuple(dimensions)}"
    pairs = [part for key, value in dimensions.items() for part in (key, value)]
    return [watched.namespace, name, *pairs, {"stat": stat, "label": label}]


def _widget(title: str, metrics: list[Any], *, region: str, stat: str = "Sum", width: int = 12) -> dict[str, Any]:
    return {
        "type": "metric",
        "width": width,
        "height": 6,
        "properties": {"title": title, "metrics": metrics, "region": region, "stat": stat, "period": PERIOD_SECONDS, "view": "timeSeries"},
    }


def dashboard_widgets(watched: Watched) -> list[dict[str, Any]]:
    """The dashboard: the function's own metrics first, then Lambda's, the table's, CloudFront's and the WAF's."""
    region = watched.region
    function = ["FunctionName", watched.function_name]
    widgets = [
        _widget("Sign-ins by route, provider and outcome", [[_search(watched, "SignIns", ("route", "provider", "outcome"))]], region=region),
        _widget("Requests by outcome (error codes)", [[_search(watched, "Requests", ("outcome",))]], region=region),
        _widget(
            "Refreshes, revocations, CMS handshakes",
            [
                [_search(watched, "Refreshes", ("route", "provider", "outcome"))],
                [_search(watched, "Revocations", ("route", "provider", "outcome"))],
                [_search(watched, "CmsHandshakes", ("route", "provider", "outcome"))],
            ],
            region=region,
        ),
        _widget(
            "Provider latency p50 / p99 of answered calls (ms)",
            [
                _own_metric(watched, "ProviderLatency", "p50", "p50", outcome="ok"),
                _own_metric(watched, "ProviderLatency", "p99", "p99", outcome="ok"),
            ],
            region=region,
        ),
        _widget(
            "Secret re-reads (provider rejected the cached secret), by outcome",
            [[_search(watched, "SecretRereads", ("outcome",))]],
            region=region,
        ),
        _widget(
            "Lambda duration p50 / p99 (ms)",
            [
                ["AWS/Lambda", "Duration", *function, {"stat": "p50", "label": "p50"}],
                ["AWS/Lambda", "Duration", *function, {"stat": "p99", "label": "p99"}],
            ],
            region=region,
        ),
        _widget(
            "Invocations, errors, throttles",
            [
                ["AWS/Lambda", "Invocations", *function],
                ["AWS/Lambda", "Errors", *function],
                ["AWS/Lambda", "Throttles", *function],
                ["AWS/Lambda", "ConcurrentExecutions", *function, {"stat": "Maximum"}],
            ],
            region=region,
        ),
        {
            "type": "log",
            "width": 12,
            "height": 6,
            "properties": {
                "title": "Cold starts and init duration (ms)",
                "region": region,
                "view": "timeSeries",
                "query": (
                    f"SOURCE '{watched.log_group_name}' | filter type = \"platform.report\" "
                    "and ispresent(record.metrics.initDurationMs) | stats count(*) as coldStarts, "
                    "pct(record.metrics.initDurationMs, 50) as initP50, pct(record.metrics.initDurationMs, 99) as initP99 by bin(5m)"
                ),
            },
        },
    ]
    if watched.session_mode:
        widgets += [
            _widget(
                "Session store latency p50 / p99 (ms) and errors",
                [
                    _own_metric(watched, "SessionStoreLatency", "p50", "p50", outcome="ok"),
                    _own_metric(watched, "SessionStoreLatency", "p99", "p99", outcome="ok"),
                    [_search(watched, "SessionStoreErrors", ("outcome",))],
                ],
                region=region,
            ),
            _widget("Proxied API calls by status class", [[_search(watched, "ProxiedCalls", ("provider", "status_class"))]], region=region),
        ]
    if watched.distribution_id is not None:
        distribution = ["DistributionId", watched.distribution_id, "Region", "Global"]
        widgets.append(
            _widget(
                "CloudFront requests and 5xx rate (%)",
                [
                    ["AWS/CloudFront", "Requests", *distribution],
                    ["AWS/CloudFront", "5xxErrorRate", *distribution, {"stat": "Average", "yAxis": "right"}],
                ],
                region=EDGE_REGION,
            )
        )
    if watched.web_acl_metric is not None:
        acl = ["WebACL", watched.web_acl_metric, "Rule", "ALL"]
        widgets.append(
            _widget(
                "WAF rate limit: allowed and blocked",
                [["AWS/WAFV2", "AllowedRequests", *acl], ["AWS/WAFV2", "BlockedRequests", *acl]],
                region=EDGE_REGION,
            )
        )
    return widgets


def dashboard_body(watched: Watched) -> str:
    return json.dumps({"widgets": dashboard_widgets(watched)}, sort_keys=True)


def dashboard_url(region: str, name: str) -> str:
    return f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#dashboards/dashboard/{name}"
