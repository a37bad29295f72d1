"""Who hears the stack's alarms, and whether it has a dashboard: ``oauth-exchange:alarms`` and ``oauth-exchange:dashboard``.

Plain Python with no Pulumi import, like ``settings``: every error names the
key that is wrong. Alarms are on by default: unset, they notify the stack's
own SNS topic, which the operator subscribes to (the program warns that
nobody hears them yet); ``{email: ...}`` subscribes an address to it,
``{snsTopicArn: ...}`` adds a topic the operator already has; ``false``
turns them off.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from oauth_exchange import settings as base
from oauth_exchange.settings import ConfigError

ALARMS_KEY = "alarms"
DASHBOARD_KEY = "dashboard"
ALARM_TARGET_KEYS = ("email", "snsTopicArn")
EDGE_REGION = "us-east-1"
"""CloudFront's and WAF's metrics are published in us-east-1 only: their alarms live there."""

_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+")
_TOPIC_ARN = re.compile(
    r"arn:(?P<partition>aws|aws-cn|aws-us-gov):sns:(?P<region>[a-z]{2}(-[a-z]+)+-\d):(?P<account>\d{12}):(?P<name>[A-Za-z0-9_-]{1,256})"
)


@dataclass(frozen=True)
class AlarmTarget:
    """Where alarm notifications go besides the stack's own topic."""

    email: str | None = None
    sns_topic_arn: str | None = None

    @property
    def topic_region(self) -> str | None:
        """The region of ``sns_topic_arn``: CloudWatch notifies topics of the alarm's own region only."""
        match = None if self.sns_topic_arn is None else _TOPIC_ARN.fullmatch(self.sns_topic_arn)
        return None if match is None else match.group("region")


@dataclass(frozen=True)
class MonitoringSettings:
    alarms: AlarmTarget | None = field(default_factory=AlarmTarget)
    """None: no alarms (``alarms: false``)."""
    dashboard: bool = True
    namespace: str | None = field(default=None, compare=False)
    """The stack config namespace these were read from (``read_stack_config``), so messages name its keys; None: built by the program."""


def load_monitoring_settings(values: Mapping[str, Any], region: str | None = None) -> MonitoringSettings:
    """Validate ``alarms`` and ``dashboard`` (config keys without the namespace); ``region`` is the stack's, when known."""
    return MonitoringSettings(
        alarms=_alarms(values.get(ALARMS_KEY), region),
        dashboard=base._bool(DASHBOARD_KEY, values.get(DASHBOARD_KEY), True),
    )


def _alarms(value: Any, region: str | None) -> AlarmTarget | None:
    if value is None or value is True or (isinstance(value, str) and value.lower() == "true"):
        return AlarmTarget()
    if value is False or (isinstance(value, str) and value.lower() == "false"):
        return None
    if not isinstance(value, Mapping):
        raise ConfigError(ALARMS_KEY, "must be false, or an object like {email: ops@example.com} or {snsTopicArn: arn:aws:sns:...}")
    for key in value:
        if key not in ALARM_TARGET_KEYS:
            close = difflib.get_close_matches(str(key), ALARM_TARGET_KEYS, n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise ConfigError(f"{ALARMS_KEY}.{key}", f"is not an alarm setting; {hint}known: {', '.join(ALARM_TARGET_KEYS)}")
    email = _email(value.get("email"))
    topic = _topic_arn(value.get("snsTopicArn"), region)
    return AlarmTarget(email=email, sns_topic_arn=topic)


def _email(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 254 or not _EMAIL.fullmatch(value.strip()):
        raise ConfigError(f"{ALARMS_KEY}.email", "must be one email address, like ops@example.com")
    return value.strip()


def _topic_arn(value: Any, region: str | None) -> str | None:
    if value is None:
        return None
    match = _TOPIC_ARN.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ConfigError(
            f"{ALARMS_KEY}.snsTopicArn", "must be a standard SNS topic ARN, like arn:aws:sns:eu-west-1:123456789012:ops-alerts"
        )
    if region is not None and match.group("region") not in (region, EDGE_REGION):
        raise ConfigError(
            f"{ALARMS_KEY}.snsTopicArn",
            f"is in {match.group('region')}, but CloudWatch alarms notify topics of their own region: "
            f"{region} (the function's alarms) or {EDGE_REGION} (CloudFront's and WAF's); use email for both",
        )
    return value
