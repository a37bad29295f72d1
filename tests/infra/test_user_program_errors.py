"""A user's own program (project ``my-infra``) with a bad argument: one line naming what the user wrote, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.infra.stack_mocks import ROOT, TEST_SECRET
from tests.infra.test_error_reporting import _the_one_error, run_as_pulumi

PROJECT = "my-infra"
PREAMBLE = (
    "import sys\n"
    f"sys.path.insert(0, {str(ROOT / 'infra')!r})  # as if pip-installed\n"
    "import pulumi\n"
    "from oauth_exchange import OAuthExchange, OAuthExchangeArgs, SiteSettings, load_settings, read_stack_config\n"
    "from oauth_exchange.settings import Settings\n"
    "SECRETS = pulumi.Output.secret({'github': 's'})\n"
    "GITHUB = {'providers': {'github': {'clientId': 'Ov23li01'}}}\n"
)
PATH_ORIGIN = "https://app.example.com/app"
NOT_AN_ORIGIN = f"{PATH_ORIGIN!r} is not an origin: drop the path, e.g. https://app.example.com"


def run_user_program(tmp_path: Path, body: str, config: dict[str, str] | None = None, secrets: tuple[str, ...] = ()) -> str:
    program = tmp_path / "__main__.py"
    program.write_text(PREAMBLE + body)
    result = run_as_pulumi(program, {"aws:region": "us-east-1", **(config or {})}, secrets, project=PROJECT)
    message = _the_one_error(result)
    assert "oauth-exchange:" not in result.stderr, "a key the user's stack does not have"
    return message


def test_load_settings_names_the_value_in_the_mapping_the_program_passed(tmp_path: Path) -> None:
    body = f"settings = load_settings({{**GITHUB, 'extraOrigins': [{PATH_ORIGIN!r}]}}, {{'github'}})\n"
    assert run_user_program(tmp_path, body) == f'load_settings values["extraOrigins"][0]: {NOT_AN_ORIGIN}'


def test_a_nested_value_is_named_by_its_subscripts(tmp_path: Path) -> None:
    body = "load_settings({'providers': {'github': {'clientId': ''}}}, {'github'})\n"
    assert run_user_program(tmp_path, body) == (
        'load_settings values["providers"]["github"]["clientId"]: is required: the OAuth app\'s client id'
    )


def test_settings_built_by_hand_are_named_as_component_arguments(tmp_path: Path) -> None:
    body = (
        "good = load_settings(GITHUB, {'github'})\n"
        f"settings = Settings(providers=good.providers, extra_origins=({PATH_ORIGIN!r},))\n"
        "OAuthExchange('auth', OAuthExchangeArgs(settings=settings, client_secrets=SECRETS))\n"
    )
    assert run_user_program(tmp_path, body) == f"OAuthExchangeArgs.settings.extra_origins[0]: {NOT_AN_ORIGIN}"


def test_a_site_origin_with_a_path_is_named_as_the_argument(tmp_path: Path) -> None:
    body = (
        "OAuthExchange('auth', OAuthExchangeArgs(settings=load_settings(GITHUB, {'github'}), client_secrets=SECRETS,\n"
        f"    site=SiteSettings(deploy=False), site_origin={PATH_ORIGIN!r}))\n"
    )
    assert run_user_program(tmp_path, body) == f"OAuthExchangeArgs.site_origin: {NOT_AN_ORIGIN}"


@pytest.mark.parametrize(
    ("namespace", "key"),
    [(None, "oauth-exchange:extraOrigins[0]"), (PROJECT, "my-infra:extraOrigins[0]")],
    ids=["component-namespace", "programs-own-namespace"],
)
def test_read_stack_config_names_the_stack_key_in_the_namespace_it_read(tmp_path: Path, namespace, key) -> None:
    prefix = namespace or "oauth-exchange"
    config = {
        f"{prefix}:providers": json.dumps({"github": {"clientId": "Ov23li01"}}),
        f"{prefix}:clientSecrets": json.dumps({"github": TEST_SECRET}),
        f"{prefix}:extraOrigins": json.dumps([PATH_ORIGIN]),
        "my-infra:bucketName": "a key of the program's own",
    }
    argument = "" if namespace is None else f"pulumi.Config({namespace!r})"
    program = tmp_path / "__main__.py"
    program.write_text(PREAMBLE + f"read_stack_config({argument})\n")
    result = run_as_pulumi(program, {"aws:region": "us-east-1", **config}, (f"{prefix}:clientSecrets",), project=PROJECT)
    assert _the_one_error(result) == f"{key}: {NOT_AN_ORIGIN}"


def _own_site_origin(value: str | None) -> str:
    """A program whose own site's origin is an Output (its distribution's, say) that resolves to ``value``."""
    return (
        "OAuthExchange('auth', OAuthExchangeArgs(settings=load_settings(GITHUB, {'github'}), client_secrets=SECRETS,\n"
        f"    site=SiteSettings(deploy=False), site_origin=pulumi.Output.from_input({value!r})))\n"
    )


def test_a_site_origin_output_with_a_path_is_named_as_the_argument(tmp_path: Path) -> None:
    assert run_user_program(tmp_path, _own_site_origin(PATH_ORIGIN)) == f"OAuthExchangeArgs.site_origin: {NOT_AN_ORIGIN}"


@pytest.mark.parametrize("value", [None, ""], ids=["none", "empty"])
def test_a_site_origin_output_that_comes_back_empty_is_an_error_naming_it(tmp_path: Path, value) -> None:
    """As Pulumi's echo mocks give for a distribution's domain: never a function that serves no origin at all."""
    assert run_user_program(tmp_path, _own_site_origin(value)) == (
        f"OAuthExchangeArgs.site_origin came back empty ({value!r}), and the component builds on it; under Pulumi's "
        "mocks, return it from new_resource, as oauth_exchange.testing.Mocks does"
    )


def _warnings(result) -> list[str]:
    assert result.returncode == 0, result.stderr
    return [line.removeprefix("warning: ") for line in result.stderr.splitlines() if line.startswith("warning: ")]


UNSUBSCRIBED = "the alarms notify the stack's own SNS topic (export alarmTopicArn), which nobody is subscribed to yet: "


def test_the_unsubscribed_alarms_warning_names_the_argument_when_the_program_built_the_settings(tmp_path: Path) -> None:
    program = tmp_path / "__main__.py"
    program.write_text(
        PREAMBLE + "OAuthExchange('auth', OAuthExchangeArgs(settings=load_settings(GITHUB, {'github'}), client_secrets=SECRETS))\n"
    )
    result = run_as_pulumi(program, {"aws:region": "us-east-1"}, (), project=PROJECT)
    assert _warnings(result) == [
        UNSUBSCRIBED + "pass OAuthExchangeArgs.monitoring with alarms=AlarmTarget(email=...) or "
        "AlarmTarget(sns_topic_arn=...), or subscribe to the topic"
    ]


def test_the_unsubscribed_alarms_warning_names_the_stack_keys_of_the_namespace_read(tmp_path: Path) -> None:
    config = {
        f"{PROJECT}:providers": json.dumps({"github": {"clientId": "Ov23li01"}}),
        f"{PROJECT}:clientSecrets": json.dumps({"github": TEST_SECRET}),
        f"{PROJECT}:deploySite": "false",
        f"{PROJECT}:extraOrigins": json.dumps(["https://app.example.com"]),
    }
    program = tmp_path / "__main__.py"
    program.write_text(
        PREAMBLE + f"stack = read_stack_config(pulumi.Config({PROJECT!r}))\n"
        "OAuthExchange('auth', OAuthExchangeArgs(settings=stack.settings, client_secrets=stack.client_secrets,\n"
        "    site=stack.site, monitoring=stack.monitoring))\n"
    )
    result = run_as_pulumi(program, {"aws:region": "us-east-1", **config}, (f"{PROJECT}:clientSecrets",), project=PROJECT)
    assert _warnings(result) == [
        UNSUBSCRIBED + "set my-infra:alarms.email or my-infra:alarms.snsTopicArn, or subscribe to the topic"
    ]
