"""The AWS SDK's own loggers never print the role's credentials, whatever level the function logs at."""

from __future__ import annotations

import logging
import secrets

import pytest

from tests.function.conftest import REDIRECT_URI, code_fields

SDK_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer")


@pytest.fixture
def session_token(monkeypatch):
    """A role's session token, as Lambda puts it in the environment; set before the client is built."""
    token = "IQoJb3JpZ2luX2VjE" + secrets.token_hex(24)
    monkeypatch.setenv("AWS_SESSION_TOKEN", token)
    return token


def test_the_session_token_is_in_no_log_record_at_any_level(session_token, fake_provider, deploy, invoke, sensitive):
    github = fake_provider("github")
    deploy({"github": github})  # rebuilds the container: its Secrets Manager client signs with the token
    logging.getLogger().setLevel(logging.DEBUG)  # what Lambda does with the log level DEBUG

    reply = invoke("/token", {"provider": "github", **code_fields(github), "redirect_uri": REDIRECT_URI})

    assert reply.status == 200
    records = sensitive.records()
    assert any(r.name == "oauth_exchange" for r in records), "the capture saw the function's own records"
    for record in records:
        text = record.getMessage() + repr(vars(record))
        assert session_token not in text, f"the session token leaked into a {record.name} {record.levelname} record"


def test_the_sdk_loggers_stay_at_info_or_above(invoke):
    for name in SDK_LOGGERS:
        assert logging.getLogger(name).getEffectiveLevel() >= logging.INFO, name
