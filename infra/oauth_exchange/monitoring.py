"""Monitoring: the alarms of ``monitoring_plan`` with their SNS topics, and the CloudWatch dashboard.

CloudWatch notifies topics of the alarm's own region only, and CloudFront's
and WAF's metrics exist in us-east-1 only: unless the stack is there already,
the edge alarms and a topic of their own live there, naming that region
themselves (pulumi-aws 7's per-resource ``region``, as ``RateLimit``'s web
ACL) through the stack's own provider and credentials. Each topic lets CloudWatch publish only for this account's alarms.
The function needs no permission for its metrics: CloudWatch Logs extracts
them from its log lines.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from oauth_exchange.monitoring_plan import (
    PERIOD_SECONDS,
    AlarmPlan,
    MetricRef,
    Watched,
    alarm_plans,
    dashboard_body,
    dashboard_url,
)
from oauth_exchange.monitoring_settings import EDGE_REGION, MonitoringSettings
from oauth_exchange.stack_config import Target

RUNBOOK = "docs/runbook.md"


@dataclass(frozen=True)
class MonitoringArgs:
    settings: MonitoringSettings
    target: Target
    namespace: str
    """The function's metrics namespace (``monitoring_plan.metrics_namespace``)."""
    function_name: pulumi.Input[str]
    log_group_name: pulumi.Input[str]
    distribution_id: pulumi.Input[str] | None = None
    """The site's distribution, when the stack deploys one."""
    web_acl_metric: pulumi.Input[str] | None = None
    """The rate limit's web ACL metric name, when ``rateLimit`` is on."""
    session_mode: bool = False


def topic_policy(topic_arn: str, partition: str, account_id: str, region: str, alarm_prefix: str) -> str:
    """CloudWatch may publish to the topic, and only for this stack's alarms in this account."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "StackAlarmsPublish",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": topic_arn,
                    "Condition": {
                        "ArnLike": {"aws:SourceArn": f"arn:{partition}:cloudwatch:{region}:{account_id}:alarm:{alarm_prefix}*"},
                        "StringEquals": {"aws:SourceAccount": account_id},
                    },
                }
            ],
        },
        sort_keys=True,
    )


class Monitoring(pulumi.ComponentResource):
    """Alarms that tell the operator first, the topics they notify, and the dashboard."""

    alarm_names: list[pulumi.Output[str]]
    topic_arn: pulumi.Output[str] | None
    dashboard_url: pulumi.Output[str] | None

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("oauth-exchange:index:Monitoring", name, None, opts)
        self._args = args
        self._prefix = f"{pulumi.get_project()}-{pulumi.get_stack()}-".replace(".", "-")
        watched = Watched(
            function_name=args.function_name,
            namespace=args.namespace,
            log_group_name=args.log_group_name,
            region=args.target.region,
            distribution_id=args.distribution_id,
            web_acl_metric=args.web_acl_metric,
            session_mode=args.session_mode,
        )
        self.alarm_names = []
        self.topic_arn = None
        if args.settings.alarms is not None:
            self._alarms(name, watched)
        self.dashboard_url = None
        if args.settings.dashboard:
            self._dashboard(name, watched)
        self.register_outputs({"alarm_names": self.alarm_names, "topic_arn": self.topic_arn, "dashboard_url": self.dashboard_url})

    def _alarms(self, name: str, watched: Watched) -> None:
        plans = alarm_plans(watched)
        alarms = self._args.settings.alarms
        if alarms is not None and alarms.email is None and alarms.sns_topic_arn is None:
            pulumi.log.warn(
                "the alarms notify the stack's own SNS topic (export alarmTopicArn), which nobody is subscribed to yet: "
                f"{_how_to_subscribe(self._args.settings.namespace)}, or subscribe to the topic",
                resource=self,
            )
        topic = self._topic(f"{name}-alarms", self._args.target.region, None)
        self.topic_arn = topic.arn
        edge_region: str | None = None
        edge_topic = topic
        if any(plan.edge for plan in plans) and pulumi.Config("aws").get("region") != EDGE_REGION:
            edge_region = EDGE_REGION
            edge_topic = self._topic(f"{name}-edge-alarms", EDGE_REGION, edge_region)
        for plan in plans:
            if plan.edge:
                self._alarm(name, plan, watched, self._actions(edge_topic, EDGE_REGION), edge_region)
            else:
                self._alarm(name, plan, watched, self._actions(topic, self._args.target.region), None)

    def _topic(self, name: str, region: pulumi.Input[str], placed: str | None) -> aws.sns.Topic:
        """A topic in ``region``; ``placed`` names it on the resources when it is not the stack's own."""
        target, alarms = self._args.target, self._args.settings.alarms
        assert alarms is not None
        opts = pulumi.ResourceOptions(parent=self)
        topic = aws.sns.Topic(name, region=placed, opts=opts)
        aws.sns.TopicPolicy(
            f"{name}-policy",
            arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, target.partition, target.account_id, region).apply(
                lambda values: topic_policy(*values, self._prefix)
            ),
            region=placed,
            opts=opts,
        )
        if alarms.email is not None:
            aws.sns.TopicSubscription(
                f"{name}-email", topic=topic.arn, protocol="email", endpoint=alarms.email, region=placed, opts=opts
            )
        return topic

    def _actions(self, topic: aws.sns.Topic, region: pulumi.Input[str]) -> pulumi.Output[list[str]]:
        """The stack's topic, and the operator's own one when it is in the alarm's region."""
        alarms = self._args.settings.alarms
        assert alarms is not None
        own, own_region = alarms.sns_topic_arn, alarms.topic_region
        return pulumi.Output.all(topic.arn, region).apply(
            lambda values: [values[0], *([own] if own is not None and own_region == values[1] else [])]
        )

    def _alarm(
        self,
        name: str,
        plan: AlarmPlan,
        watched: Watched,
        actions: pulumi.Output[list[str]],
        placed: str | None,
    ) -> None:
        common = dict(
            name=f"{self._prefix}{plan.key}",
            alarm_description=f"{plan.summary} Runbook: {RUNBOOK}#{plan.key}",
            comparison_operator=plan.comparison,
            threshold=plan.threshold,
            evaluation_periods=plan.evaluation_periods,
            datapoints_to_alarm=plan.datapoints_to_alarm,
            treat_missing_data="notBreaching",
            alarm_actions=actions,
            ok_actions=actions,
            region=placed,
            opts=pulumi.ResourceOptions(parent=self),
        )
        if plan.expression is None:
            (metric,) = plan.metrics
            alarm = aws.cloudwatch.MetricAlarm(
                f"{name}-{plan.key}",
                namespace=metric.namespace or watched.namespace,
                metric_name=metric.name,
                dimensions=dict(metric.dimensions),
                period=PERIOD_SECONDS,
                **_statistic(metric),
                **common,
            )
        else:
            alarm = aws.cloudwatch.MetricAlarm(
                f"{name}-{plan.key}",
                metric_queries=[
                    *(_query(metric, watched) for metric in plan.metrics),
                    aws.cloudwatch.MetricAlarmMetricQueryArgs(
                        id="rate", expression=plan.expression, label=f"{plan.key} ({plan.unit_label})", return_data=True
                    ),
                ],
                **common,
            )
        self.alarm_names.append(alarm.name)

    def _dashboard(self, name: str, watched: Watched) -> None:
        target = self._args.target
        body = pulumi.Output.all(
            watched.function_name, watched.log_group_name, target.region, watched.distribution_id, watched.web_acl_metric
        ).apply(
            lambda values: dashboard_body(
                Watched(
                    function_name=values[0],
                    namespace=watched.namespace,
                    log_group_name=values[1],
                    region=values[2],
                    distribution_id=values[3],
                    web_acl_metric=values[4],
                    session_mode=watched.session_mode,
                )
            )
        )
        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=self._prefix.rstrip("-"),
            dashboard_body=body,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.dashboard_url = pulumi.Output.all(target.region, dashboard.dashboard_name).apply(
            lambda values: dashboard_url(*values)
        )


def _statistic(metric: MetricRef) -> dict[str, str]:
    """``statistic`` for the basic ones, ``extended_statistic`` for percentiles."""
    if metric.stat.startswith("p"):
        return {"extended_statistic": metric.stat}
    return {"statistic": metric.stat}


def _query(metric: MetricRef, watched: Watched) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(
        id=metric.id,
        metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
            namespace=metric.namespace or watched.namespace,
            metric_name=metric.name,
            dimensions=dict(metric.dimensions),
            period=PERIOD_SECONDS,
            stat=metric.stat,
        ),
        return_data=False,
    )


def _how_to_subscribe(namespace: str | None) -> str:
    """Named as the program set the alarms: its stack's keys, or the component's argument."""
    if namespace is None:
        return "pass OAuthExchangeArgs.monitoring with alarms=AlarmTarget(email=...) or AlarmTarget(sns_topic_arn=...)"
    return f"set {namespace}:alarms.email or {namespace}:alarms.snsTopicArn"
