"""The settings module: one source of truth for origins, OAUTH_CONFIG, config.js and CSP."""

import json
import re

import pytest

from oauth_exchange.settings import (
    ConfigError,
    allowed_origins,
    client_secrets_json,
    config_js,
    content_security_policy,
    function_config,
    function_url_origin_pattern,
    load_settings,
    redirect_uris,
    render_index_html,
    site_security_headers,
    spa_config,
)

SITE = "https://d1234.cloudfront.net"
FUNCTION = "https://abc123.lambda-url.eu-west-1.on.aws/"


def github(**extra):
    return {"providers": {"github": {"clientId": "Iv1.0123456789", **extra}}}


def test_github_preset_fills_in_every_endpoint():
    provider = load_settings(github(), {"github"}).provider("github")
    assert provider.token_url == "https://github.com/login/oauth/access_token"
    assert provider.authorize_url == "https://github.com/login/oauth/authorize"
    assert provider.revoke_url == "https://api.github.com/applications/{client_id}/token"
    assert provider.revoke_style == "github"
    assert provider.userinfo_url == "https://api.github.com/user"
    assert provider.token_auth == "client_secret_post"
    assert provider.refresh is False


@pytest.mark.parametrize("name", ["github", "gitlab", "google"])
def test_every_preset_loads_with_https_endpoints(name):
    settings = load_settings({"providers": {name: {"clientId": "id"}}}, {name})
    provider = settings.provider(name)
    for url in (provider.authorize_url, provider.token_url, provider.revoke_url, provider.userinfo_url):
        assert url.startswith("https://")


def test_custom_provider_with_urls_is_accepted_and_overrides_apply():
    settings = load_settings(
        {
            "providers": {
                "corp": {
                    "clientId": "corp-app",
                    "authorizeUrl": "https://sso.corp.example/authorize",
                    "tokenUrl": "https://sso.corp.example/token",
                    "tokenAuth": "client_secret_basic",
                    "scopes": "openid profile",
                    "refresh": True,
                }
            }
        },
        {"corp"},
    )
    corp = settings.provider("corp")
    assert corp.token_auth == "client_secret_basic"
    assert corp.scopes == ("openid", "profile")
    assert corp.revoke_url is None
    assert corp.refresh is True


def test_function_config_has_the_spec_shape():
    settings = load_settings(github(), {"github"})
    config = function_config(settings, SITE)
    assert config["providers"]["github"] == {
        "client_id": "Iv1.0123456789",
        "token_url": "https://github.com/login/oauth/access_token",
        "token_auth": "client_secret_post",
        "revoke_url": "https://api.github.com/applications/{client_id}/token",
        "revoke_style": "github",
        "refresh": False,
        "pkce": True,
        "redirect_uris": [SITE + "/callback/github"],
    }
    assert config["allowed_origins"] == [SITE]
    assert config["timeout_seconds"] == 5.0


def test_extra_origins_are_normalised_deduplicated_and_get_redirect_uris():
    settings = load_settings(
        github() | {"extraOrigins": ["http://localhost:8000", "HTTP://LOCALHOST:8000", "https://app.example.com:443"], "callbackPath": "/signin"},
        {"github"},
    )
    assert allowed_origins(settings, SITE) == [SITE, "http://localhost:8000", "https://app.example.com"]
    assert redirect_uris(settings, SITE, settings.provider("github")) == [
        SITE + "/signin/github",
        "http://localhost:8000/signin/github",
        "https://app.example.com/signin/github",
    ]


@pytest.mark.parametrize(
    ("config", "secrets", "key"),
    [
        ({}, set(), "providers"),
        ({"providers": {"acme": {"clientId": "x"}}}, {"acme"}, "providers.acme.authorizeUrl"),
        (github(), set(), "clientSecrets.github"),
        (github(), {"github", "gitlab"}, "clientSecrets.gitlab"),
        ({"providers": {"github": {}}}, {"github"}, "providers.github.clientId"),
        ({"providers": {"GitHub": {"clientId": "x"}}}, {"GitHub"}, "providers.GitHub"),
        (github(tokenUrl="http://github.example/token"), {"github"}, "providers.github.tokenUrl"),
        (github(tokenAuth="private_key_jwt"), {"github"}, "providers.github.tokenAuth"),
        (github(clientSecret="oops"), {"github"}, "providers.github.clientSecret"),
        (github() | {"extraOrigins": ["*"]}, {"github"}, "extraOrigins[0]"),
        (github() | {"extraOrigins": ["https://*.example.com"]}, {"github"}, "extraOrigins[0]"),
        (github() | {"extraOrigins": ["https://app.example.com/"]}, {"github"}, "extraOrigins[0]"),
        (github() | {"extraOrigins": ["http://app.example.com"]}, {"github"}, "extraOrigins[0]"),
        (github() | {"extraOrigins": ["localhost:8000"]}, {"github"}, "extraOrigins[0]"),
        (github() | {"extraOrigins": "http://localhost:8000"}, {"github"}, "extraOrigins"),
        (github() | {"timeoutSeconds": 0}, {"github"}, "timeoutSeconds"),
        (github() | {"memorySize": "lots"}, {"github"}, "memorySize"),
        (github() | {"reservedConcurrency": 0}, {"github"}, "reservedConcurrency"),
        (github() | {"logRetentionDays": 10}, {"github"}, "logRetentionDays"),
        (github() | {"callbackPath": "callback"}, {"github"}, "callbackPath"),
    ],
)
def test_bad_configuration_names_the_key(config, secrets, key):
    with pytest.raises(ConfigError) as raised:
        load_settings(config, secrets)
    assert raised.value.key == key
    assert str(raised.value).startswith(f"oauth-exchange:{key}: ")


def test_client_secrets_json_holds_one_secret_per_provider():
    settings = load_settings(github(), {"github"})
    assert json.loads(client_secrets_json(settings, {"github": "s3cr3t"})) == {"github": "s3cr3t"}
    with pytest.raises(ConfigError, match="clientSecrets.github"):
        client_secrets_json(settings, {"github": "  "})


def test_config_js_is_an_es_module_with_the_function_url_and_no_secret():
    settings = load_settings(github(), {"github"})
    source = config_js(settings, FUNCTION)
    match = re.fullmatch(r"//[^\n]*\nexport default Object\.freeze\((.*)\);\n", source, re.DOTALL)
    assert match, source
    config = json.loads(match.group(1))
    assert config == spa_config(settings, FUNCTION)
    assert config["functionUrl"] == FUNCTION.rstrip("/")
    assert config["providers"][0]["clientId"] == "Iv1.0123456789"
    assert "secret" not in source.lower()


def test_header_csp_allows_only_self_the_function_and_provider_apis():
    settings = load_settings(github(), {"github"})
    policy = content_security_policy(settings, function_url_origin_pattern("eu-west-1"))
    directives = dict(d.split(" ", 1) for d in policy.split("; "))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self' https://*.lambda-url.eu-west-1.on.aws https://api.github.com"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy


def test_index_html_gets_the_exact_function_origin_as_its_first_head_element():
    settings = load_settings(github(), {"github"})
    html = render_index_html("<!doctype html><html lang=en><head><meta charset=utf-8></head><body></body></html>", settings, FUNCTION.rstrip("/"))
    head = html.split("<head>", 1)[1]
    assert head.lstrip().startswith(
        '<meta http-equiv="Content-Security-Policy" content="connect-src \'self\' https://abc123.lambda-url.eu-west-1.on.aws https://api.github.com">'
    )


def test_a_region_that_is_not_one_is_refused():
    with pytest.raises(ConfigError, match="aws:region"):
        function_url_origin_pattern("eu-west-1; script-src *")


def test_security_headers_cover_hsts_referrer_nosniff_and_framing():
    headers = site_security_headers(load_settings(github(), {"github"}), "https://f.example")
    assert headers["Strict-Transport-Security"].startswith("max-age=63072000")
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
