"""Monitoring settings: alarms on by default, who hears them, the dashboard opt-out; every bad value named by its key."""

from __future__ import annotations

import pytest

from oauth_exchange.monitoring_settings import AlarmTarget, MonitoringSettings, load_monitoring_settings
from oauth_exchange.settings import ConfigError

TOPIC = "arn:aws:sns:eu-west-1:123456789012:ops-alerts"


def test_unset_means_alarms_on_without_a_subscriber_and_a_dashboard():
    assert load_monitoring_settings({}) == MonitoringSettings(alarms=AlarmTarget(), dashboard=True)


@pytest.mark.parametrize("value", [False, "false", "False"])
def test_alarms_false_turns_them_off(value):
    assert load_monitoring_settings({"alarms": value}).alarms is None


@pytest.mark.parametrize("value", [True, "true"])
def test_alarms_true_is_the_default(value):
    assert load_monitoring_settings({"alarms": value}).alarms == AlarmTarget()


def test_an_email_and_a_topic_are_kept():
    settings = load_monitoring_settings({"alarms": {"email": " ops@example.com ", "snsTopicArn": TOPIC}}, "eu-west-1")
    assert settings.alarms == AlarmTarget(email="ops@example.com", sns_topic_arn=TOPIC)
    assert settings.alarms.topic_region == "eu-west-1"


@pytest.mark.parametrize("value", [False, "false"])
def test_the_dashboard_is_opt_out(value):
    assert load_monitoring_settings({"dashboard": value}).dashboard is False


def test_a_misspelt_alarm_key_is_named_with_a_suggestion():
    with pytest.raises(ConfigError, match=r"oauth-exchange:alarms\.emial: is not an alarm setting; did you mean email\?"):
        load_monitoring_settings({"alarms": {"emial": "ops@example.com"}})


@pytest.mark.parametrize("value", ["ops@example", "ops example.com", "ops@@example.com", "", 42, "a@b.c" + "x" * 260])
def test_a_value_that_is_not_one_email_address_is_refused(value):
    with pytest.raises(ConfigError, match=r"oauth-exchange:alarms\.email: must be one email address"):
        load_monitoring_settings({"alarms": {"email": value}})


@pytest.mark.parametrize(
    "value",
    [
        "arn:aws:sns:eu-west-1:123456789012:ops-alerts.fifo",
        "arn:aws:sqs:eu-west-1:123456789012:ops-alerts",
        "arn:aws:sns:eu-west-1:12345678901:ops-alerts",
        "arn:aws:sns:eu-west-1:123456789012:ops-alerts:subscription-id",
        " " + TOPIC,
        "ops-alerts",
    ],
)
def test_anything_but_a_standard_topic_arn_is_refused(value):
    with pytest.raises(ConfigError, match=r"oauth-exchange:alarms\.snsTopicArn: must be a standard SNS topic ARN"):
        load_monitoring_settings({"alarms": {"snsTopicArn": value}})


def test_a_topic_in_a_region_no_alarm_lives_in_is_refused_with_why():
    with pytest.raises(ConfigError, match=r"alarms\.snsTopicArn: is in eu-west-1, but CloudWatch alarms notify topics of their own region: eu-central-1"):
        load_monitoring_settings({"alarms": {"snsTopicArn": TOPIC}}, "eu-central-1")


def test_a_topic_in_us_east_1_serves_the_edge_alarms_of_any_stack():
    topic = "arn:aws:sns:us-east-1:123456789012:ops-alerts"
    assert load_monitoring_settings({"alarms": {"snsTopicArn": topic}}, "eu-central-1").alarms.topic_region == "us-east-1"


@pytest.mark.parametrize("value", ["yes", 1, ["ops@example.com"], "ops@example.com"])
def test_alarms_of_another_shape_are_refused(value):
    with pytest.raises(ConfigError, match=r"oauth-exchange:alarms: must be false, or an object like \{email"):
        load_monitoring_settings({"alarms": value})


def test_a_dashboard_that_is_not_a_boolean_is_refused():
    with pytest.raises(ConfigError, match=r"oauth-exchange:dashboard: must be true or false"):
        load_monitoring_settings({"dashboard": "off"})
