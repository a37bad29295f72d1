"""The access policy through the local stack: real function runtime, function URL emulator, fake GitHub, CLI flags."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator

import httpx
import pytest

from local.signin import Spa
from local.stack import LocalStack
from tests.local.test_cli import Cli, _Urls, cli  # noqa: F401 - cli is a fixture

LOG: list[str] = []


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(allow={"orgs": ["octo-org"]}, log=LOG.append) as running:
        yield running


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=20) as http:
        yield http


def function_log_records() -> list[dict]:
    records = []
    for line in LOG:
        try:
            record = json.loads(line[line.index("{") :])
        except ValueError:
            continue
        if isinstance(record, dict) and "outcome" in record:
            records.append(record)
    return records


def test_an_org_member_signs_in_and_the_authorize_request_asked_for_read_org(stack, client):
    spa = Spa(client, stack.site_url)
    assert spa.provider["scopes"] == ["read:user", "read:org"]

    answer = spa.sign_in()

    assert answer["scope"] == "read:user read:org"
    assert answer["access_token"] in stack.provider.active_access_tokens()
    assert stack.provider.requests_to("/user/memberships/orgs/octo-org")


def test_someone_who_left_the_org_is_access_denied_and_the_token_revoked(stack, client):
    stack.provider.orgs.pop("octo-org")
    try:
        spa = Spa(client, stack.site_url)
        callback = spa.consent()
        reply = spa.exchange(callback.code, callback.verifier)
    finally:
        stack.provider.orgs["octo-org"] = "active"

    assert reply.status_code == 403
    assert reply.json() == {"error": "access_denied", "error_description": "This account is not allowed to sign in here."}
    assert reply.headers["access-control-allow-origin"] == stack.site_origin
    token = stack.provider.issued_access_tokens[-1]
    assert token in stack.provider.revoked_tokens
    assert token not in reply.text


def test_the_function_logs_access_denied_with_no_token(stack, client):
    stack.provider.orgs["octo-org"] = "pending"
    try:
        spa = Spa(client, stack.site_url)
        callback = spa.consent()
        assert spa.exchange(callback.code, callback.verifier).status_code == 403
    finally:
        stack.provider.orgs["octo-org"] = "active"
    token = stack.provider.issued_access_tokens[-1]

    denied = [r for r in function_log_records() if r["outcome"] == "access_denied"]
    assert denied, "\n".join(LOG)
    assert (denied[-1]["status"], denied[-1]["route"]) == (403, "/token")
    assert denied[-1]["detail"].endswith("token revoked")
    assert not any(token in line for line in LOG)


def test_the_command_restricts_sign_in_with_allow_flags(cli):
    command = Cli("--allow-user", "hubot", "--allow-org", "octo-org")
    cli.append(command)
    command.wait_for("Press Ctrl-C to stop.")
    assert "Sign-in allowed for: users hubot; orgs octo-org" in command.output
    with httpx.Client(timeout=20) as client:
        answer = Spa(client, _Urls(command).site).sign_in()
    assert "read:org" in answer["scope"]
    command.process.send_signal(signal.SIGINT)
    assert command.finish() == 0


def test_a_bad_allow_flag_is_a_configuration_error_naming_the_key(cli):
    command = Cli("--allow-team", "octo-team")
    cli.append(command)

    assert command.finish() == 2
    assert "oauth-exchange:providers.github.allow.teams[0]" in command.output
    assert "Traceback" not in command.output
