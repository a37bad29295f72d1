"""CMS popup mode's settings: what they deploy is what the function reads."""

from __future__ import annotations

import pytest

import cms as function_cms
from oauth_exchange.cms_endpoints import CMS_AUTH_ENDPOINT, CMS_CALLBACK_PREFIX, cms_base_url, cms_callback_urls
from oauth_exchange.function_config import function_config_json
from oauth_exchange.secrets_document import CMS_SIGNING_KEYS_ENTRY, client_secrets_json
from oauth_exchange.settings import ConfigError, load_settings
from oauth_config import parse_config

ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:oauth-exchange-AbCdEf"
SITE = "https://d1234.cloudfront.net"
FUNCTION_URL = "https://abcdef.lambda-url.eu-west-1.on.aws/"


def settings_with(cms, providers=None):
    providers = providers or {"github": {"clientId": "gh"}, "gitlab": {"clientId": "gl"}}
    return load_settings({"providers": providers, "cms": cms}, set(providers))


def test_the_function_and_the_settings_agree_on_paths_and_the_secret_entry():
    assert CMS_SIGNING_KEYS_ENTRY == function_cms.SIGNING_KEYS
    assert "/" + CMS_AUTH_ENDPOINT == function_cms.AUTH_PATH
    assert CMS_CALLBACK_PREFIX + "/" == function_cms.CALLBACK_PREFIX


def test_default_providers_and_scopes_are_what_the_cmss_ask_for():
    config = parse_config(function_config_json(settings_with({"origins": ["https://www.example.com"]}), SITE), ARN)

    assert {name: p.scopes for name, p in config.cms.providers.items()} == {"github": ("repo", "user"), "gitlab": ("api",)}
    assert config.cms.providers["gitlab"].authorize_url == "https://gitlab.com/oauth/authorize"
    assert config.cms.origins == ("https://www.example.com",)
    assert config.cms.callback_origin is None


@pytest.mark.parametrize(
    ("providers", "expected"),
    [
        (["github"], {"github": ("repo", "user")}),
        ({"github": {"scopes": ["public_repo", "user"]}}, {"github": ("public_repo", "user")}),
        ({"github": {"scopes": "repo,user"}}, {"github": ("repo", "user")}),
        ({"gitlab": None}, {"gitlab": ("api",)}),
    ],
)
def test_providers_may_be_listed_or_given_their_scopes(providers, expected):
    settings = settings_with({"origins": ["https://www.example.com"], "providers": providers})

    config = parse_config(function_config_json(settings, SITE), ARN)

    assert {name: p.scopes for name, p in config.cms.providers.items()} == expected


def test_the_local_stack_names_the_functions_origin_for_its_callbacks():
    settings = settings_with({"origins": ["http://127.0.0.1:8001"]})

    config = parse_config(function_config_json(settings, SITE, "http://127.0.0.1:9000"), ARN)

    assert config.cms.callback_origin == "http://127.0.0.1:9000"


def test_the_sites_origin_joins_the_cms_origins_when_asked():
    settings = settings_with({"origins": ["https://www.example.com"], "includeSiteOrigin": True})

    assert parse_config(function_config_json(settings, SITE), ARN).cms.origins == ("https://www.example.com", SITE)


def test_an_empty_cms_object_is_refused_rather_than_silently_off():
    with pytest.raises(ConfigError, match=r"^oauth-exchange:cms: is empty; name the CMS admin pages' origins"):
        settings_with({})


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"session": {}}, "oauth-exchange:session: is empty; for session mode with the defaults set it to true"),
        ({"providers": {"github": {"clientId": "Ov23li01", "allow": {}}}}, "oauth-exchange:providers.github.allow: is empty"),
    ],
)
def test_other_empty_objects_are_refused_saying_what_to_put_in_them(values, key):
    with pytest.raises(ConfigError) as raised:
        load_settings({"providers": {"github": {"clientId": "Ov23li01"}}, **values}, {"github"})
    assert str(raised.value).startswith(key)


def test_the_cms_config_yml_values_come_from_the_function_url():
    settings = settings_with({"origins": ["https://www.example.com"]})

    assert cms_base_url(FUNCTION_URL) == "https://abcdef.lambda-url.eu-west-1.on.aws"
    assert cms_callback_urls(settings, FUNCTION_URL) == {
        "github": "https://abcdef.lambda-url.eu-west-1.on.aws/callback/github",
        "gitlab": "https://abcdef.lambda-url.eu-west-1.on.aws/callback/gitlab",
    }


def test_the_signing_keys_join_the_client_secrets_document():
    settings = settings_with({"origins": ["https://www.example.com"]})

    document = client_secrets_json(settings, {"github": "a", "gitlab": "b"}, "k1 k0")

    assert document == '{"_cms_signing_keys": "k1 k0", "github": "a", "gitlab": "b"}'
