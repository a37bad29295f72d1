"""The local stack counts the function's metrics from its EMF request lines and shows them at /__metrics."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from local.metrics_counters import PATH, MetricsCounters
from local.signin import Spa
from local.stack import LocalStack


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(log=lambda line: None) as running:
        yield running


def test_a_sign_in_and_a_replayed_code_show_up_as_cloudwatch_would_publish_them(stack):
    with httpx.Client(timeout=20) as client:
        spa = Spa(client, stack.site_url)
        callback = spa.consent()
        assert spa.exchange(callback.code, callback.verifier).status_code == 200
        assert spa.exchange(callback.code, callback.verifier).status_code == 400
        page = client.get(stack.site_url + PATH.lstrip("/"))

    metrics = stack.metrics
    assert metrics.value("SignIns", route="/token", provider="github", outcome="ok") == 1
    assert metrics.value("SignIns", route="/token", provider="github", outcome="invalid_grant") == 1
    assert metrics.value("Requests", outcome="invalid_grant") == 1
    assert metrics.value("Requests", outcome="ok") == 1
    assert metrics.value("ProviderLatency", route="/token", provider="github", outcome="ok") > 0
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/plain")
    assert page.headers["cache-control"] == "no-store"
    rows = page.text.splitlines()
    assert any(row.startswith("SignIns") and "route=/token,provider=github,outcome=invalid_grant" in row for row in rows)
    assert any(row.startswith("Requests") and row.split()[1] == "outcome=invalid_grant" for row in rows)
    assert callback.code not in page.text


def test_lines_without_metrics_or_json_are_not_counted():
    counters = MetricsCounters()
    for line in ("function[0] START RequestId: 1", "function[0] {not json", 'function[0] {"message": "no metrics"}', "site GET /"):
        counters.observe(line)
    counters.observe('function[1] {"_aws": {"CloudWatchMetrics": [{"Namespace": "n", "Dimensions": [["route"]], '
                     '"Metrics": [{"Name": "Requests", "Unit": "Count"}]}]}, "route": "/token", "Requests": true}')
    assert counters.lines == 1
    assert counters.value("Requests", route="/token") == 0
