"""Session mode under mocks: /api/* through OAC to an AWS_IAM function URL, the session table, the optional WAF."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable

import pytest

from oauth_exchange.session_edge import CACHING_DISABLED_POLICY_ID, SPA_ROUTES_FUNCTION, VIEWER_ORIGIN_FUNCTION
from oauth_exchange.session_contract import API_FORWARDED_HEADERS, SESSION_COOKIE, SITE_ORIGIN_HEADER
from oauth_exchange.settings import ConfigError
from tests.infra.stack_mocks import ACCOUNT_ID, DISTRIBUTION_DOMAIN, DISTRIBUTION_ID, FUNCTION_URL_ID, Deployment, function_config

SITE = f"https://{DISTRIBUTION_DOMAIN}"
DISTRIBUTION_ARN = f"arn:aws:cloudfront::{ACCOUNT_ID}:distribution/{DISTRIBUTION_ID}"
FUNCTION_HOST = f"{FUNCTION_URL_ID}.lambda-url.us-east-1.on.aws"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TABLE_NAME = "oauth-sessions-table-20251129"
TABLE_ARN = f"arn:aws:dynamodb:us-east-1:{ACCOUNT_ID}:table/{TABLE_NAME}"


@pytest.fixture(scope="module")
def session(deploy: Callable[..., Deployment]) -> Deployment:
    return deploy(session={"idleMinutes": 60, "maxHours": 24})


@pytest.fixture(scope="module")
def limited(deploy: Callable[..., Deployment]) -> Deployment:
    return deploy(session=True, rateLimit=600)


def distribution(deployment: Deployment) -> dict:
    return deployment.one("aws:cloudfront/distribution:Distribution").plain_inputs


def function_env(deployment: Deployment) -> dict:
    return deployment.one("aws:lambda/function:Function").plain_inputs["environment"]["variables"]


def statements(policy: str) -> list[dict]:
    return json.loads(policy)["Statement"]


def cloudfront_function(deployment: Deployment, code: str) -> tuple[str, dict]:
    (found,) = [r for r in deployment.of_type("aws:cloudfront/function:Function") if r.plain_inputs["code"] == code]
    return found.name, found.plain_inputs


# -- the edge -----------------------------------------------------------------------


def test_api_paths_go_to_the_function_url_through_origin_access_control_for_lambda(session):
    origins = {o["originId"]: o for o in distribution(session)["origins"]}
    api = origins["session-api"]
    assert api["domainName"] == FUNCTION_HOST
    assert api["customOriginConfig"]["originProtocolPolicy"] == "https-only"
    oacs = {r.name: r.plain_inputs for r in session.of_type("aws:cloudfront/originAccessControl:OriginAccessControl")}
    lambda_oac = oacs["oauth-edge-oac"]
    assert lambda_oac["originAccessControlOriginType"] == "lambda"
    assert lambda_oac["signingBehavior"] == "always"
    assert lambda_oac["signingProtocol"] == "sigv4"
    assert api["originAccessControlId"] == "oauth-edge-oac-id"


def test_the_api_behaviour_caches_nothing_and_never_redirects(session):
    (behaviour,) = distribution(session)["orderedCacheBehaviors"]
    assert behaviour["pathPattern"] == "/api/*"
    assert behaviour["targetOriginId"] == "session-api"
    assert behaviour["viewerProtocolPolicy"] == "https-only"
    assert behaviour["cachePolicyId"] == CACHING_DISABLED_POLICY_ID
    assert set(behaviour["allowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"}
    assert behaviour["originRequestPolicyId"] == "oauth-edge-api-requests-id"
    (association,) = behaviour["functionAssociations"]
    name, function = cloudfront_function(session, VIEWER_ORIGIN_FUNCTION)
    assert association == {"eventType": "viewer-request", "functionArn": f"arn:aws:cloudfront::{ACCOUNT_ID}:function/{name}-20251129"}
    assert function["runtime"] == "cloudfront-js-2.0"
    assert function["publish"] is True


def test_only_the_session_cookie_the_query_and_the_needed_headers_reach_the_function(session):
    policy = session.one("aws:cloudfront/originRequestPolicy:OriginRequestPolicy").plain_inputs
    assert policy["cookiesConfig"] == {"cookieBehavior": "whitelist", "cookies": {"items": [SESSION_COOKIE]}}
    assert policy["queryStringsConfig"] == {"queryStringBehavior": "all"}
    headers = policy["headersConfig"]
    assert headers["headerBehavior"] == "whitelist"
    assert headers["headers"]["items"] == list(API_FORWARDED_HEADERS)
    # Host must stay the function URL's (OAC signs for it); the browser's Authorization is never passed.
    for never in ("host", "authorization", "cookie", "x-forwarded-for"):
        assert never not in headers["headers"]["items"]


def test_the_api_errors_reach_the_spa_and_app_routes_still_load_the_app(session, dev):
    site = distribution(session)
    assert not site.get("customErrorResponses")
    (association,) = site["defaultCacheBehavior"]["functionAssociations"]
    assert association["eventType"] == "viewer-request"
    name, _ = cloudfront_function(session, SPA_ROUTES_FUNCTION)
    assert association["functionArn"].endswith(f"function/{name}-20251129")
    browser_mode = distribution(dev)
    assert {r["errorCode"] for r in browser_mode["customErrorResponses"]} == {403, 404}
    assert "functionAssociations" not in browser_mode["defaultCacheBehavior"]
    assert "orderedCacheBehaviors" not in browser_mode


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the CloudFront Functions' JavaScript")
def test_the_cloudfront_functions_do_what_they_say():
    run = """
const handler = new Function(process.argv[1] + "; return handler;")();
const viewer = {request: {uri: "/api/session", headers: {host: {value: "d1234.cloudfront.net"},
                "%s": {value: "https://evil.example"}}}};
const spa = (uri) => handler({request: {uri, headers: {}}}).uri;
if (process.argv[2] === "viewer") console.log(JSON.stringify(handler(viewer).headers));
else console.log(JSON.stringify(["/", "/callback/github", "/app.js", "/favicon.svg", "/deep/route"].map(spa)));
""" % SITE_ORIGIN_HEADER
    viewer = subprocess.run(["node", "-e", run, VIEWER_ORIGIN_FUNCTION, "viewer"], capture_output=True, text=True, check=True)
    assert json.loads(viewer.stdout)[SITE_ORIGIN_HEADER] == {"value": "https://d1234.cloudfront.net"}
    spa = subprocess.run(["node", "-e", run, SPA_ROUTES_FUNCTION, "spa"], capture_output=True, text=True, check=True)
    assert json.loads(spa.stdout) == ["/index.html", "/index.html", "/app.js", "/favicon.svg", "/index.html"]


# -- the function URL --------------------------------------------------------------------


def test_the_function_url_needs_iam_and_has_no_cors(session):
    url = session.one("aws:lambda/functionUrl:FunctionUrl").plain_inputs
    assert url["authorizationType"] == "AWS_IAM"
    assert "cors" not in url


def test_only_cloudfront_for_this_distribution_may_invoke_it(session):
    permissions = sorted(
        (p.plain_inputs for p in session.of_type("aws:lambda/permission:Permission")), key=lambda p: p["action"]
    )
    assert [p["action"] for p in permissions] == ["lambda:InvokeFunction", "lambda:InvokeFunctionUrl"]
    invoke, invoke_url = permissions
    for permission in permissions:
        assert permission["principal"] == "cloudfront.amazonaws.com"
        assert permission["sourceArn"] == DISTRIBUTION_ARN
    assert invoke["invokedViaFunctionUrl"] is True
    assert invoke_url["functionUrlAuthType"] == "AWS_IAM"


def test_the_function_learns_the_site_origin_per_request(session):
    config = function_config(session)
    assert config["session"]["origins"] == []
    assert config["session"]["origin_header"] == SITE_ORIGIN_HEADER
    assert config["session"]["idle_seconds"] == 3600
    assert config["session"]["max_seconds"] == 24 * 3600
    assert config["session"]["providers"]["github"]["callback_path"] == "/callback/github"
    assert config["session"]["providers"]["github"]["api_paths"] == [{"methods": ["GET"], "prefix": "/user"}]
    assert function_env(session)["OAUTH_SESSION_TABLE"] == TABLE_NAME


def test_config_js_sends_the_spa_to_its_own_api(session):
    objects = {o.plain_inputs["key"]: o.plain_inputs for o in session.of_type("aws:s3/bucketObjectv2:BucketObjectv2")}
    config = json.loads(re.search(r"freeze\((.*)\);", objects["config.js"]["content"], re.S).group(1))
    assert config["mode"] == "session"
    assert config["functionUrl"] == SITE + "/api"
    assert config["session"] == {"apiPath": "/api", "csrfHeader": "X-OAuth-Exchange", "exposeAccessToken": False}
    assert FUNCTION_HOST not in objects["config.js"]["content"]
    assert 'content="connect-src \'self\'"' in objects["index.html"]["content"]


def test_the_site_csp_connects_only_to_itself(session):
    policy = session.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy").plain_inputs
    csp = policy["securityHeadersConfig"]["contentSecurityPolicy"]["contentSecurityPolicy"]
    assert "connect-src 'self';" in csp


# -- the table, the key, the role ---------------------------------------------------------


def test_the_table_is_on_demand_with_ttl_and_the_stacks_key(session):
    table = session.one("aws:dynamodb/table:Table").plain_inputs
    assert table["billingMode"] == "PAY_PER_REQUEST"
    assert table["hashKey"] == "id"
    assert table["attributes"] == [{"name": "id", "type": "S"}]
    assert table["ttl"] == {"attributeName": "expires_at", "enabled": True}
    assert table["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": KEY_ARN}


def test_the_key_serves_dynamodb_only_in_session_mode(session, dev):
    key_statements = statements(session.one("aws:kms/key:Key").plain_inputs["policy"])
    (dynamodb,) = [s for s in key_statements if s["Sid"] == "UseOnlyThroughDynamoDB"]
    assert dynamodb["Condition"]["StringEquals"] == {
        "kms:ViaService": "dynamodb.us-east-1.amazonaws.com",
        "kms:CallerAccount": ACCOUNT_ID,
    }
    (secrets_manager,) = [s for s in key_statements if s["Sid"] == "UseOnlyThroughSecretsManager"]
    assert secrets_manager["Condition"]["StringEquals"]["kms:ViaService"] == "secretsmanager.us-east-1.amazonaws.com"
    browser_sids = {s["Sid"] for s in statements(dev.one("aws:kms/key:Key").plain_inputs["policy"])}
    assert browser_sids == {"AccountAdministersTheKey", "UseOnlyThroughSecretsManager"}


def test_the_role_reads_and_writes_only_its_table_and_decrypts_only_through_dynamodb(session):
    role = statements(session.one("aws:iam/rolePolicy:RolePolicy").plain_inputs["policy"])
    (table,) = [s for s in role if s["Sid"] == "ReadWriteSessions"]
    assert table["Resource"] == TABLE_ARN
    assert sorted(table["Action"]) == ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    (decrypt,) = [s for s in role if s["Sid"] == "DecryptSessions"]
    assert decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Resource"] == KEY_ARN
    assert decrypt["Condition"] == {
        "StringEquals": {
            "kms:ViaService": "dynamodb.us-east-1.amazonaws.com",
            "kms:EncryptionContext:aws:dynamodb:tableName": TABLE_NAME,
        }
    }
    resources = [r for s in role for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])]
    assert not any("*" in r and not r.endswith(":*") for r in resources)
    assert not any(a.startswith("dynamodb:") for s in role if s["Sid"] != "ReadWriteSessions" for a in s["Action"])


def test_outputs_name_the_table(session):
    values = {name: value for name, (value, _) in session.outputs.items()}
    assert values["sessionTable"] == TABLE_NAME
    assert values["siteUrl"] == SITE + "/"
    assert values["callbackUrls"]["github"][0] == SITE + "/callback/github"


def test_every_resource_is_parented_to_a_component(session, limited):
    for deployment in (session, limited):
        components = {r.urn for r in deployment.resources if r.type.startswith("oauth-exchange:index:")}
        orphans = [r.name for r in deployment.resources if r.urn not in components and r.parent not in components]
        assert orphans == []


# -- the abuse limit -------------------------------------------------------------------


def test_no_web_acl_unless_rate_limit_is_set(session, dev):
    for deployment in (session, dev):
        assert deployment.of_type("aws:wafv2/webAcl:WebAcl") == []
        assert "webAclId" not in distribution(deployment)


def test_rate_limit_blocks_an_ip_over_the_limit_on_api_paths_at_the_edge(limited):
    acl_resource = limited.one("aws:wafv2/webAcl:WebAcl")
    acl = acl_resource.plain_inputs
    assert acl["scope"] == "CLOUDFRONT"
    assert acl["defaultAction"] == {"allow": {}}
    (rule,) = acl["rules"]
    assert rule["action"] == {"block": {}}
    rate = rule["statement"]["rateBasedStatement"]
    assert rate["limit"] == 600
    assert rate["aggregateKeyType"] == "IP"
    assert rate["evaluationWindowSec"] == 300
    match = rate["scopeDownStatement"]["byteMatchStatement"]
    assert match["positionalConstraint"] == "STARTS_WITH"
    assert match["searchString"] == "/api/"
    assert match["fieldToMatch"] == {"uriPath": {}}
    assert acl["region"] == "us-east-1"
    assert limited.of_type("pulumi:providers:aws") == []
    assert acl_resource.provider == ""
    assert distribution(limited)["webAclId"].startswith("arn:aws:wafv2:us-east-1:")


def test_the_web_acl_is_in_us_east_1_through_the_stacks_own_provider_whatever_its_region(deploy):
    elsewhere = deploy(session=True, rateLimit=600, **{"aws:region": "eu-west-1"})

    acl = elsewhere.one("aws:wafv2/webAcl:WebAcl")
    assert acl.plain_inputs["region"] == "us-east-1"
    assert acl.provider == ""
    assert elsewhere.of_type("pulumi:providers:aws") == []
    assert distribution(elsewhere)["webAclId"].startswith("arn:aws:wafv2:us-east-1:")
    assert elsewhere.one("aws:lambda/function:Function").plain_inputs.get("region") is None


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"rateLimit": 600}, "rateLimit"),
        ({"session": True, "rateLimit": 5}, "rateLimit"),
        ({"session": {"idleMinutes": 2}}, "session.idleMinutes"),
        ({"session": {"maxHours": 5000}}, "session.maxHours"),
        ({"session": {"lifetime": 5}}, "session.lifetime"),
        ({"session": "sometimes"}, "session"),
        ({"providers": {"github": {"clientId": "x", "apiPaths": ["GET /../admin"]}}}, "providers.github.apiPaths[0]"),
    ],
)
def test_bad_session_config_stops_the_program_naming_the_key(deploy, overrides, key):
    with pytest.raises(ConfigError, match=re.escape(f"oauth-exchange:{key}:")):
        deploy(**overrides)


def test_the_lambda_timeout_leaves_room_for_a_refresh_before_the_proxied_call(session, dev):
    http_timeout = function_config(session)["timeout_seconds"]
    timeout = session.one("aws:lambda/function:Function").plain_inputs["timeout"]
    assert timeout >= 3 * http_timeout + 10
    assert timeout > dev.one("aws:lambda/function:Function").plain_inputs["timeout"]
