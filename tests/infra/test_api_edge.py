"""Session mode's /api/* origin under mocks: what reaches the function, how long CloudFront waits, the edge secret."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from oauth_exchange.api_edge import API_ORIGIN_REQUEST_POLICY, MAX_POLICY_HEADERS, OriginRequestPolicy
from oauth_exchange.secrets_document import EDGE_SECRETS_ENTRY
from oauth_exchange.session_contract import CONTENT_SHA256_HEADER, EDGE_SECRET_HEADER, SESSION_COOKIE
from oauth_exchange.settings import LAMBDA_INIT_SECONDS, MAX_ORIGIN_READ_TIMEOUT, ConfigError
from tests.infra.stack_mocks import Deployment, is_secret, plain_parts, random_password


@pytest.fixture(scope="module")
def session(deploy: Callable[..., Deployment]) -> Deployment:
    return deploy(session=True)


def api_origin(deployment: Deployment) -> dict:
    origins = deployment.one("aws:cloudfront/distribution:Distribution").plain_inputs["origins"]
    (api,) = [origin for origin in origins if origin["originId"] == "session-api"]
    return api


def request_policy(deployment: Deployment) -> dict:
    return deployment.one("aws:cloudfront/originRequestPolicy:OriginRequestPolicy").plain_inputs


def function_timeout(deployment: Deployment) -> int:
    return deployment.one("aws:lambda/function:Function").plain_inputs["timeout"]


def secret_document(deployment: Deployment) -> dict:
    return json.loads(deployment.one("aws:secretsmanager/secretVersion:SecretVersion").plain_inputs["secretString"])


# -- what the origin request policy lets through ----------------------------------------


def test_the_api_policy_forwards_the_body_hash_oac_signs_bodies_with(session):
    policy = request_policy(session)

    headers = policy["headersConfig"]
    assert headers["headerBehavior"] == "whitelist"
    assert CONTENT_SHA256_HEADER in headers["headers"]["items"]
    assert headers["headers"]["items"] == list(API_ORIGIN_REQUEST_POLICY.headers)
    assert policy["cookiesConfig"]["cookies"]["items"] == [SESSION_COOKIE]
    assert policy["queryStringsConfig"]["queryStringBehavior"] == "all"


def test_the_api_policy_stays_within_cloudfronts_header_quota(session):
    assert len(request_policy(session)["headersConfig"]["headers"]["items"]) <= MAX_POLICY_HEADERS


def test_a_policy_over_the_header_quota_is_refused_before_any_deployment():
    eleven = tuple(f"x-header-{n}" for n in range(MAX_POLICY_HEADERS + 1))

    with pytest.raises(ValueError, match="at most 10 headers, not 11"):
        OriginRequestPolicy(headers=eleven, cookies=())
    assert len(OriginRequestPolicy(headers=eleven[:MAX_POLICY_HEADERS], cookies=()).headers) == MAX_POLICY_HEADERS


# -- CloudFront outwaits the function -------------------------------------------------------


@pytest.mark.parametrize("timeout_seconds", [None, 1, 2.5, 11])
def test_cloudfront_waits_longer_than_a_cold_start_plus_the_whole_function_timeout(deploy, timeout_seconds):
    overrides = {} if timeout_seconds is None else {"timeoutSeconds": timeout_seconds}
    deployment = deploy(session=True, **overrides)

    read_timeout = api_origin(deployment)["customOriginConfig"]["originReadTimeout"]
    assert function_timeout(deployment) + LAMBDA_INIT_SECONDS < read_timeout <= MAX_ORIGIN_READ_TIMEOUT


def test_at_the_default_timeout_cloudfront_waits_more_than_its_own_default_of_30_seconds(session):
    assert function_timeout(session) == 30
    assert api_origin(session)["customOriginConfig"]["originReadTimeout"] == 42


@pytest.mark.parametrize("timeout_seconds", [11.5, 12, 30])
def test_a_session_timeout_cloudfront_cannot_outwait_is_refused_at_preview(deploy, timeout_seconds):
    with pytest.raises(ConfigError, match=re.escape("oauth-exchange:timeoutSeconds: in session mode must be at most 11")):
        deploy(session=True, timeoutSeconds=timeout_seconds)


def test_browser_mode_keeps_its_longer_timeouts(deploy):
    assert function_timeout(deploy(timeoutSeconds=30)) == 65


# -- the edge secret ----------------------------------------------------------------------------


def test_the_api_origin_sends_the_edge_secret_the_secret_document_holds(session):
    secret = random_password("oauth-edge-secret-v1")

    assert api_origin(session)["customHeaders"] == [{"name": EDGE_SECRET_HEADER, "value": secret}]
    assert secret_document(session)[EDGE_SECRETS_ENTRY] == secret
    (password,) = session.of_type("random:index/randomPassword:RandomPassword")
    assert password.plain_inputs["length"] >= 64
    assert session.by_urn(password.parent).type == "oauth-exchange:index:EdgeSecret"


def test_the_edge_secret_is_in_no_plaintext_input_output_or_log(session):
    secret = random_password("oauth-edge-secret-v1")

    leaks = [r.name for r in session.resources if any(secret in str(part) for part in plain_parts(r.inputs))]
    assert leaks == []
    distribution = session.one("aws:cloudfront/distribution:Distribution")
    assert is_secret(distribution.inputs["origins"])
    assert all(secret not in json.dumps(value) for value, _ in session.outputs.values())
    assert all(secret not in message for message in session.logs)
    variables = session.one("aws:lambda/function:Function").plain_inputs["environment"]["variables"]
    assert secret not in json.dumps(variables)


def test_the_distribution_sends_a_new_edge_secret_only_after_the_document_holds_it(session):
    version = session.one("aws:secretsmanager/secretVersion:SecretVersion")
    distribution = session.one("aws:cloudfront/distribution:Distribution")

    assert version.urn in distribution.dependencies


def test_bumping_the_edge_secret_version_sends_the_new_one_and_still_accepts_the_previous(deploy):
    rotated = deploy(session={"edgeSecretVersion": 3})

    names = sorted(r.name for r in rotated.of_type("random:index/randomPassword:RandomPassword"))
    assert names == ["oauth-edge-secret-v2", "oauth-edge-secret-v3"]
    assert api_origin(rotated)["customHeaders"] == [{"name": EDGE_SECRET_HEADER, "value": random_password("oauth-edge-secret-v3")}]
    assert secret_document(rotated)[EDGE_SECRETS_ENTRY] == " ".join(
        [random_password("oauth-edge-secret-v3"), random_password("oauth-edge-secret-v2")]
    )


@pytest.mark.parametrize("version", [0, -1, "two", 1.5])
def test_a_bad_edge_secret_version_stops_the_program_naming_the_key(deploy, version):
    with pytest.raises(ConfigError, match=re.escape("oauth-exchange:session.edgeSecretVersion:")):
        deploy(session={"edgeSecretVersion": version})


def test_browser_mode_has_no_edge_secret(deploy):
    browser = deploy()

    assert browser.of_type("random:index/randomPassword:RandomPassword") == []
    assert EDGE_SECRETS_ENTRY not in secret_document(browser)
