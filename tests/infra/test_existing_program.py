"""A second Pulumi program, with a site of its own, adds the exchange from the package (under mocks)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from oauth_exchange.settings import load_settings
from oauth_exchange.spa_config import config_js
from oauth_exchange.pulumi_errors import StackConfigError
from tests.infra.stack_mocks import (
    function_config,
    DISTRIBUTION_DOMAIN,
    FUNCTION_URL_ID,
    TEST_CLIENT_ID,
    TEST_SECRET,
    Deployment,
    is_secret,
    plain_parts,
    run_program,
)

PROGRAM = Path(__file__).resolve().parent / "existing_program" / "__main__.py"
SECRETS_KEY = "my-app:oauthClientSecrets"
CONFIG = {
    "aws:region": "us-east-1",
    "my-app:githubClientId": TEST_CLIENT_ID,
    SECRETS_KEY: json.dumps({"github": TEST_SECRET}),
}
APP_ORIGIN = f"https://{DISTRIBUTION_DOMAIN}"
FUNCTION_URL = f"https://{FUNCTION_URL_ID}.lambda-url.us-east-1.on.aws/"


@pytest.fixture(scope="module")
def existing(monkeypatch_module: pytest.MonkeyPatch) -> Deployment:
    return run_program(CONFIG, (SECRETS_KEY,), program=PROGRAM)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(Path(__file__).resolve().parents[2])  # the project directory: .build/ is cached there
        yield patch


def test_the_programs_own_site_stays_its_own(existing: Deployment) -> None:
    buckets = existing.of_type("aws:s3/bucket:Bucket")
    assert [b.name for b in buckets] == ["app-bucket"]
    assert [d.name for d in existing.of_type("aws:cloudfront/distribution:Distribution")] == ["app-cdn"]
    for resource in (*buckets, existing.one("aws:cloudfront/distribution:Distribution")):
        assert resource.parent.endswith("::pulumi:pulumi:Stack::oauth-exchange-dev")
    assert not existing.of_type("oauth-exchange:index:StaticSite")


def test_the_exchange_is_one_component_with_the_secret_and_the_function(existing: Deployment) -> None:
    auth = existing.one("oauth-exchange:index:OAuthExchange")
    children = {r.type for r in existing.resources if r.parent == auth.urn}
    assert children == {"oauth-exchange:index:ClientSecret", "oauth-exchange:index:ExchangeFunction", "oauth-exchange:index:Monitoring"}


def test_the_function_serves_the_existing_distributions_origin_only(existing: Deployment) -> None:
    cors = existing.one("aws:lambda/functionUrl:FunctionUrl").plain_inputs["cors"]
    assert cors["allowOrigins"] == [APP_ORIGIN]
    config = function_config(existing)
    assert config["allowed_origins"] == [APP_ORIGIN]
    assert config["providers"]["github"]["client_id"] == TEST_CLIENT_ID
    assert config["providers"]["github"]["redirect_uris"] == [f"{APP_ORIGIN}/callback/github"]


def test_the_program_uploads_the_generated_config_js_beside_its_spa(existing: Deployment) -> None:
    upload = existing.one("aws:s3/bucketObjectv2:BucketObjectv2").plain_inputs
    settings = load_settings({"providers": {"github": {"clientId": TEST_CLIENT_ID}}}, {"github"})
    assert upload["key"] == "config.js"
    assert upload["content"] == config_js(settings, FUNCTION_URL)
    exported = re.search(r"export default Object\.freeze\((.*)\);", upload["content"], re.S)[1]
    assert json.loads(exported) == existing.outputs["spaConfig"][0]


def test_outputs_tell_the_program_what_its_spa_needs(existing: Deployment) -> None:
    outputs = {name: value for name, (value, _) in existing.outputs.items()}
    assert outputs["functionUrl"] == FUNCTION_URL
    assert outputs["callbackUrls"] == {"github": [f"{APP_ORIGIN}/callback/github"]}
    assert outputs["connectSrc"] == ["'self'", FUNCTION_URL.rstrip("/"), "https://api.github.com"]


def test_the_client_secret_stays_secret_in_the_second_program(existing: Deployment) -> None:
    version = existing.one("aws:secretsmanager/secretVersion:SecretVersion")
    assert is_secret(version.inputs["secretString"])
    leaks = [r.name for r in existing.resources if any(TEST_SECRET in str(p) for p in plain_parts(r.inputs))]
    assert leaks == []


def test_an_exchange_without_a_site_or_any_origin_is_refused_naming_extra_origins(tmp_path: Path) -> None:
    program = tmp_path / "__main__.py"
    program.write_text(
        "import pulumi\n"
        "from oauth_exchange import OAuthExchange, OAuthExchangeArgs, SiteSettings, load_settings\n"
        "settings = load_settings({'providers': {'github': {'clientId': 'Ov23li01'}}}, {'github'})\n"
        "OAuthExchange('auth', OAuthExchangeArgs(settings=settings, site=SiteSettings(deploy=False),\n"
        "    client_secrets=pulumi.Output.secret({'github': 's'})))\n"
    )
    with pytest.raises(StackConfigError, match=r"^OAuthExchangeArgs.site_origin: site.deploy is false"):
        run_program({"aws:region": "us-east-1"}, (), program=program)
