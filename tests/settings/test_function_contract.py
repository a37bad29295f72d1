"""What the settings module deploys as OAUTH_CONFIG is what the function accepts."""

import pytest

from oauth_exchange.presets import PRESETS
from oauth_exchange.function_config import FUNCTION_CONFIG_FILE_ENV, function_config_json
from oauth_exchange.secrets_document import EDGE_SECRETS_ENTRY
from oauth_exchange.session_contract import API_FORWARDED_HEADERS, EDGE_SECRET_HEADER
from oauth_exchange.settings import load_settings
import edge_check
from oauth_config import CONFIG_FILE_ENV, parse_config

ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:oauth-exchange-AbCdEf"
SITE = "https://d1234.cloudfront.net"
CUSTOM = {
    "clientId": "corp-app",
    "authorizeUrl": "https://sso.corp.example/authorize",
    "tokenUrl": "https://sso.corp.example/token",
    "revokeUrl": "https://sso.corp.example/revoke",
    "tokenAuth": "client_secret_basic",
    "refresh": True,
}


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_deploys_a_configuration_the_function_accepts(name):
    settings = load_settings({"providers": {name: {"clientId": "app-id"}}, "extraOrigins": ["http://localhost:8000"]}, {name})
    config = parse_config(function_config_json(settings, SITE), ARN)
    provider = config.providers[name]
    preset = PRESETS[name]
    assert provider.token_url == preset.token_url
    assert provider.token_auth == preset.token_auth
    assert provider.revoke_style == preset.revoke_style
    assert provider.revoke_url == preset.revoke_url.replace("{client_id}", "app-id")
    assert config.allowed_origins == {SITE, "http://localhost:8000"}
    assert provider.redirect_uris == {f"{SITE}/callback/{name}", f"http://localhost:8000/callback/{name}"}
    assert provider.pkce is True


def test_custom_provider_settings_reach_the_function_unchanged():
    settings = load_settings(
        {"providers": {"corp": CUSTOM}, "timeoutSeconds": 2.5, "secretCacheSeconds": 60, "callbackPath": "/auth/done"},
        {"corp"},
    )
    config = parse_config(function_config_json(settings, SITE), ARN)
    corp = config.providers["corp"]
    assert (corp.client_id, corp.token_url, corp.token_auth, corp.revoke_url, corp.refresh) == (
        "corp-app",
        "https://sso.corp.example/token",
        "client_secret_basic",
        "https://sso.corp.example/revoke",
        True,
    )
    assert config.timeout_seconds == 2.5
    assert config.secret_cache_seconds == 60
    assert corp.redirect_uris == {SITE + "/auth/done/corp"}


def test_session_mode_deploys_the_edge_check_the_function_enforces():
    settings = load_settings({"providers": {"github": {"clientId": "app-id"}}, "session": True}, {"github"})
    session = parse_config(function_config_json(settings, None), ARN, "sessions").session

    assert session is not None
    assert session.edge_header == EDGE_SECRET_HEADER
    assert EDGE_SECRETS_ENTRY == edge_check.EDGE_SECRETS
    assert EDGE_SECRET_HEADER not in API_FORWARDED_HEADERS, "a viewer must never be able to send it through"


def test_the_program_and_the_function_name_the_config_file_alike():
    assert FUNCTION_CONFIG_FILE_ENV == CONFIG_FILE_ENV
