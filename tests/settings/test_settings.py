"""The settings module: one source of truth for origins, OAUTH_CONFIG, config.js and CSP."""

import json
import re

import pytest

from oauth_exchange.function_config import function_config
from oauth_exchange.origins import FunctionUrlCors, allowed_origins, function_url_cors, redirect_uris
from oauth_exchange.secrets_document import client_secrets_json
from oauth_exchange.settings import ConfigError, load_settings
from oauth_exchange.site_headers import content_security_policy, function_url_origin_pattern, site_security_headers
from oauth_exchange.spa_config import config_js, render_index_html, spa_config

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
        (github(requireIss=True), {"github"}, "providers.github.requireIss"),
        (github(issuer="https://github.com/?x=1"), {"github"}, "providers.github.issuer"),
        (github(issuer="https://github.com/#top"), {"github"}, "providers.github.issuer"),
        (github(issuer="http://github.com"), {"github"}, "providers.github.issuer"),
        (github(requireIss="sometimes"), {"github"}, "providers.github.requireIss"),
    ],
)
def test_bad_configuration_names_the_key(config, secrets, key):
    with pytest.raises(ConfigError) as raised:
        load_settings(config, secrets)
    assert raised.value.key == key
    assert str(raised.value).startswith(f"oauth-exchange:{key}: ")


# Values that end up in the site's HTML (index.html's CSP meta) or its CSP header, or in a page as text.
@pytest.mark.parametrize(
    ("entry", "key"),
    [
        ({"label": 'Git"Hub'}, "providers.github.label"),
        ({"label": "<img src=x onerror=alert(1)>"}, "providers.github.label"),
        ({"label": "Git'Hub"}, "providers.github.label"),
        ({"label": "GitHub\u202e"}, "providers.github.label"),
        ({"label": "Git\nHub"}, "providers.github.label"),
        ({"imageOrigins": ["https://avatars.example;script-src"]}, "providers.github.imageOrigins"),
        ({"imageOrigins": ["https://avatars.example,https://evil.example"]}, "providers.github.imageOrigins"),
        ({"imageOrigins": ["https://'unsafe-inline'"]}, "providers.github.imageOrigins"),
        ({"userInfoUrl": "https://api.example/user;script-src"}, "providers.github.userInfoUrl"),
        ({"userInfoUrl": 'https://api.example/"><script>'}, "providers.github.userInfoUrl"),
        ({"userInfoUrl": "https://api_internal.example/user"}, "providers.github.userInfoUrl"),
        ({"userInfoUrl": "https://xn--.example/user"}, "providers.github.userInfoUrl"),
        ({"userInfoUrl": "https://ex\u00e4mple.com/user"}, "providers.github.userInfoUrl"),
        ({"userInfoUrl": "https://api.example/\x7fuser"}, "providers.github.userInfoUrl"),
        ({"authorizeUrl": "https://github.example/<authorize>"}, "providers.github.authorizeUrl"),
        ({"tokenUrl": "https://github.example/token\\x"}, "providers.github.tokenUrl"),
        ({"revokeUrl": "https://api.github.example/applications/{client}/token"}, "providers.github.revokeUrl"),
        ({"issuer": "https://issuer.example/'x"}, "providers.github.issuer"),
    ],
)
def test_a_value_that_could_break_out_of_html_or_csp_is_refused_naming_its_key(entry, key):
    with pytest.raises(ConfigError) as raised:
        load_settings(github(**entry), {"github"})
    assert raised.value.key == key


@pytest.mark.parametrize(
    "origin", ["https://app.example;script-src", "https://app.example,https://evil.example", "https://app_1.example"]
)
def test_an_extra_origin_that_could_break_out_of_a_header_is_refused(origin):
    with pytest.raises(ConfigError) as raised:
        load_settings(github() | {"extraOrigins": [origin]}, {"github"})
    assert raised.value.key == "extraOrigins[0]"


def test_real_hosts_ip_addresses_and_the_revoke_placeholder_are_accepted():
    settings = load_settings(
        github(
            label="GitHub & Co. (Enterprise)",
            authorizeUrl="https://ghe.corp-1.example/login/oauth/authorize?allow_signup=false",
            tokenUrl="https://10.0.0.7:8443/login/oauth/access_token",
            revokeUrl="https://ghe.corp-1.example/api/v3/applications/{client_id}/token",
            userInfoUrl="http://[::1]:8080/api/v3/user",
        ),
        {"github"},
    )
    assert settings.provider("github").label == "GitHub & Co. (Enterprise)"


def test_the_csp_meta_attribute_is_escaped_even_for_values_that_skipped_validation():
    settings = load_settings(github(), {"github"})
    html = render_index_html("<html><head></head></html>", settings, 'https://f.example"><script>alert(1)</script>')
    assert "<script>" not in html
    assert 'content="connect-src \'self\' https://f.example&quot;&gt;&lt;script&gt;' in html


def test_presets_declare_the_issuer_they_send_as_iss():
    providers = {name: {"clientId": "id"} for name in ("github", "gitlab", "google")}
    settings = load_settings({"providers": providers}, set(providers))
    issuers = {p.name: (p.issuer, p.require_iss) for p in settings.providers}
    assert issuers == {
        "github": (None, False),
        "gitlab": ("https://gitlab.com", False),
        "google": ("https://accounts.google.com", False),
    }


def test_issuer_and_require_iss_reach_config_js():
    settings = load_settings(github(issuer="https://github.example", requireIss=True), {"github"})
    (provider,) = spa_config(settings, FUNCTION)["providers"]
    assert (provider["issuer"], provider["requireIss"]) == ("https://github.example", True)
    assert provider["callbackPath"] == "/callback/github"


def test_function_url_cors_allows_exactly_the_spa_origins_post_and_json_without_credentials():
    settings = load_settings(github() | {"extraOrigins": ["http://localhost:8000", "HTTPS://App.Example.com"]}, {"github"})

    cors = function_url_cors(settings, SITE)

    assert cors == FunctionUrlCors(
        allow_origins=(SITE, "http://localhost:8000", "https://app.example.com"),
        allow_methods=("POST",),
        allow_headers=("content-type",),
        max_age=86400,
        allow_credentials=False,
    )
    assert "*" not in "".join(cors.allow_origins + cors.allow_methods + cors.allow_headers)
    assert function_url_cors(load_settings(github(), {"github"}), SITE + ":443").allow_origins == (SITE,)


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
    assert headers["Strict-Transport-Security"] == "max-age=31536000"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("value", [None, False, "false", "False"])
def test_hsts_covers_the_sites_own_host_only_unless_asked(value):
    settings = load_settings({**github(), "hstsIncludeSubdomains": value}, {"github"})

    hsts = site_security_headers(settings, "https://f.example")["Strict-Transport-Security"]

    assert hsts == "max-age=31536000"
    assert "includesubdomains" not in hsts.lower()


@pytest.mark.parametrize("value", [True, "true", "TRUE"])
def test_hsts_include_subdomains_is_opt_in_with_the_preload_lists_two_years(value):
    settings = load_settings({**github(), "hstsIncludeSubdomains": value}, {"github"})

    hsts = site_security_headers(settings, "https://f.example")["Strict-Transport-Security"]

    assert hsts == "max-age=63072000; includeSubDomains"


@pytest.mark.parametrize("value", ["yes", 1, "on", ["true"]])
def test_hsts_include_subdomains_takes_true_or_false_only(value):
    with pytest.raises(ConfigError, match=r"^oauth-exchange:hstsIncludeSubdomains: must be true or false$"):
        load_settings({**github(), "hstsIncludeSubdomains": value}, {"github"})
