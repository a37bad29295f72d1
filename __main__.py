"""oauth-exchange: a static SPA, the function that holds its OAuth client secret, and that secret, encrypted.

    browser ──HTTPS──▶ StaticSite (CloudFront ▶ private S3: SPA + config.js)
       │
       └──POST /token──▶ ExchangeFunction (function URL, CORS = the site's origins)
                            └──reads──▶ ClientSecret (Secrets Manager, KMS)

The site's distribution comes first (the function's CORS names its domain);
the SPA's files are published last (``config.js`` names the function URL).

Session mode (``oauth-exchange:session``) keeps the tokens server-side:

    browser ──HTTPS──▶ StaticSite (CloudFront) ──/api/* (OAC, RateLimit?)──▶ ExchangeFunction (AWS_IAM)
       cookie only                                                          ├──▶ SessionTable (DynamoDB, KMS)
                                                                            └──▶ ClientSecret

There the function comes first (its URL is an origin of the distribution),
the distribution tells it the site's origin per request, and ``config.js``
names the site's own ``/api``.
"""

from pathlib import Path

import pulumi

from infra.client_secret import ClientSecret, ClientSecretArgs
from infra.exchange_function import ExchangeFunction, ExchangeFunctionArgs
from infra.packaging import build_archive
from infra.rate_limit import RateLimit, RateLimitArgs
from infra.session_edge import SessionEdge, SessionEdgeArgs
from infra.session_table import SessionTable, SessionTableArgs
from infra.settings import API_PATH, callback_urls
from infra.stack_config import deployment_target, read_stack_config
from infra.static_site import StaticSite, StaticSiteArgs

ROOT = Path(__file__).resolve().parent

stack_config = read_stack_config()
settings = stack_config.settings
target = deployment_target()
archive = build_archive(ROOT / "function", ROOT / ".build")

if settings.session is None:
    site = StaticSite("site", StaticSiteArgs(settings=settings, target=target, site_dir=ROOT / "site"))
    client_secret = ClientSecret(
        "client-secret", ClientSecretArgs(settings=settings, target=target, client_secrets=stack_config.client_secrets)
    )
    function = ExchangeFunction(
        "function",
        ExchangeFunctionArgs(
            settings=settings,
            target=target,
            archive=archive,
            site_origin=site.origin,
            secret_arn=client_secret.secret_arn,
            key_arn=client_secret.key_arn,
        ),
    )
    site.publish(function.url)
else:
    client_secret = ClientSecret(
        "client-secret",
        ClientSecretArgs(
            settings=settings, target=target, client_secrets=stack_config.client_secrets, encrypts_sessions=True
        ),
    )
    sessions = SessionTable("sessions", SessionTableArgs(key_arn=client_secret.key_arn))
    function = ExchangeFunction(
        "function",
        ExchangeFunctionArgs(
            settings=settings,
            target=target,
            archive=archive,
            site_origin=None,
            secret_arn=client_secret.secret_arn,
            key_arn=client_secret.key_arn,
            session_table_name=sessions.name,
            session_table_arn=sessions.arn,
        ),
    )
    edge = SessionEdge("edge", SessionEdgeArgs(function_url=function.url, function_name=function.function_name))
    rate_limit = None if settings.rate_limit is None else RateLimit("rate-limit", RateLimitArgs(settings.rate_limit))
    site = StaticSite(
        "site",
        StaticSiteArgs(
            settings=settings,
            target=target,
            site_dir=ROOT / "site",
            api=edge.site_api,
            web_acl_arn=None if rate_limit is None else rate_limit.web_acl_arn,
        ),
    )
    edge.admit(site.distribution_arn)
    site.publish(site.origin.apply(lambda origin: origin + API_PATH))
    pulumi.export("sessionTable", sessions.name)

pulumi.export("siteUrl", site.origin.apply(lambda origin: origin + "/"))
pulumi.export("functionUrl", function.url)
pulumi.export("callbackUrls", site.origin.apply(lambda origin: callback_urls(settings, origin)))
pulumi.export("secretArn", client_secret.secret_arn)
pulumi.export("bucketName", site.bucket_name)
pulumi.export("distributionId", site.distribution_id)
