"""The program as a whole: its components, its outputs, its project files, and how bad config stops it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pulumi
import pytest
import yaml

from oauth_exchange.client_secret import ClientSecret
from oauth_exchange.component import OAuthExchange
from oauth_exchange.exchange_function import ExchangeFunction
from oauth_exchange.settings import ConfigError, load_settings
from oauth_exchange.site_settings import SiteSettings
from oauth_exchange.pulumi_errors import StackConfigError
from oauth_exchange.stack_config import read_stack_config
from oauth_exchange.stack_values import SECRETS_KEY, SITE_OBJECT_KEYS, known_keys
from oauth_exchange.static_site import StaticSite
from oauth_exchange.monitoring import Monitoring
from oauth_exchange.monitoring_settings import MonitoringSettings
from tests.infra.stack_mocks import SECRETS_KEY as SECRETS_KEY_FULL
from tests.infra.stack_mocks import (
    DISTRIBUTION_DOMAIN,
    FUNCTION_URL_ID,
    ROOT,
    TEST_CLIENT_ID,
    TEST_SECRET,
    Deployment,
    committed_config,
    config_text,
    project_defaults,
    run_program,
)

COMPONENTS = {
    "oauth-exchange:index:ClientSecret": ClientSecret,
    "oauth-exchange:index:ExchangeFunction": ExchangeFunction,
    "oauth-exchange:index:StaticSite": StaticSite,
    "oauth-exchange:index:Monitoring": Monitoring,
}
PROJECT_FILE = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
DEV_STACK_FILE = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())


def test_the_program_is_one_oauth_exchange_composing_its_components(dev: Deployment) -> None:
    whole = dev.one("oauth-exchange:index:OAuthExchange")
    assert issubclass(OAuthExchange, pulumi.ComponentResource)
    assert whole.parent.endswith("::pulumi:pulumi:Stack::oauth-exchange-dev")
    components = [r for r in dev.resources if r.type in COMPONENTS]
    assert sorted(r.type for r in components) == sorted(COMPONENTS)
    for component in components:
        assert issubclass(COMPONENTS[component.type], pulumi.ComponentResource)
        assert component.parent == whole.urn


def test_every_cloud_resource_is_parented_to_a_component(dev: Deployment) -> None:
    component_urns = {r.urn for r in dev.resources if r.type in COMPONENTS}
    orphans = [r.name for r in dev.resources if r.type.startswith("aws:") and r.parent not in component_urns]
    assert orphans == []
    by_component = {dev.by_urn(r.parent).type for r in dev.resources if r.type.startswith("aws:")}
    assert by_component == set(COMPONENTS)


def test_outputs_say_where_everything_is(dev: Deployment) -> None:
    site = f"https://{DISTRIBUTION_DOMAIN}"
    function_url = f"https://{FUNCTION_URL_ID}.lambda-url.us-east-1.on.aws/"
    values = {name: value for name, (value, _) in dev.outputs.items()}
    assert values == {
        "siteUrl": f"{site}/",
        "functionUrl": function_url,
        "callbackUrls": {"github": [f"{site}/callback/github", "http://localhost:8000/callback/github"]},
        "secretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:oauth-client-secret-secret-AbCdEf",
        "bucketName": "oauth-site-bucket-7f3a9c",
        "distributionId": "E2QWRUHAPOMQZL",
        "distributionDomain": DISTRIBUTION_DOMAIN,
        "spaConfig": values["spaConfig"],
        "dashboardUrl": "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/oauth-exchange-dev",
        "alarmTopicArn": "arn:aws:sns:us-east-1:123456789012:oauth-monitoring-alarms-20251129",
    }
    assert values["spaConfig"]["functionUrl"] == function_url.rstrip("/")
    assert [p["clientId"] for p in values["spaConfig"]["providers"]] == [TEST_CLIENT_ID]


def test_spa_config_output_is_the_json_config_js_exports(dev: Deployment) -> None:
    config_js = next(
        o.plain_inputs["content"]
        for o in dev.of_type("aws:s3/bucketObjectv2:BucketObjectv2")
        if o.plain_inputs["key"] == "config.js"
    )
    exported = re.fullmatch(r"(?s)//[^\n]*\nexport default Object\.freeze\((.*)\);\n", config_js)[1]
    assert json.loads(exported) == dev.outputs["spaConfig"][0]


def test_callback_urls_follow_the_callback_path(deploy: Callable[..., Deployment]) -> None:
    value, _ = deploy(callbackPath="/signin").outputs["callbackUrls"]
    assert value == {"github": [f"https://{DISTRIBUTION_DOMAIN}/signin/github", "http://localhost:8000/signin/github"]}


def test_project_file_declares_every_key_the_program_reads() -> None:
    declared = PROJECT_FILE["config"]
    assert set(declared) == set(known_keys())
    assert all(entry.get("description") for entry in declared.values())
    assert declared[SECRETS_KEY]["secret"] is True
    assert PROJECT_FILE["name"] == "oauth-exchange"
    assert PROJECT_FILE["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}


def test_project_file_defaults_are_the_settings_defaults() -> None:
    declared = PROJECT_FILE["config"]
    # Objects cannot be defaulted in Pulumi.yaml; an absent session is browser mode.
    objects = {"providers", SECRETS_KEY, "cms", "session", "alarms", *SITE_OBJECT_KEYS}
    assert {key for key, entry in declared.items() if "default" not in entry} == objects
    providers = {"github": {"clientId": "x"}}
    pulumi.runtime.set_all_config(
        project_defaults()
        | {"oauth-exchange:providers": config_text(providers), SECRETS_KEY_FULL: config_text({"github": "s"})},
        [SECRETS_KEY_FULL],
    )
    read = read_stack_config()
    assert read.settings == load_settings({"providers": providers}, {"github"})
    assert read.site == SiteSettings()
    assert read.monitoring == MonitoringSettings()


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
    ("misspelt key", {"customDomian": {"domain": "app.example.com"}}, "customDomian"),
    ("misspelt scalar key", {"extraOrigin": "https://app.example.com"}, "extraOrigin"),
    (
        "placeholder client id",
        {"providers": {"github": {"clientId": "Iv1.replace-with-your-client-id"}}},
        "providers.github.clientId",
    ),
    ("deploySite not a boolean", {"deploySite": "maybe"}, "deploySite"),
    ("custom domain without zone or certificate", {"customDomain": {"domain": "app.example.com"}}, "customDomain"),
    ("CSP directive that cannot be widened", {"contentSecurityPolicy": {"frameSrc": ["https://x.example.com"]}}, "contentSecurityPolicy.frameSrc"),
]


@pytest.mark.parametrize(("case", "overrides", "key"), BAD_CONFIG, ids=[case for case, _, _ in BAD_CONFIG])
def test_bad_config_stops_the_program_naming_the_key(
    deploy: Callable[..., Deployment], case: str, overrides: dict[str, Any], key: str
) -> None:
    prefix = "" if ":" in key else "oauth-exchange:"
    with pytest.raises(StackConfigError, match="^" + re.escape(f"{prefix}{key}: ")) as raised:
        deploy(**overrides)
    assert isinstance(raised.value, pulumi.RunError) and isinstance(raised.value, ConfigError)
    assert TEST_SECRET not in str(raised.value)


def test_client_secrets_in_plaintext_config_are_refused(deploy: Callable[..., Deployment]) -> None:
    with pytest.raises(ConfigError, match=re.escape("oauth-exchange:clientSecrets:")) as raised:
        deploy(secret_keys=())
    assert TEST_SECRET not in str(raised.value)


PROD_EXAMPLE = yaml.safe_load((ROOT / "Pulumi.prod.yaml.example").read_text())["config"]


def _prod_config(**changes: Any) -> dict[str, str]:
    values = project_defaults() | {key: config_text(value) for key, value in PROD_EXAMPLE.items()}
    values[SECRETS_KEY_FULL] = config_text({"github": TEST_SECRET})
    values.update({key: config_text(value) for key, value in changes.items()})
    return values


def test_the_prod_example_is_refused_until_its_own_client_id_is_set() -> None:
    with pytest.raises(StackConfigError, match=r"^oauth-exchange:providers\.github\.clientId: is still the placeholder"):
        run_program(_prod_config())


def test_the_prod_example_serves_its_own_domain_only() -> None:
    providers = {"github": {"clientId": "Ov23liProdApp0123456"}}
    prod = run_program(_prod_config(**{"oauth-exchange:providers": providers}))
    cors = prod.one("aws:lambda/functionUrl:FunctionUrl").plain_inputs["cors"]
    assert cors["allowOrigins"] == ["https://app.example.com"]
    callbacks, _ = prod.outputs["callbackUrls"]
    assert callbacks == {"github": ["https://app.example.com/callback/github"]}
    assert prod.one("aws:cloudfront/distribution:Distribution").plain_inputs["aliases"] == ["app.example.com"]
    assert "oauth-exchange:extraOrigins" not in PROD_EXAMPLE
