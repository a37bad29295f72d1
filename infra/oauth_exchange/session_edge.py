"""Session mode at the edge: the site's distribution serves ``/api/*`` from the function URL, signed by OAC.

The function URL's auth is ``AWS_IAM`` and its resource policy admits only
CloudFront on behalf of this distribution. That alone does not make the
distribution the only caller: a principal of the same account whose own
IAM policy grants ``lambda:InvokeFunctionUrl`` (an admin or CI role) may call
the URL and set any header. So the origin also adds ``EDGE_SECRET_HEADER``, a
random value generated at deploy time (``EdgeSecret``) and kept in the secret
document, which the function checks before it trusts the site origin the
distribution reports (a CloudFront Function copies the viewer's ``Host``).

The ``/api/*`` behaviour caches nothing and forwards only what
``API_ORIGIN_REQUEST_POLICY`` lists: the session cookie, the query and the
headers the function reads, ``x-amz-content-sha256`` among them, since
origin access control signs a request body only with the viewer's payload
hash (``oauth.js`` sends it). The origin's response timeout outwaits the
function's worst case (``Settings.api_origin_read_timeout_seconds``). Session mode also replaces the site's 403/404 ->
``index.html`` error mapping (distribution-wide, it would turn the API's own
403 and 404 answers into the SPA) with a viewer-request function that
serves ``index.html`` for app routes.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import pulumi
import pulumi_aws as aws

from oauth_exchange.api_edge import API_ORIGIN_REQUEST_POLICY
from oauth_exchange.exchange_function import function_url_permissions
from oauth_exchange.session_contract import API_METHODS, API_PATH, EDGE_SECRET_HEADER, SITE_ORIGIN_HEADER
from oauth_exchange.settings import Settings

CACHING_DISABLED_POLICY_ID = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
"""AWS's managed CachingDisabled cache policy."""
API_ORIGIN_ID = "session-api"
FUNCTION_RUNTIME = "cloudfront-js-2.0"
ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
"""What CloudFront can allow on a behaviour; the function answers 405 for what a route does not take."""
if not set(API_METHODS) <= set(ALL_METHODS):
    raise AssertionError("the proxy's methods must all reach the function")

VIEWER_ORIGIN_FUNCTION = f"""\
// oauth-exchange: tell the session function which site origin the viewer is on.
// Runs on every {API_PATH}/ request and replaces whatever the viewer sent in the header.
function handler(event) {{
  var request = event.request;
  request.headers["{SITE_ORIGIN_HEADER}"] = {{ value: "https://" + request.headers.host.value }};
  return request;
}}
"""

SPA_ROUTES_FUNCTION = """\
// oauth-exchange: serve index.html for app routes (a last path segment without a dot),
// such as /callback/github; files keep their paths.
function handler(event) {
  var request = event.request;
  var last = request.uri.split("/").pop();
  if (last.indexOf(".") === -1) {
    request.uri = "/index.html";
  }
  return request;
}
"""


def function_url_domain(url: str) -> str:
    """``https://<id>.lambda-url.<region>.on.aws/`` -> the host CloudFront connects to."""
    host = urlsplit(url).hostname
    if not host:
        raise ValueError(f"not a function URL: {url!r}")
    return host


@dataclass(frozen=True)
class SiteApi:
    """What the site's distribution adds for ``/api/*``."""

    origin: aws.cloudfront.DistributionOriginArgs
    origin_request_policy_id: pulumi.Output[str]
    viewer_origin_function_arn: pulumi.Output[str]
    spa_routes_function_arn: pulumi.Output[str]

    def behaviour(self, response_headers_policy_id: pulumi.Input[str]) -> aws.cloudfront.DistributionOrderedCacheBehaviorArgs:
        return aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
            path_pattern=f"{API_PATH}/*",
            target_origin_id=API_ORIGIN_ID,
            # Never a redirect: a redirected POST would lose its body.
            viewer_protocol_policy="https-only",
            allowed_methods=ALL_METHODS,
            cached_methods=["GET", "HEAD"],
            cache_policy_id=CACHING_DISABLED_POLICY_ID,
            origin_request_policy_id=self.origin_request_policy_id,
            response_headers_policy_id=response_headers_policy_id,
            compress=False,
            function_associations=[
                aws.cloudfront.DistributionOrderedCacheBehaviorFunctionAssociationArgs(
                    event_type="viewer-request", function_arn=self.viewer_origin_function_arn
                )
            ],
        )

    def default_function_associations(self) -> list[aws.cloudfront.DistributionDefaultCacheBehaviorFunctionAssociationArgs]:
        return [
            aws.cloudfront.DistributionDefaultCacheBehaviorFunctionAssociationArgs(
                event_type="viewer-request", function_arn=self.spa_routes_function_arn
            )
        ]


@dataclass(frozen=True)
class SessionEdgeArgs:
    settings: Settings
    function_url: pulumi.Input[str]
    function_name: pulumi.Input[str]
    edge_secret: pulumi.Input[str]
    """The current value of ``EDGE_SECRET_HEADER`` (a secret Output), once the secret document holds it."""


class SessionEdge(pulumi.ComponentResource):
    """OAC for Lambda, the ``/api/*`` policies and functions; ``admit`` lets the distribution invoke the function."""

    site_api: SiteApi

    def __init__(self, name: str, args: SessionEdgeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("oauth-exchange:index:SessionEdge", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self._name = name
        self._function_name = args.function_name

        access_control = aws.cloudfront.OriginAccessControl(
            f"{name}-oac",
            description="Signs the site's /api/ requests to the session function URL",
            origin_access_control_origin_type="lambda",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=child,
        )
        request_policy = aws.cloudfront.OriginRequestPolicy(
            f"{name}-api-requests",
            comment="The session cookie, the query and the headers the session function reads",
            cookies_config=aws.cloudfront.OriginRequestPolicyCookiesConfigArgs(
                cookie_behavior="whitelist",
                cookies=aws.cloudfront.OriginRequestPolicyCookiesConfigCookiesArgs(
                    items=list(API_ORIGIN_REQUEST_POLICY.cookies)
                ),
            ),
            headers_config=aws.cloudfront.OriginRequestPolicyHeadersConfigArgs(
                header_behavior="whitelist",
                headers=aws.cloudfront.OriginRequestPolicyHeadersConfigHeadersArgs(
                    items=list(API_ORIGIN_REQUEST_POLICY.headers)
                ),
            ),
            query_strings_config=aws.cloudfront.OriginRequestPolicyQueryStringsConfigArgs(query_string_behavior="all"),
            opts=child,
        )
        viewer_origin = aws.cloudfront.Function(
            f"{name}-viewer-origin",
            comment="Tells the session function the viewer's site origin",
            runtime=FUNCTION_RUNTIME,
            code=VIEWER_ORIGIN_FUNCTION,
            publish=True,
            opts=child,
        )
        spa_routes = aws.cloudfront.Function(
            f"{name}-spa-routes",
            comment="Serves index.html for the SPA's routes",
            runtime=FUNCTION_RUNTIME,
            code=SPA_ROUTES_FUNCTION,
            publish=True,
            opts=child,
        )
        self.site_api = SiteApi(
            origin=aws.cloudfront.DistributionOriginArgs(
                origin_id=API_ORIGIN_ID,
                domain_name=pulumi.Output.from_input(args.function_url).apply(function_url_domain),
                origin_access_control_id=access_control.id,
                custom_headers=[
                    aws.cloudfront.DistributionOriginCustomHeaderArgs(name=EDGE_SECRET_HEADER, value=args.edge_secret)
                ],
                custom_origin_config=aws.cloudfront.DistributionOriginCustomOriginConfigArgs(
                    http_port=80,
                    https_port=443,
                    origin_protocol_policy="https-only",
                    origin_ssl_protocols=["TLSv1.2"],
                    origin_read_timeout=args.settings.api_origin_read_timeout_seconds,
                ),
            ),
            origin_request_policy_id=request_policy.id,
            viewer_origin_function_arn=viewer_origin.arn,
            spa_routes_function_arn=spa_routes.arn,
        )
        self.register_outputs({"origin_access_control_id": access_control.id})

    def admit(self, distribution_arn: pulumi.Input[str]) -> None:
        """Let CloudFront invoke the function URL, for this distribution only."""
        function_url_permissions(
            self._name,
            self._function_name,
            principal="cloudfront.amazonaws.com",
            auth_type="AWS_IAM",
            source_arn=distribution_arn,
            opts=pulumi.ResourceOptions(parent=self),
        )
