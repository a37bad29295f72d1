"""oauth-exchange: a static SPA, the function that holds its OAuth client secret, and that secret, encrypted.

    browser ──HTTPS──▶ StaticSite (CloudFront ▶ private S3: SPA + config.js)
       │
       └──POST /token──▶ ExchangeFunction (function URL, CORS = the site's origins)
                            └──reads──▶ ClientSecret (Secrets Manager, KMS)

The site's distribution comes first (the function's CORS names its domain);
the SPA's files are published last (``config.js`` names the function URL).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "infra"))  # this checkout's oauth_exchange package

import pulumi  # noqa: E402

from oauth_exchange.client_secret import ClientSecret, ClientSecretArgs  # noqa: E402
from oauth_exchange.exchange_function import ExchangeFunction, ExchangeFunctionArgs  # noqa: E402
from oauth_exchange.packaging import build_archive  # noqa: E402
from oauth_exchange.settings import redirect_uris  # noqa: E402
from oauth_exchange.stack_config import deployment_target, read_stack_config  # noqa: E402
from oauth_exchange.static_site import StaticSite, StaticSiteArgs  # noqa: E402

ROOT = Path(__file__).resolve().parent

stack_config = read_stack_config()
settings = stack_config.settings
target = deployment_target()
archive = build_archive(ROOT / "function", ROOT / ".build")

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

pulumi.export("siteUrl", site.origin.apply(lambda origin: origin + "/"))
pulumi.export("functionUrl", function.url)
pulumi.export("callbackUrls", site.origin.apply(lambda origin: redirect_uris(settings, origin)))
pulumi.export("secretArn", client_secret.secret_arn)
pulumi.export("bucketName", site.bucket_name)
pulumi.export("distributionId", site.distribution_id)
