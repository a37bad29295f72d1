"""oauth-exchange: a static SPA, the function that holds its OAuth client secret, and that secret, encrypted.

    browser ──HTTPS──▶ StaticSite (CloudFront ▶ private S3: SPA + config.js)
       │
       └──POST /token──▶ ExchangeFunction (function URL, CORS = the site's origins)
                            └──reads──▶ ClientSecret (Secrets Manager, KMS)

    CMS popup ──GET /auth, /callback/<provider>──▶ ExchangeFunction (only with oauth-exchange:cms;
                                                  cookies signed with CmsSigningKey, kept in ClientSecret)

The site's distribution comes first (the function's CORS names its domain);
the SPA's files are published last (``config.js`` names the function URL).
"""

from pathlib import Path

import pulumi

from infra.client_secret import ClientSecret, ClientSecretArgs
from infra.cms_signing_key import CmsSigningKey, CmsSigningKeyArgs
from infra.exchange_function import ExchangeFunction, ExchangeFunctionArgs
from infra.packaging import build_archive
from infra.settings import CMS_AUTH_ENDPOINT, callback_urls, cms_base_url, cms_callback_urls
from infra.stack_config import deployment_target, read_stack_config
from infra.static_site import StaticSite, StaticSiteArgs

ROOT = Path(__file__).resolve().parent

stack_config = read_stack_config()
settings = stack_config.settings
target = deployment_target()
archive = build_archive(ROOT / "function", ROOT / ".build")

site = StaticSite("site", StaticSiteArgs(settings=settings, target=target, site_dir=ROOT / "site"))
cms_signing_key = CmsSigningKey("cms-signing-key", CmsSigningKeyArgs(settings=settings)) if settings.cms else None
client_secret = ClientSecret(
    "client-secret",
    ClientSecretArgs(
        settings=settings,
        target=target,
        client_secrets=stack_config.client_secrets,
        cms_signing_keys=cms_signing_key.keys if cms_signing_key else None,
    ),
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
pulumi.export("callbackUrls", site.origin.apply(lambda origin: callback_urls(settings, origin)))
pulumi.export("secretArn", client_secret.secret_arn)
pulumi.export("bucketName", site.bucket_name)
pulumi.export("distributionId", site.distribution_id)
if settings.cms:
    pulumi.export("cmsBaseUrl", function.url.apply(cms_base_url))
    pulumi.export("cmsAuthEndpoint", CMS_AUTH_ENDPOINT)
    pulumi.export("cmsCallbackUrls", function.url.apply(lambda url: cms_callback_urls(settings, url)))
