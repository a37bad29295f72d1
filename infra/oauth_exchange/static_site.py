"""The static site: a private bucket that only its CloudFront distribution can read, served over HTTPS.

Hosting is built first, because the function's CORS needs the distribution's
domain; the SPA's files are published afterwards with ``publish``, because
``index.html`` and ``config.js`` need the function URL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws

from oauth_exchange.custom_domain import CustomDomain, CustomDomainArgs
from oauth_exchange.pulumi_errors import required
from oauth_exchange.settings import Settings
from oauth_exchange.site_headers import function_url_origin_pattern
from oauth_exchange.spa_config import config_js
from oauth_exchange.site_files import cache_control, content_type, site_files
from oauth_exchange.site_settings import (
    MINIMUM_TLS_VERSION,
    SiteSettings,
    render_index_html,
    site_origin,
    site_security_headers,
)
from oauth_exchange.session_edge import SiteApi
from oauth_exchange.stack_config import Target

CACHING_OPTIMIZED_POLICY_ID = "658327ea-f89d-4fab-a63d-7e88639e58f6"
"""AWS's managed CachingOptimized cache policy."""

ORIGIN_ID = "site-bucket"
SECURITY_HEADERS = frozenset(
    {"Content-Security-Policy", "Strict-Transport-Security", "Referrer-Policy", "X-Content-Type-Options", "X-Frame-Options"}
)
"""Headers CloudFront sets through its typed security config (it refuses them as custom headers)."""


def security_headers_config(headers: dict[str, str]) -> aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigArgs:
    """CloudFront's typed security headers, carrying exactly the values ``oauth_exchange.settings`` computed."""
    hsts = [directive.strip() for directive in headers["Strict-Transport-Security"].split(";")]
    max_age = next(int(d.removeprefix("max-age=")) for d in hsts if d.startswith("max-age="))
    if headers["X-Content-Type-Options"] != "nosniff":
        raise ValueError("CloudFront can only send X-Content-Type-Options: nosniff")
    return aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigArgs(
        content_security_policy=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentSecurityPolicyArgs(
            content_security_policy=headers["Content-Security-Policy"], override=True
        ),
        strict_transport_security=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurityArgs(
            access_control_max_age_sec=max_age,
            include_subdomains="includeSubDomains" in hsts,
            preload="preload" in hsts,
            override=True,
        ),
        referrer_policy=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigReferrerPolicyArgs(
            referrer_policy=headers["Referrer-Policy"], override=True
        ),
        content_type_options=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentTypeOptionsArgs(
            override=True
        ),
        frame_options=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigFrameOptionsArgs(
            frame_option=headers["X-Frame-Options"], override=True
        ),
    )


def custom_headers_config(headers: dict[str, str]) -> aws.cloudfront.ResponseHeadersPolicyCustomHeadersConfigArgs | None:
    """Any further headers settings adds, sent as they are."""
    extra = sorted((name, value) for name, value in headers.items() if name not in SECURITY_HEADERS)
    if not extra:
        return None
    return aws.cloudfront.ResponseHeadersPolicyCustomHeadersConfigArgs(
        items=[
            aws.cloudfront.ResponseHeadersPolicyCustomHeadersConfigItemArgs(header=name, value=value, override=True)
            for name, value in extra
        ]
    )


def bucket_policy(bucket_arn: str, distribution_arn: str) -> str:
    """Only this distribution reads objects, and never over plain HTTP."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DistributionReadsObjects",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudfront.amazonaws.com"},
                    "Action": "s3:GetObject",
                    "Resource": f"{bucket_arn}/*",
                    "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
                },
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ],
        },
        sort_keys=True,
    )


@dataclass(frozen=True)
class StaticSiteArgs:
    settings: Settings
    target: Target
    site: SiteSettings = field(default_factory=SiteSettings)
    """Which SPA folder is published (``site.site_dir``), on which domain, with which CSP additions."""
    api: SiteApi | None = None
    """Session mode: ``/api/*`` goes to the function URL."""
    web_acl_arn: pulumi.Input[str] | None = None
    """An AWS WAF web ACL (``rateLimit``) in front of the distribution."""


class StaticSite(pulumi.ComponentResource):
    """The SPA's hosting: private storage, HTTPS delivery, security headers, and its published files."""

    bucket_name: pulumi.Output[str]
    distribution_id: pulumi.Output[str]
    distribution_domain: pulumi.Output[str]
    """``<id>.cloudfront.net``: where a custom domain's DNS record points when this stack does not manage it."""
    distribution_arn: pulumi.Output[str]
    origin: pulumi.Output[str]
    """The SPA's origin, as browsers send it: ``https://<custom domain>``, else ``https://<distribution domain>``."""

    def __init__(self, name: str, args: StaticSiteArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("oauth-exchange:index:StaticSite", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self._name = name
        self._settings = args.settings
        self._site = site = args.site
        self._files = site_files(site.site_dir)

        bucket = aws.s3.Bucket(f"{name}-bucket", opts=child)
        public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        # S3 answers 409 OperationAborted to concurrent configuration changes of one bucket,
        # so each of these waits for the one before it (and the policy for the last).
        ownership = aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access_block]),
        )
        encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256"
                    ),
                )
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ownership]),
        )
        origin_access_control = aws.cloudfront.OriginAccessControl(
            f"{name}-oac",
            description="Lets only the site's distribution read the bucket",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=child,
        )
        headers = args.target.region.apply(
            lambda region: site_security_headers(args.settings, site, function_url_origin_pattern(region))
        )
        headers_policy = aws.cloudfront.ResponseHeadersPolicy(
            f"{name}-headers",
            comment="CSP, HSTS, no referrer, nosniff, no framing",
            security_headers_config=headers.apply(security_headers_config),
            custom_headers_config=headers.apply(custom_headers_config),
            opts=child,
        )
        spa_fallback = [
            aws.cloudfront.DistributionCustomErrorResponseArgs(
                error_code=status, response_code=200, response_page_path="/index.html", error_caching_min_ttl=0
            )
            for status in (403, 404)
        ]
        domain = None
        viewer_certificate = aws.cloudfront.DistributionViewerCertificateArgs(cloudfront_default_certificate=True)
        if site.custom_domain is not None:
            domain = CustomDomain(f"{name}-domain", CustomDomainArgs(domain=site.custom_domain), opts=child)
            viewer_certificate = aws.cloudfront.DistributionViewerCertificateArgs(
                acm_certificate_arn=domain.certificate_arn,
                ssl_support_method="sni-only",
                minimum_protocol_version=MINIMUM_TLS_VERSION,
            )
        origins = [
            aws.cloudfront.DistributionOriginArgs(
                origin_id=ORIGIN_ID,
                domain_name=bucket.bucket_regional_domain_name,
                origin_access_control_id=origin_access_control.id,
            )
        ]
        api_behaviours = None
        site_functions = None
        if args.api is not None:
            origins.append(args.api.origin)
            api_behaviours = [args.api.behaviour(headers_policy.id)]
            # Error mapping is distribution-wide and would turn the API's 403/404 into index.html.
            spa_fallback = []
            site_functions = args.api.default_function_associations()
        distribution = aws.cloudfront.Distribution(
            f"{name}-cdn",
            comment=f"{pulumi.get_project()}/{pulumi.get_stack()} static site",
            enabled=True,
            is_ipv6_enabled=True,
            http_version="http2and3",
            price_class=args.settings.price_class,
            default_root_object="index.html",
            aliases=[site.custom_domain.domain] if site.custom_domain else None,
            origins=origins,
            ordered_cache_behaviors=api_behaviours,
            web_acl_id=args.web_acl_arn,
            default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
                target_origin_id=ORIGIN_ID,
                viewer_protocol_policy="redirect-to-https",
                allowed_methods=["GET", "HEAD"],
                cached_methods=["GET", "HEAD"],
                cache_policy_id=CACHING_OPTIMIZED_POLICY_ID,
                response_headers_policy_id=headers_policy.id,
                compress=True,
                function_associations=site_functions,
            ),
            custom_error_responses=spa_fallback,
            restrictions=aws.cloudfront.DistributionRestrictionsArgs(
                geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(restriction_type="none")
            ),
            viewer_certificate=viewer_certificate,
            opts=child,
        )
        if domain is not None:
            domain.route_to(distribution)
        aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket.id,
            policy=pulumi.Output.all(bucket.arn, distribution.arn).apply(lambda arns: bucket_policy(*arns)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[encryption]),
        )

        self._bucket = bucket
        self.bucket_name = bucket.bucket
        self.distribution_id = distribution.id
        self.distribution_arn = distribution.arn
        self.distribution_domain = required(distribution.domain_name, "aws.cloudfront.Distribution domain_name")
        self.origin = self.distribution_domain.apply(lambda domain_name: site_origin(site, domain_name))
        self.register_outputs(
            {
                "bucket_name": self.bucket_name,
                "distribution_id": self.distribution_id,
                "distribution_domain": self.distribution_domain,
                "origin": self.origin,
            }
        )

    def publish(self, function_url: pulumi.Input[str]) -> None:
        """Upload every file of the SPA, ``index.html`` pinned to the function URL, and a generated ``config.js``."""
        settings, site = self._settings, self._site
        url = pulumi.Output.from_input(function_url)
        function_origin = url.apply(lambda value: value.rstrip("/"))
        for key, path in self._files:
            if key == "index.html":
                html = path.read_text(encoding="utf-8")
                body: dict[str, pulumi.Input[str] | pulumi.Asset] = {
                    "content": function_origin.apply(lambda origin: render_index_html(html, settings, site, origin))
                }
            else:
                body = {"source": pulumi.FileAsset(str(path))}
            self._upload(key, content_type(path), body)
        self._upload(
            "config.js",
            content_type(Path("config.js")),
            {"content": url.apply(lambda value: config_js(settings, value))},
        )

    def _upload(self, key: str, mime_type: str, body: dict[str, pulumi.Input[str] | pulumi.Asset]) -> None:
        aws.s3.BucketObjectv2(
            f"{self._name}-file-{key}",
            bucket=self._bucket.id,
            key=key,
            content_type=mime_type,
            cache_control=cache_control(key),
            **body,
            opts=pulumi.ResourceOptions(parent=self),
        )
