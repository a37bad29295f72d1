"""Monitoring under mocks: the alarms, their thresholds and actions, the dashboard, and what they may name."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from oauth_exchange.monitoring_plan import Watched, alarm_plans, function_metrics, metrics_namespace
from tests.infra.stack_mocks import ACCOUNT_ID, AUTONAME_SUFFIX, DISTRIBUTION_ID, PROJECT, ROOT, STACK, Deployment

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
NAMESPACE = metrics_namespace(PROJECT, STACK)
PREFIX = f"{PROJECT}-{STACK}-"


def in_edge_region(resource) -> bool:
    """Placed in us-east-1 by its own ``region`` argument, through the stack's one provider."""
    return resource.plain_inputs.get("region") == "us-east-1"
OWN_TOPIC = f"arn:aws:sns:eu-west-1:{ACCOUNT_ID}:ops-alerts"
_SEARCH = re.compile(r"SEARCH\('\{\"(?P<namespace>[^\"]+)\"(?P<keys>(,[a-z_]+)*)\} MetricName=\"(?P<name>\w+)\"'")


@pytest.fixture(scope="module")
def browser_stack(deploy: Callable[..., Deployment]) -> Deployment:
    return deploy(**{"aws:region": "eu-west-1"})


@pytest.fixture(scope="module")
def session_stack(deploy: Callable[..., Deployment]) -> Deployment:
    return deploy(**{"aws:region": "eu-west-1"}, session=True, rateLimit=600, alarms={"email": "ops@example.com", "snsTopicArn": OWN_TOPIC})


def alarms(deployment: Deployment) -> dict[str, dict]:
    return {r.plain_inputs["name"].removeprefix(PREFIX): r.plain_inputs for r in deployment.of_type(ALARM)}


def alarm_resources(deployment: Deployment) -> dict[str, object]:
    return {r.plain_inputs["name"].removeprefix(PREFIX): r for r in deployment.of_type(ALARM)}


def topics(deployment: Deployment) -> dict[str, str]:
    """Topic resource name -> its ARN as the alarms see it."""
    return {r.name: f"arn:aws:sns:{'us-east-1' if in_edge_region(r) else 'eu-west-1'}:{ACCOUNT_ID}:{r.name}-20251129" for r in deployment.of_type(TOPIC)}


def dashboard(deployment: Deployment) -> dict:
    return json.loads(deployment.one("aws:cloudwatch/dashboard:Dashboard").plain_inputs["dashboardBody"])


def own_metrics_of_alarm(inputs: dict) -> list[tuple[str, tuple[str, ...]]]:
    """(metric name, dimension keys) of every metric the alarm reads from the function's namespace."""
    if "metricName" in inputs:
        found = [(inputs["namespace"], inputs["metricName"], inputs.get("dimensions") or {})]
    else:
        found = [(q["metric"]["namespace"], q["metric"]["metricName"], q["metric"].get("dimensions") or {}) for q in inputs["metricQueries"] if "metric" in q]
    return [(name, tuple(dimensions)) for namespace, name, dimensions in found if namespace == NAMESPACE]


def own_metrics_of_widget(widget: dict) -> list[tuple[str, tuple[str, ...] | None]]:
    """(metric name, dimension keys or None when unknown) of every function metric a widget names."""
    found = []
    for line in widget["properties"].get("metrics", []):
        for item in line:
            if isinstance(item, dict) and "expression" in item:
                match = _SEARCH.match(item["expression"])
                assert match is not None, item["expression"]
                if match["namespace"] == NAMESPACE:
                    found.append((match["name"], tuple(key for key in match["keys"].split(",") if key)))
        if line and line[0] == NAMESPACE:
            name, rest = line[1], [part for part in line[2:] if isinstance(part, str)]
            found.append((name, tuple(rest[0::2])))
    return found


# -- the alarms ----------------------------------------------------------------------


def test_alarms_are_on_by_default_and_notify_the_stacks_own_topic(browser_stack):
    found = alarms(browser_stack)
    assert set(found) == {
        "function-errors",
        "function-throttles",
        "server-misconfigured",
        "secret-unavailable",
        "provider-failures",
        "function-url-5xx",
        "site-5xx",
    }
    own = topics(browser_stack)
    for key, inputs in found.items():
        expected = own["oauth-monitoring-edge-alarms"] if key == "site-5xx" else own["oauth-monitoring-alarms"]
        assert inputs["alarmActions"] == [expected] == inputs["okActions"], key
        assert inputs["treatMissingData"] == "notBreaching"
        assert inputs["alarmDescription"].endswith(f"Runbook: docs/runbook.md#{key}")
    assert not browser_stack.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert any("nobody is subscribed" in line for line in browser_stack.logs)
    assert browser_stack.outputs["alarmTopicArn"][0] == own["oauth-monitoring-alarms"]


def test_a_rejected_client_secret_alarms_on_its_first_occurrence(browser_stack):
    alarm = alarms(browser_stack)["server-misconfigured"]
    assert (alarm["namespace"], alarm["metricName"], alarm["dimensions"]) == (NAMESPACE, "Requests", {"outcome": "server_misconfigured"})
    assert (alarm["statistic"], alarm["period"], alarm["threshold"], alarm["comparisonOperator"]) == ("Sum", 300, 0, "GreaterThanThreshold")
    assert (alarm["evaluationPeriods"], alarm["datapointsToAlarm"]) == (1, 1)


def test_provider_failures_alarm_on_a_rate_over_enough_calls_two_periods_running(browser_stack):
    alarm = alarms(browser_stack)["provider-failures"]
    queries = {q["id"]: q for q in alarm["metricQueries"]}
    assert queries["errors"]["metric"]["dimensions"] == {"outcome": "provider_error"}
    assert queries["timeouts"]["metric"]["dimensions"] == {"outcome": "provider_timeout"}
    answered = queries["answered"]["metric"]
    assert (answered["metricName"], answered["stat"], answered["dimensions"]) == ("ProviderLatency", "SampleCount", {"outcome": "ok"})
    failed = "(FILL(errors, 0) + FILL(timeouts, 0))"
    calls = f"({failed} + FILL(answered, 0))"
    assert queries["rate"]["expression"] == f"IF({calls} >= 10, 100 * {failed} / {calls}, 0)"
    assert queries["rate"]["returnData"] is True
    assert not any(q.get("returnData") for key, q in queries.items() if key != "rate")
    assert (alarm["threshold"], alarm["evaluationPeriods"], alarm["datapointsToAlarm"]) == (5, 2, 2)


def test_the_functions_own_lambda_metrics_alarm_at_the_first_error_or_throttle(browser_stack):
    found = alarms(browser_stack)
    function_name = "oauth-function-function" + AUTONAME_SUFFIX
    for key, metric in (("function-errors", "Errors"), ("function-throttles", "Throttles")):
        alarm = found[key]
        assert (alarm["namespace"], alarm["metricName"], alarm["dimensions"]) == ("AWS/Lambda", metric, {"FunctionName": function_name})
        assert (alarm["threshold"], alarm["comparisonOperator"]) == (0, "GreaterThanThreshold")


def test_the_sites_5xx_alarm_lives_in_us_east_1_where_cloudfront_publishes(browser_stack):
    alarm = alarm_resources(browser_stack)["site-5xx"]
    assert in_edge_region(alarm)
    inputs = alarm.plain_inputs
    assert (inputs["namespace"], inputs["metricName"]) == ("AWS/CloudFront", "5xxErrorRate")
    assert inputs["dimensions"] == {"DistributionId": DISTRIBUTION_ID, "Region": "Global"}
    assert (inputs["statistic"], inputs["threshold"], inputs["evaluationPeriods"]) == ("Average", 5, 2)
    assert not in_edge_region(alarm_resources(browser_stack)["function-errors"])


def test_session_mode_alarms_on_the_session_table_and_the_waf(session_stack):
    found = alarms(session_stack)
    store = found["session-store-errors"]
    assert (store["namespace"], store["metricName"], store["dimensions"]) == (NAMESPACE, "Requests", {"outcome": "session_unavailable"})
    assert (store["threshold"], store["comparisonOperator"]) == (3, "GreaterThanOrEqualToThreshold")
    waf = found["waf-blocked"]
    acl_metric = f"{PROJECT}-{STACK}-api-rate"
    queries = {q["id"]: q for q in waf["metricQueries"]}
    assert queries["blocked"]["metric"]["dimensions"] == {"WebACL": acl_metric, "Rule": "ALL"}
    assert queries["allowed"]["metric"]["namespace"] == "AWS/WAFV2"
    assert waf["threshold"] == 10
    assert in_edge_region(alarm_resources(session_stack)["waf-blocked"])


def test_an_email_subscribes_to_both_topics_and_an_own_topic_is_notified_by_the_alarms_of_its_region(session_stack):
    subscriptions = session_stack.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert sorted((s.plain_inputs["protocol"], s.plain_inputs["endpoint"]) for s in subscriptions) == [
        ("email", "ops@example.com"),
        ("email", "ops@example.com"),
    ]
    own = topics(session_stack)
    for key, inputs in alarms(session_stack).items():
        if key in ("site-5xx", "waf-blocked"):
            assert inputs["alarmActions"] == [own["oauth-monitoring-edge-alarms"]], key
        else:
            assert inputs["alarmActions"] == [own["oauth-monitoring-alarms"], OWN_TOPIC], key


def test_alarms_off_means_no_alarms_no_topics_and_no_export(deploy):
    deployment = deploy(alarms=False)
    assert deployment.of_type(ALARM) == [] and deployment.of_type(TOPIC) == []
    assert "alarmTopicArn" not in deployment.outputs
    assert "dashboardUrl" in deployment.outputs


def test_the_dashboard_is_opt_out(deploy):
    deployment = deploy(dashboard=False)
    assert deployment.of_type("aws:cloudwatch/dashboard:Dashboard") == []
    assert "dashboardUrl" not in deployment.outputs
    assert deployment.of_type(ALARM) != []


def test_the_stack_exports_its_dashboards_url(browser_stack):
    name = browser_stack.one("aws:cloudwatch/dashboard:Dashboard").plain_inputs["dashboardName"]
    assert name == f"{PROJECT}-{STACK}"
    assert browser_stack.outputs["dashboardUrl"][0] == (
        f"https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards/dashboard/{name}"
    )


# -- one list of metric names ---------------------------------------------------------


@pytest.mark.parametrize("stack", ["browser_stack", "session_stack"])
def test_every_alarm_and_widget_names_only_metrics_the_function_writes_under_dimensions_it_writes(stack, request):
    deployment = request.getfixturevalue(stack)
    declared = function_metrics().BY_NAME
    env = deployment.one("aws:lambda/function:Function").plain_inputs["environment"]["variables"]
    assert env[function_metrics().NAMESPACE_ENV] == NAMESPACE
    named = [metric for inputs in alarms(deployment).values() for metric in own_metrics_of_alarm(inputs)]
    for widget in dashboard(deployment)["widgets"]:
        own = own_metrics_of_widget(widget)
        aws_metrics = [line for line in widget["properties"].get("metrics", []) if line and str(line[0]).startswith("AWS/")]
        assert own or aws_metrics or widget["type"] == "log", f"widget {widget['properties']['title']!r} names no metric"
        named += own
    assert named, "the function's namespace is watched at all"
    for name, keys in named:
        assert name in declared, f"{name} is not a metric function/metrics.py writes"
        assert keys in declared[name].dimensions, f"{name} is never published under {keys}"


def test_the_session_stacks_dashboard_shows_every_metric_the_function_writes(session_stack):
    shown = {name for widget in dashboard(session_stack)["widgets"] for name, _ in own_metrics_of_widget(widget)}
    assert shown == set(function_metrics().BY_NAME)


def test_the_dashboard_shows_cold_starts_from_the_functions_own_log_group(browser_stack):
    log_group = browser_stack.one("aws:cloudwatch/logGroup:LogGroup").plain_inputs
    (widget,) = [w for w in dashboard(browser_stack)["widgets"] if w["type"] == "log"]
    assert widget["properties"]["query"].startswith(f"SOURCE '{log_group['namePrefix'].rstrip('-')}{AUTONAME_SUFFIX}' |")
    assert "initDurationMs" in widget["properties"]["query"]


# -- least privilege -------------------------------------------------------------------


def test_the_function_gains_no_permission_for_its_metrics(session_stack):
    policy = json.loads(session_stack.one("aws:iam/rolePolicy:RolePolicy").plain_inputs["policy"])
    actions = {action for statement in policy["Statement"] for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])}
    assert not any(action.startswith("cloudwatch:") for action in actions)


def test_only_this_accounts_alarms_of_this_stack_may_publish_to_its_topics(session_stack):
    for resource in session_stack.of_type("aws:sns/topicPolicy:TopicPolicy"):
        (statement,) = json.loads(resource.plain_inputs["policy"])["Statement"]
        region = "us-east-1" if in_edge_region(resource) else "eu-west-1"
        assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
        assert statement["Action"] == "sns:Publish"
        assert statement["Condition"] == {
            "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{region}:{ACCOUNT_ID}:alarm:{PREFIX}*"},
            "StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
        }


def test_a_wrong_alarm_setting_stops_the_program_naming_the_key(deploy):
    with pytest.raises(Exception, match=r"oauth-exchange:alarms\.snsTopicArn: is in eu-west-1, but CloudWatch alarms notify"):
        deploy(**{"aws:region": "eu-central-1"}, alarms={"snsTopicArn": OWN_TOPIC})


def test_the_runbook_has_a_section_for_every_alarm_stating_its_threshold_and_counts_the_metrics():
    runbook = (ROOT / "docs" / "runbook.md").read_text(encoding="utf-8")
    sections = dict(re.findall(r"^### (\S+)\n(.*?)(?=^##)", runbook, re.MULTILINE | re.DOTALL))
    watched = Watched("f", NAMESPACE, "/aws/lambda/f", "eu-west-1", distribution_id="E1", web_acl_metric="acl", session_mode=True)
    for plan in alarm_plans(watched):
        assert plan.key in sections, f"docs/runbook.md has no section for {plan.key}"
        assert f"**Threshold** {plan.threshold:g}" in sections[plan.key], plan.key
        assert "**Confirm**" in sections[plan.key] and "**Do**" in sections[plan.key], plan.key
    assert f"; {len(function_metrics().METRICS)} metrics in all" in runbook
    for metric in function_metrics().METRICS:
        assert f"| `{metric.name}` | {metric.unit} |" in runbook, metric.name


def test_the_edge_alarms_use_the_stacks_own_provider(session_stack):
    assert not session_stack.of_type("pulumi:providers:aws")
