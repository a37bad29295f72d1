"""OAUTH_CONFIG and OAUTH_CLIENT_SECRETS_ARN: validated once per container, broken means 500 + one clear log line."""

from __future__ import annotations

import json
import logging

import pytest

import exchange
from oauth_config import ConfigError, parse_config
from tests.function.conftest import REDIRECT_URI

ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:oauth-exchange-AbCdEf"
GITHUB = {
    "client_id": "Iv1.0123456789",
    "token_url": "https://github.com/login/oauth/access_token",
    "token_auth": "client_secret_post",
    "revoke_url": "https://api.github.com/applications/{client_id}/token",
    "revoke_style": "github",
    "refresh": False,
    "pkce": True,
    "redirect_uris": ["https://d1234.cloudfront.net/callback/github"],
}
VALID = {
    "providers": {"github": GITHUB},
    "allowed_origins": ["https://d1234.cloudfront.net"],
    "timeout_seconds": 5,
}


def with_changes(path: str, value) -> dict:
    """VALID with the dotted ``path`` set to ``value`` (``...`` deletes it)."""
    config = json.loads(json.dumps(VALID))
    *parents, last = path.split(".")
    target = config
    for key in parents:
        target = target[key]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return config


def test_the_spec_example_is_valid():
    config = parse_config(json.dumps(VALID), ARN)

    github = config.providers["github"]
    assert github.revoke_url == "https://api.github.com/applications/Iv1.0123456789/token"
    assert (config.timeout_seconds, config.secret_cache_seconds) == (5.0, 300.0)
    assert config.allowed_origins == {"https://d1234.cloudfront.net"}


def test_loopback_http_urls_and_unknown_keys_are_accepted():
    config = with_changes("providers.github.token_url", "http://127.0.0.1:9000/token")
    config["providers"]["github"]["authorize_url"] = "https://github.com/login/oauth/authorize"
    config["providers"]["local"] = {
        "client_id": "x",
        "token_url": "http://[::1]:9/t",
        "revoke_url": None,
        "redirect_uris": ["http://localhost:8000/callback/local"],
    }
    config["providers"]["github"]["redirect_uris"].append("http://localhost:8000/callback/github")
    config["allowed_origins"].append("http://localhost:8000")
    config["secret_cache_seconds"] = 0
    config["stack"] = "dev"

    parsed = parse_config(json.dumps(config), ARN)

    assert parsed.providers["local"].token_auth == "client_secret_post"
    assert parsed.providers["local"].revoke_url is None
    assert parsed.secret_cache_seconds == 0


@pytest.mark.parametrize(
    ("change", "value", "named"),
    [
        ("providers", {}, "OAUTH_CONFIG.providers"),
        ("providers", ..., "OAUTH_CONFIG.providers"),
        ("providers.github.token_url", "http://github.com/login/oauth/access_token", "providers.github.token_url"),
        ("providers.github.token_url", "ftp://github.com/x", "providers.github.token_url"),
        ("providers.github.token_url", "https://user:pw@github.com/x", "providers.github.token_url"),
        ("providers.github.token_url", "github.com/login", "providers.github.token_url"),
        ("providers.github.token_url", ..., "providers.github.token_url"),
        ("providers.github.token_url", "https://github.com:99999/x", "providers.github.token_url"),
        ("providers.github.revoke_url", "http://api.github.com/x", "providers.github.revoke_url"),
        ("providers.github.revoke_style", "oauth", "providers.github.revoke_style"),
        ("providers.github.revoke_style", ..., "providers.github.revoke_style"),
        ("providers.github.token_auth", "private_key_jwt", "providers.github.token_auth"),
        ("providers.github.client_id", "", "providers.github.client_id"),
        ("providers.github.client_id", 12, "providers.github.client_id"),
        ("providers.github.refresh", "yes", "providers.github.refresh"),
        ("providers.github", "https://github.com", "providers.github"),
        ("allowed_origins", ["*"], "allowed_origins[0]"),
        ("allowed_origins", ["https://a.example", "https://*.example"], "allowed_origins[1]"),
        ("allowed_origins", ["https://a.example/"], "allowed_origins[0]"),
        ("allowed_origins", ["https://a.example/app"], "allowed_origins[0]"),
        ("allowed_origins", ["a.example"], "allowed_origins[0]"),
        ("allowed_origins", ["ftp://a.example"], "allowed_origins[0]"),
        ("allowed_origins", "https://a.example", "allowed_origins"),
        ("providers.github.redirect_uris", [], "providers.github.redirect_uris"),
        ("providers.github.redirect_uris", ["http://d1234.cloudfront.net/"], "providers.github.redirect_uris[0]"),
        ("providers.github.redirect_uris", ..., "providers.github.redirect_uris"),
        ("providers.github.pkce", "yes", "providers.github.pkce"),
        ("timeout_seconds", 0, "timeout_seconds"),
        ("timeout_seconds", -1, "timeout_seconds"),
        ("timeout_seconds", 61, "timeout_seconds"),
        ("timeout_seconds", True, "timeout_seconds"),
        ("timeout_seconds", "5", "timeout_seconds"),
        ("secret_cache_seconds", -1, "secret_cache_seconds"),
        ("secret_cache_seconds", 86400, "secret_cache_seconds"),
    ],
)
def test_broken_configuration_names_the_key(change, value, named):
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("]", r"\]")):
        parse_config(json.dumps(with_changes(change, value)), ARN)


def test_bad_provider_name_is_refused():
    config = with_changes("providers", {"Git Hub": GITHUB})

    with pytest.raises(ConfigError, match="providers has a name"):
        parse_config(json.dumps(config), ARN)


@pytest.mark.parametrize("raw", ["", "{", "[]", '"x"', "null"])
def test_configuration_that_is_not_a_json_object_is_refused(raw):
    with pytest.raises(ConfigError, match="OAUTH_CONFIG"):
        parse_config(raw, ARN)


# -- through the handler -----------------------------------------------------------


def deploy_raw(monkeypatch, config_text: str | None, arn: str | None = ARN) -> None:
    for name, value in (("OAUTH_CONFIG", config_text), ("OAUTH_CLIENT_SECRETS_ARN", arn)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    exchange.reset()


def config_errors(sensitive):
    return [r for r in sensitive.records() if r.levelno >= logging.ERROR and r.name == "oauth_exchange"]


@pytest.mark.parametrize(
    ("config_text", "arn", "named"),
    [
        (json.dumps(with_changes("allowed_origins", ["*"])), ARN, "OAUTH_CONFIG.allowed_origins[0]"),
        ("{not json", ARN, "OAUTH_CONFIG is not valid JSON"),
        (None, ARN, "OAUTH_CONFIG is not set"),
        (json.dumps(VALID), None, "OAUTH_CLIENT_SECRETS_ARN is not set"),
    ],
)
def test_broken_configuration_answers_server_error_and_logs_once(monkeypatch, invoke, sensitive, config_text, arn, named):
    deploy_raw(monkeypatch, config_text, arn)
    body = {"code": "code-0123456789", "redirect_uri": "https://d1234.cloudfront.net/"}

    replies = [invoke("/token", body), invoke("/revoke", {"token": "x"}), invoke("/elsewhere", body, method="GET")]

    assert [(r.status, r.body["error"]) for r in replies] == [(500, "server_error")] * 3
    assert all(r.body["error_description"] == "An unexpected error occurred." for r in replies)
    (line,) = config_errors(sensitive)
    assert named in line.getMessage()


def test_configuration_is_read_once_per_container(github, monkeypatch, exchange_code):
    assert exchange_code(*github.authorize_pkce(REDIRECT_URI)).status == 200
    monkeypatch.setenv("OAUTH_CONFIG", "{broken")

    assert exchange_code(*github.authorize_pkce(REDIRECT_URI)).status == 200, "the warm container keeps its configuration"
    exchange.reset()
    assert exchange_code(*github.authorize_pkce(REDIRECT_URI)).status == 500


# -- the function's own defaults: the settings always write these keys, so only the parser can show them ----------

SESSION = {
    "cookie_name": "__Host-oauth-exchange",
    "csrf_header": "x-oauth-exchange",
    "origin_header": "x-oauth-exchange-site-origin",
    "idle_seconds": 3600,
    "max_seconds": 7200,
    "providers": {"github": {"callback_path": "/callback/github"}},
}


def test_a_provider_entry_that_does_not_mention_pkce_requires_it():
    config = parse_config(json.dumps(with_changes("providers.github.pkce", ...)), ARN)

    assert config.providers["github"].pkce is True


def test_without_pkce_in_the_entry_a_code_without_verifier_is_refused_before_the_provider_is_asked(
    fake_provider, deploy, invoke
):
    github = fake_provider("github")
    entry = github.provider_config()
    del entry["pkce"]
    deploy({"github": entry}, secrets={"github": github.client_secret})

    reply = invoke("/token", {"provider": "github", "code": github.authorize(REDIRECT_URI), "redirect_uri": REDIRECT_URI})

    assert (reply.status, reply.body["error"]) == (400, "invalid_request")
    assert "code_verifier" in reply.body["error_description"]
    assert github.requests_to("/login/oauth/access_token") == []


def test_the_session_cookie_name_as_the_settings_write_it_is_accepted():
    config = parse_config(json.dumps({**VALID, "session": SESSION}), ARN, session_table="sessions")

    assert config.session is not None
    assert config.session.cookie_name == "__Host-oauth-exchange"


@pytest.mark.parametrize(
    "name",
    ["oauth-exchange", "__Secure-oauth-exchange", "__host-oauth-exchange", "__Host-", "x__Host-oauth-exchange", "__Host-a b"],
)
def test_a_session_cookie_name_without_the_host_prefix_is_refused(name):
    with pytest.raises(ConfigError, match=r"OAUTH_CONFIG\.session\.cookie_name must be a __Host- cookie name"):
        parse_config(json.dumps({**VALID, "session": {**SESSION, "cookie_name": name}}), ARN, session_table="sessions")
