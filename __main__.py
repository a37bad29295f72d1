"""oauth-exchange: a static SPA, the function that holds its OAuth client secret, and that secret, encrypted.

    browser ──HTTPS──▶ StaticSite (CloudFront ▶ private S3: SPA + config.js)
       │
       └──POST /token──▶ ExchangeFunction (function URL, CORS = the site's origins)
                            └──reads──▶ ClientSecret (Secrets Manager, KMS)
    CMS popup ──GET /auth, /callback/<provider>──▶ ExchangeFunction (only with oauth-exchange:cms;
                                                  cookies signed with CmsSigningKey, kept in ClientSecret)

Session mode (``oauth-exchange:session``) keeps the tokens server-side:

    browser ──HTTPS──▶ StaticSite (CloudFront) ──/api/* (OAC, RateLimit?)──▶ ExchangeFunction (AWS_IAM)
       cookie only                                                          ├──▶ SessionTable (DynamoDB, KMS)
                                                                            └──▶ ClientSecret

All three are composed by ``OAuthExchange`` (infra/oauth_exchange), the same
component any other Pulumi program can install and use; this program reads the
stack's config into it and exports what the user needs next.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "infra"))  # this checkout's oauth_exchange, not an installed copy

import pulumi  # noqa: E402

from oauth_exchange import OAuthExchange, OAuthExchangeArgs, read_stack_config  # noqa: E402
from oauth_exchange.cms_endpoints import CMS_AUTH_ENDPOINT  # noqa: E402

stack_config = read_stack_config()
exchange = OAuthExchange(
    "oauth",
    OAuthExchangeArgs(
        settings=stack_config.settings,
        site=stack_config.site,
        client_secrets=stack_config.client_secrets,
        build_dir=ROOT / ".build",
        monitoring=stack_config.monitoring,
    ),
)

pulumi.export("functionUrl", exchange.function_url)
pulumi.export("callbackUrls", exchange.callback_urls)
pulumi.export("secretArn", exchange.secret_arn)
pulumi.export("spaConfig", exchange.spa_config)
if exchange.site is not None:
    pulumi.export("siteUrl", exchange.site.origin.apply(lambda origin: origin + "/"))
    pulumi.export("bucketName", exchange.site.bucket_name)
    pulumi.export("distributionId", exchange.site.distribution_id)
    pulumi.export("distributionDomain", exchange.site.distribution_domain)
else:
    pulumi.export("allowedOrigins", exchange.origins)
    pulumi.export("configJs", exchange.config_js)
    pulumi.export("connectSrc", exchange.connect_src)
if exchange.cms_base_url is not None:
    pulumi.export("cmsBaseUrl", exchange.cms_base_url)
    pulumi.export("cmsAuthEndpoint", CMS_AUTH_ENDPOINT)
    pulumi.export("cmsCallbackUrls", exchange.cms_callback_urls)
if exchange.session_table_name is not None:
    pulumi.export("sessionTable", exchange.session_table_name)
if exchange.monitoring.dashboard_url is not None:
    pulumi.export("dashboardUrl", exchange.monitoring.dashboard_url)
if exchange.monitoring.topic_arn is not None:
    pulumi.export("alarmTopicArn", exchange.monitoring.topic_arn)
