"""The program as a whole: its components, its outputs, its project files, and how bad config stops it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pulumi
import pytest
import yaml

from infra.client_secret import ClientSecret
from infra.exchange_function import ExchangeFunction
from infra.settings import ConfigError, load_settings
from infra.stack_config import OBJECT_KEYS, SCALAR_KEYS, SECRETS_KEY, read_stack_config
from infra.static_site import StaticSite
from tests.infra.stack_mocks import SECRETS_KEY as SECRETS_KEY_FULL
from tests.infra.stack_mocks import (
    DISTRIBUTION_DOMAIN,
    FUNCTION_URL_ID,
    ROOT,
    TEST_SECRET,
    Deployment,
    config_text,
    project_defaults,
)

COMPONENTS = {
    "oauth-exchange:index:ClientSecret": ClientSecret,
    "oauth-exchange:index:ExchangeFunction": ExchangeFunction,
    "oauth-exchange:index:StaticSite": StaticSite,
}
PROJECT_FILE = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
DEV_STACK_FILE = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())


def test_components_are_component_resources_under_the_stack(dev: Deployment) -> None:
    components = [r for r in dev.resources if r.type in COMPONENTS]
    assert sorted(r.type for r in components) == sorted(COMPONENTS)
    for component in components:
        assert issubclass(COMPONENTS[component.type], pulumi.ComponentResource)
        assert component.parent.endswith("::pulumi:pulumi:Stack::oauth-exchange-dev")


def test_every_cloud_resource_is_parented_to_a_component(dev: Deployment) -> None:
    component_urns = {r.urn for r in dev.resources if r.type in COMPONENTS}
    orphans = [r.name for r in dev.resources if r.type not in COMPONENTS and r.parent not in component_urns]
    assert orphans == []
    by_component = {dev.by_urn(r.parent).type for r in dev.resources if r.type.startswith("aws:")}
    assert by_component == set(COMPONENTS)


def test_outputs_say_where_everything_is(dev: Deployment) -> None:
    site = f"https://{DISTRIBUTION_DOMAIN}"
    values = {name: value for name, (value, _) in dev.outputs.items()}
    assert values == {
        "siteUrl": f"{site}/",
        "functionUrl": f"https://{FUNCTION_URL_ID}.lambda-url.us-east-1.on.aws/",
        "callbackUrls": {"github": [f"{site}/callback/github", "http://localhost:8000/callback/github"]},
        "secretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:client-secret-secret-AbCdEf",
        "bucketName": "site-bucket-7f3a9c",
        "distributionId": "E2QWRUHAPOMQZL",
    }


def test_callback_urls_follow_the_callback_path(deploy: Callable[..., Deployment]) -> None:
    value, _ = deploy(callbackPath="/signin").outputs["callbackUrls"]
    assert value == {"github": [f"https://{DISTRIBUTION_DOMAIN}/signin/github", "http://localhost:8000/signin/github"]}


def test_project_file_declares_every_key_the_program_reads() -> None:
    declared = PROJECT_FILE["config"]
    assert set(declared) == {*OBJECT_KEYS, *SCALAR_KEYS, SECRETS_KEY}
    assert all(entry.get("description") for entry in declared.values())
    assert declared[SECRETS_KEY]["secret"] is True
    assert PROJECT_FILE["name"] == "oauth-exchange"
    assert PROJECT_FILE["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}


def test_project_file_defaults_are_the_settings_defaults() -> None:
    declared = PROJECT_FILE["config"]
    # Objects cannot be defaulted in Pulumi.yaml; an absent session is browser mode.
    assert {key for key, entry in declared.items() if "default" not in entry} == {"providers", SECRETS_KEY, "session"}
    providers = {"github": {"clientId": "x"}}
    pulumi.runtime.set_all_config(
        project_defaults()
        | {"oauth-exchange:providers": config_text(providers), SECRETS_KEY_FULL: config_text({"github": "s"})},
        [SECRETS_KEY_FULL],
    )
    assert read_stack_config().settings == load_settings({"providers": providers}, {"github"})


def test_dev_stack_file_commits_no_secret() -> None:
    config = DEV_STACK_FILE["config"]
    assert "oauth-exchange:clientSecrets" not in config
    assert "secure" not in yaml.safe_dump(DEV_STACK_FILE)
    assert config["aws:region"] == "us-east-1"
    assert config["oauth-exchange:extraOrigins"] == ["http://localhost:8000"]
    assert set(config["oauth-exchange:providers"]) == {"github"}


BAD_CONFIG: list[tuple[str, dict[str, Any], str]] = [
    ("missing client secret", {"clientSecrets": None}, "clientSecrets.github"),
    ("no secret for a provider", {"clientSecrets": {"gitlab": "x"}}, "clientSecrets.github"),
    ("empty client secret", {"clientSecrets": {"github": " "}}, "clientSecrets.github"),
    ("clientSecrets not an object", {"clientSecrets": ["x"]}, "clientSecrets"),
    (
        "secret for an unknown provider",
        {"clientSecrets": {"github": "x", "gitlab": "y"}},
        "clientSecrets.gitlab",
    ),
    ("no providers", {"providers": None}, "providers"),
    ("unknown provider without URLs", {"providers": {"acme": {"clientId": "x"}}}, "providers.acme.authorizeUrl"),
    ("provider without client id", {"providers": {"github": {}}}, "providers.github.clientId"),
    ("wildcard origin", {"extraOrigins": ["*"]}, "extraOrigins[0]"),
    ("wildcard subdomain origin", {"extraOrigins": ["https://*.example.com"]}, "extraOrigins[0]"),
    ("origin with a path", {"extraOrigins": ["https://example.com/app"]}, "extraOrigins[0]"),
    ("origin without a scheme", {"extraOrigins": ["example.com"]}, "extraOrigins[0]"),
    ("plain http origin", {"extraOrigins": ["http://example.com"]}, "extraOrigins[0]"),
    ("origins not a list", {"extraOrigins": "http://localhost:8000"}, "extraOrigins"),
    ("zero timeout", {"timeoutSeconds": 0}, "timeoutSeconds"),
    ("non-numeric timeout", {"timeoutSeconds": "soon"}, "timeoutSeconds"),
    ("too little memory", {"memorySize": 64}, "memorySize"),
    ("zero reserved concurrency", {"reservedConcurrency": 0}, "reservedConcurrency"),
    ("retention CloudWatch refuses", {"logRetentionDays": 42}, "logRetentionDays"),
    ("unknown price class", {"priceClass": "PriceClass_Cheap"}, "priceClass"),
    ("callback path without slash", {"callbackPath": "callback"}, "callbackPath"),
    ("malformed region", {"aws:region": "moon-base"}, "aws:region"),
]


@pytest.mark.parametrize(("case", "overrides", "key"), BAD_CONFIG, ids=[case for case, _, _ in BAD_CONFIG])
def test_bad_config_stops_the_program_naming_the_key(
    deploy: Callable[..., Deployment], case: str, overrides: dict[str, Any], key: str
) -> None:
    prefix = "" if ":" in key else "oauth-exchange:"
    with pytest.raises(ConfigError, match=re.escape(f"{prefix}{key}:")) as raised:
        deploy(**overrides)
    assert TEST_SECRET not in str(raised.value)


def test_client_secrets_in_plaintext_config_are_refused(deploy: Callable[..., Deployment]) -> None:
    with pytest.raises(ConfigError, match=re.escape("oauth-exchange:clientSecrets:")) as raised:
        deploy(secret_keys=())
    assert TEST_SECRET not in str(raised.value)
