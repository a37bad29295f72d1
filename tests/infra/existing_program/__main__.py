"""A Pulumi program someone already has — their SPA on S3 behind CloudFront — that adds oauth-exchange to it.

It uses the installed package's public API only (``pip install`` from a path
or a git URL): the exchange deploys no site of its own, serves the existing
distribution's origin, and the program uploads the generated ``config.js``
next to its SPA.
"""

import pulumi
import pulumi_aws as aws

from oauth_exchange import OAuthExchange, OAuthExchangeArgs, SiteSettings, load_settings

config = pulumi.Config("my-app")

bucket = aws.s3.Bucket("app-bucket")
distribution = aws.cloudfront.Distribution(
    "app-cdn",
    enabled=True,
    default_root_object="index.html",
    origins=[aws.cloudfront.DistributionOriginArgs(origin_id="app", domain_name=bucket.bucket_regional_domain_name)],
    default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
        target_origin_id="app",
        viewer_protocol_policy="redirect-to-https",
        allowed_methods=["GET", "HEAD"],
        cached_methods=["GET", "HEAD"],
        cache_policy_id="658327ea-f89d-4fab-a63d-7e88639e58f6",
    ),
    restrictions=aws.cloudfront.DistributionRestrictionsArgs(
        geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(restriction_type="none")
    ),
    viewer_certificate=aws.cloudfront.DistributionViewerCertificateArgs(cloudfront_default_certificate=True),
)

settings = load_settings({"providers": {"github": {"clientId": config.require("githubClientId")}}}, {"github"})
auth = OAuthExchange(
    "auth",
    OAuthExchangeArgs(
        settings=settings,
        site=SiteSettings(deploy=False),
        site_origin=distribution.domain_name.apply(lambda domain: f"https://{domain}"),
        client_secrets=config.require_secret_object("oauthClientSecrets"),
    ),
)
aws.s3.BucketObjectv2(
    "app-config-js",
    bucket=bucket.id,
    key="config.js",
    content=auth.config_js,
    content_type="text/javascript; charset=utf-8",
    cache_control="no-store",
)

pulumi.export("functionUrl", auth.function_url)
pulumi.export("callbackUrls", auth.callback_urls)
pulumi.export("connectSrc", auth.connect_src)
pulumi.export("spaConfig", auth.spa_config)
