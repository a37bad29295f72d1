"""CMS popup mode in the program: routes only when configured, a generated signing key that stays secret."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from oauth_exchange.client_secret import ClientSecret
from oauth_exchange.component import OAuthExchange
from oauth_exchange.cms_signing_key import CmsSigningKey
from oauth_exchange.exchange_function import ExchangeFunction
from oauth_exchange.secrets_document import CMS_SIGNING_KEYS_ENTRY
from oauth_exchange.settings import ConfigError
from oauth_exchange.static_site import StaticSite
from oauth_exchange.monitoring import Monitoring
from tests.infra.stack_mocks import (
    function_config,
    DISTRIBUTION_DOMAIN,
    FUNCTION_URL_ID,
    TEST_SECRET,
    Deployment,
    is_secret,
    plain_parts,
    random_password,
)

CMS = {"origins": ["https://www.example.com"]}
FUNCTION_ORIGIN = f"https://{FUNCTION_URL_ID}.lambda-url.us-east-1.on.aws"
COMPONENTS = {
    "oauth-exchange:index:ClientSecret": ClientSecret,
    "oauth-exchange:index:CmsSigningKey": CmsSigningKey,
    "oauth-exchange:index:ExchangeFunction": ExchangeFunction,
    "oauth-exchange:index:StaticSite": StaticSite,
    "oauth-exchange:index:Monitoring": Monitoring,
    "oauth-exchange:index:OAuthExchange": OAuthExchange,
}


def oauth_config(deployment: Deployment) -> dict:
    return function_config(deployment)


def secret_document(deployment: Deployment) -> dict:
    return json.loads(deployment.one("aws:secretsmanager/secretVersion:SecretVersion").plain_inputs["secretString"])


@pytest.fixture(scope="module")
def with_cms(deploy: Callable[..., Deployment]) -> Deployment:
    return deploy(cms=CMS)


def test_without_cms_config_there_are_no_cms_routes_key_or_outputs(dev: Deployment) -> None:
    assert "cms" not in oauth_config(dev)
    assert dev.of_type("oauth-exchange:index:CmsSigningKey") == []
    assert dev.of_type("random:index/randomPassword:RandomPassword") == []
    assert set(secret_document(dev)) == {"github"}
    assert not [name for name in dev.outputs if name.startswith("cms")]


def test_with_cms_config_the_function_serves_the_cms_origins_and_providers(with_cms: Deployment) -> None:
    assert oauth_config(with_cms)["cms"] == {
        "origins": ["https://www.example.com"],
        "providers": {"github": {"authorize_url": "https://github.com/login/oauth/authorize", "scopes": ["repo", "user"], "required_scopes": []}},
        "callback_origin": None,
    }


def test_the_outputs_give_the_cms_its_base_url_auth_endpoint_and_the_callback_to_register(with_cms: Deployment) -> None:
    outputs = {name: value for name, (value, _) in with_cms.outputs.items() if name.startswith("cms")}

    assert outputs == {
        "cmsBaseUrl": FUNCTION_ORIGIN,
        "cmsAuthEndpoint": "auth",
        "cmsCallbackUrls": {"github": f"{FUNCTION_ORIGIN}/callback/github"},
    }


def test_the_signing_key_is_generated_at_deploy_time_into_the_secret_document(with_cms: Deployment) -> None:
    (password,) = with_cms.of_type("random:index/randomPassword:RandomPassword")
    assert password.plain_inputs["length"] >= 64
    assert password.plain_inputs["special"] is False
    assert with_cms.by_urn(password.parent).type == "oauth-exchange:index:CmsSigningKey"
    version = with_cms.one("aws:secretsmanager/secretVersion:SecretVersion")
    assert is_secret(version.inputs["secretString"])
    assert secret_document(with_cms) == {"github": TEST_SECRET, CMS_SIGNING_KEYS_ENTRY: random_password(password.name)}


def test_the_signing_key_is_in_no_plaintext_input_no_output_and_no_log(with_cms: Deployment) -> None:
    (password,) = with_cms.of_type("random:index/randomPassword:RandomPassword")
    key = random_password(password.name)
    leaks = [r.name for r in with_cms.resources if any(key in str(part) for part in plain_parts(r.inputs))]
    assert leaks == []
    for name, (value, secret) in with_cms.outputs.items():
        assert key not in json.dumps(value), name
        assert not secret, f"{name} is needlessly secret"
    assert all(key not in message for message in with_cms.logs)
    assert key not in json.dumps(oauth_config(with_cms))


def test_every_resource_is_parented_to_a_component(with_cms: Deployment) -> None:
    component_urns = {r.urn for r in with_cms.resources if r.type in COMPONENTS}
    orphans = [r.name for r in with_cms.resources if r.parent not in component_urns]
    assert orphans == ["oauth"], "everything but the whole is parented to a component"
    assert {r.type for r in with_cms.resources if r.type in COMPONENTS} == set(COMPONENTS)


def test_bumping_the_signing_key_version_adds_a_key_and_keeps_the_previous_one(deploy: Callable[..., Deployment]) -> None:
    rotated = deploy(cms={**CMS, "signingKeyVersion": 3})

    names = sorted(r.name for r in rotated.of_type("random:index/randomPassword:RandomPassword"))
    assert names == ["oauth-cms-signing-key-v2", "oauth-cms-signing-key-v3"]
    assert secret_document(rotated)[CMS_SIGNING_KEYS_ENTRY] == " ".join(
        [random_password("oauth-cms-signing-key-v3"), random_password("oauth-cms-signing-key-v2")]
    )


def test_the_sites_own_origin_can_host_the_cms(deploy: Callable[..., Deployment]) -> None:
    deployment = deploy(cms={"includeSiteOrigin": True})

    assert oauth_config(deployment)["cms"]["origins"] == [f"https://{DISTRIBUTION_DOMAIN}"]


def test_github_enterprise_signs_in_at_its_own_authorize_url(deploy: Callable[..., Deployment]) -> None:
    enterprise = {
        "clientId": "Iv1.ghe",
        "authorizeUrl": "https://github.corp.example/login/oauth/authorize",
        "tokenUrl": "https://github.corp.example/login/oauth/access_token",
        "revokeUrl": "https://github.corp.example/api/v3/applications/{client_id}/token",
        "userInfoUrl": "https://github.corp.example/api/v3/user",
    }
    deployment = deploy(providers={"github": enterprise}, cms=CMS)

    config = oauth_config(deployment)
    assert config["cms"]["providers"]["github"]["authorize_url"] == enterprise["authorizeUrl"]
    assert config["providers"]["github"]["token_url"] == enterprise["tokenUrl"]


BAD_CMS: list[tuple[str, object, str]] = [
    ("not an object", "yes", "cms"),
    ("no origins", {"providers": ["github"]}, "cms.origins"),
    ("wildcard origin", {"origins": ["*"]}, "cms.origins[0]"),
    ("wildcard subdomain", {"origins": ["https://*.example.com"]}, "cms.origins[0]"),
    ("origin with a path", {"origins": ["https://www.example.com/admin/"]}, "cms.origins[0]"),
    ("plain http origin", {"origins": ["http://www.example.com"]}, "cms.origins[0]"),
    ("unknown provider", {**CMS, "providers": ["gitlab"]}, "cms.providers.gitlab"),
    ("scope with a comma", {**CMS, "providers": {"github": {"scopes": ["repo,user"]}}}, "cms.providers.github.scopes"),
    ("empty scopes", {**CMS, "providers": {"github": {"scopes": []}}}, "cms.providers.github.scopes"),
    ("unknown setting", {**CMS, "origin": "x"}, "cms.origin"),
    ("zero key version", {**CMS, "signingKeyVersion": 0}, "cms.signingKeyVersion"),
]


@pytest.mark.parametrize(("case", "cms", "key"), BAD_CMS, ids=[case for case, _, _ in BAD_CMS])
def test_bad_cms_config_stops_the_program_naming_the_key(
    deploy: Callable[..., Deployment], case: str, cms: object, key: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"oauth-exchange:{key}:")):
        deploy(cms=cms)


def test_a_custom_provider_needs_its_cms_scopes_named(deploy: Callable[..., Deployment]) -> None:
    corp = {"clientId": "x", "authorizeUrl": "https://sso.corp.example/a", "tokenUrl": "https://sso.corp.example/t"}
    with pytest.raises(ConfigError, match=re.escape("oauth-exchange:cms.providers.corp.scopes:")):
        deploy(providers={"corp": corp}, clientSecrets={"corp": "s"}, cms={**CMS, "providers": ["corp"]})
