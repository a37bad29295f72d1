"""The static site: a private bucket only its distribution reads, HTTPS only, strict headers, every file served right."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from oauth_exchange.settings import load_settings
from oauth_exchange.site_headers import function_url_origin_pattern, site_security_headers
from oauth_exchange.site_files import content_type, site_files
from oauth_exchange.static_site import custom_headers_config
from tests.infra.stack_mocks import (
    DISTRIBUTION_DOMAIN,
    DISTRIBUTION_ID,
    FUNCTION_URL_ID,
    ROOT,
    TEST_CLIENT_ID,
    Deployment,
)

BUCKET = "oauth-site-bucket-7f3a9c"
DISTRIBUTION_ARN = f"arn:aws:cloudfront::123456789012:distribution/{DISTRIBUTION_ID}"
FUNCTION_ORIGIN = f"https://{FUNCTION_URL_ID}.lambda-url.us-east-1.on.aws"


def _objects(deployment: Deployment) -> dict[str, dict]:
    return {o.plain_inputs["key"]: o.plain_inputs for o in deployment.of_type("aws:s3/bucketObjectv2:BucketObjectv2")}


def _security_headers(deployment: Deployment) -> dict:
    policy = deployment.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy").plain_inputs
    return policy["securityHeadersConfig"]


def _directives(csp: str) -> dict[str, list[str]]:
    parsed = {}
    for directive in csp.split(";"):
        name, *sources = directive.split()
        parsed[name] = sources
    return parsed


def test_bucket_blocks_every_kind_of_public_access(dev: Deployment) -> None:
    block = dev.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").plain_inputs
    assert block["bucket"] == BUCKET
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block[flag] is True, flag


def test_bucket_owner_owns_every_object_and_acls_are_off(dev: Deployment) -> None:
    ownership = dev.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls").plain_inputs
    assert ownership == {"bucket": BUCKET, "rule": {"objectOwnership": "BucketOwnerEnforced"}}
    assert not dev.of_type("aws:s3/bucketAcl:BucketAcl")
    assert not dev.of_type("aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration")


def test_bucket_is_encrypted_at_rest(dev: Deployment) -> None:
    encryption = dev.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    (rule,) = encryption.plain_inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] in ("AES256", "aws:kms")
    if rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256":
        assert "bucketKeyEnabled" not in rule, "an S3 Bucket Key only changes anything with aws:kms"


BUCKET_CONFIGURATION_ORDER = (
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketPolicy:BucketPolicy",
)


def test_bucket_configuration_is_applied_one_change_at_a_time(dev: Deployment) -> None:
    """S3 refuses concurrent configuration changes to one bucket (409 OperationAborted) on a first deploy."""
    for earlier, later in zip(BUCKET_CONFIGURATION_ORDER, BUCKET_CONFIGURATION_ORDER[1:]):
        assert dev.one(earlier).urn in dev.one(later).dependencies, f"{later} does not wait for {earlier}"


def test_only_the_distribution_may_read_the_bucket(dev: Deployment) -> None:
    policy = json.loads(dev.one("aws:s3/bucketPolicy:BucketPolicy").plain_inputs["policy"])
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert allows == [
        {
            "Sid": "DistributionReadsObjects",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
            "Condition": {"StringEquals": {"AWS:SourceArn": DISTRIBUTION_ARN}},
        }
    ]


def test_bucket_refuses_plain_http(dev: Deployment) -> None:
    policy = json.loads(dev.one("aws:s3/bucketPolicy:BucketPolicy").plain_inputs["policy"])
    denies = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert [s["Condition"] for s in denies] == [{"Bool": {"aws:SecureTransport": "false"}}]


def test_distribution_reads_through_origin_access_control(dev: Deployment) -> None:
    oac = dev.one("aws:cloudfront/originAccessControl:OriginAccessControl").plain_inputs
    assert (oac["originAccessControlOriginType"], oac["signingBehavior"], oac["signingProtocol"]) == (
        "s3",
        "always",
        "sigv4",
    )
    (origin,) = dev.one("aws:cloudfront/distribution:Distribution").plain_inputs["origins"]
    assert origin["originAccessControlId"] == "oauth-site-oac-id"
    assert origin["domainName"] == f"{BUCKET}.s3.us-east-1.amazonaws.com"
    assert "s3OriginConfig" not in origin and "customOriginConfig" not in origin


def test_distribution_redirects_http_to_https(dev: Deployment) -> None:
    distribution = dev.one("aws:cloudfront/distribution:Distribution").plain_inputs
    behaviors = [distribution["defaultCacheBehavior"], *distribution.get("orderedCacheBehaviors", [])]
    assert all(b["viewerProtocolPolicy"] == "redirect-to-https" for b in behaviors)
    assert distribution["viewerCertificate"] == {"cloudfrontDefaultCertificate": True}


def test_distribution_serves_index_html_for_root_and_client_side_routes(dev: Deployment) -> None:
    distribution = dev.one("aws:cloudfront/distribution:Distribution").plain_inputs
    assert distribution["defaultRootObject"] == "index.html"
    fallbacks = {e["errorCode"]: (e["responseCode"], e["responsePagePath"]) for e in distribution["customErrorResponses"]}
    assert fallbacks == {403: (200, "/index.html"), 404: (200, "/index.html")}


def test_distribution_uses_managed_caching_the_headers_policy_and_configured_price_class(dev: Deployment) -> None:
    distribution = dev.one("aws:cloudfront/distribution:Distribution").plain_inputs
    behavior = distribution["defaultCacheBehavior"]
    assert behavior["cachePolicyId"] == "658327ea-f89d-4fab-a63d-7e88639e58f6"
    assert behavior["responseHeadersPolicyId"] == "oauth-site-headers-id"
    assert behavior["allowedMethods"] == ["GET", "HEAD"]
    assert distribution["priceClass"] == "PriceClass_100"
    assert distribution["httpVersion"] == "http2and3"


def test_csp_allows_only_self_the_function_region_and_the_provider_apis(dev: Deployment) -> None:
    csp = _security_headers(dev)["contentSecurityPolicy"]
    assert csp["override"] is True
    directives = _directives(csp["contentSecurityPolicy"])
    assert directives["default-src"] == ["'none'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["connect-src"] == ["'self'", "https://*.lambda-url.us-east-1.on.aws", "https://api.github.com"]
    wildcards = [source for sources in directives.values() for source in sources if "*" in source]
    assert wildcards == ["https://*.lambda-url.us-east-1.on.aws"]
    assert not any(s in ("'unsafe-inline'", "'unsafe-eval'", "https:", "http:", "data:") for s in directives["script-src"])


def test_index_html_pins_connect_src_to_the_exact_function_url(dev: Deployment) -> None:
    html = _objects(dev)["index.html"]["content"]
    meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert meta is not None
    assert meta.group(1) == f"connect-src 'self' {FUNCTION_ORIGIN} https://api.github.com"
    assert html.index(meta.group(0)) < html.index("<script")


def test_hsts_no_referrer_nosniff_and_no_framing(dev: Deployment) -> None:
    headers = _security_headers(dev)
    hsts = headers["strictTransportSecurity"]
    assert hsts["accessControlMaxAgeSec"] == 31536000
    assert hsts["includeSubdomains"] is False  # the site's host only: on an apex domain it would be every name
    assert hsts["override"] is True
    assert headers["referrerPolicy"] == {"referrerPolicy": "no-referrer", "override": True}
    assert headers["contentTypeOptions"] == {"override": True}
    assert headers["frameOptions"] == {"frameOption": "DENY", "override": True}


def test_hsts_for_every_subdomain_when_the_stack_opts_in(deploy: Callable[..., Deployment]) -> None:
    deployment = deploy(hstsIncludeSubdomains="true", customDomain={"domain": "example.com", "hostedZoneId": "Z0123456789ABCDEFGHIJ"})

    hsts = _security_headers(deployment)["strictTransportSecurity"]

    assert hsts["includeSubdomains"] is True
    assert hsts["accessControlMaxAgeSec"] == 63072000
    assert not hsts.get("preload")


def test_every_site_file_is_uploaded_with_its_content_type(dev: Deployment) -> None:
    objects = _objects(dev)
    on_disk = {
        path.relative_to(ROOT / "site").as_posix()
        for path in (ROOT / "site").rglob("*")
        if path.is_file() and not path.name.startswith(".") and path.name not in ("config.js", "oauth.d.ts", "package.json")
    }
    assert on_disk <= set(objects)
    assert set(objects) == on_disk | {"config.js"}
    for key, obj in objects.items():
        assert obj["contentType"] == content_type(Path(key)), key
        assert obj["bucket"] == BUCKET
    assert objects["index.html"]["contentType"] == "text/html; charset=utf-8"


def test_the_npm_package_files_are_not_published(dev: Deployment) -> None:
    objects = _objects(dev)
    assert (ROOT / "site" / "oauth.d.ts").is_file() and (ROOT / "site" / "package.json").is_file()
    assert "oauth.d.ts" not in objects
    assert "package.json" not in objects
    assert "oauth.js" in objects


def test_config_js_names_the_function_url_and_is_never_cached(dev: Deployment) -> None:
    config = _objects(dev)["config.js"]
    assert config["contentType"] == "text/javascript; charset=utf-8"
    assert config["cacheControl"] == "no-store"
    assert f'"functionUrl": "{FUNCTION_ORIGIN}"' in config["content"]
    assert f'"clientId": "{TEST_CLIENT_ID}"' in config["content"]


def test_index_html_is_revalidated_on_every_load(dev: Deployment) -> None:
    assert _objects(dev)["index.html"]["cacheControl"] == "no-cache"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("index.html", "text/html; charset=utf-8"),
        ("app.js", "text/javascript; charset=utf-8"),
        ("lib/module.mjs", "text/javascript; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("favicon.svg", "image/svg+xml"),
        ("logo.png", "image/png"),
        ("manifest.webmanifest", "application/manifest+json"),
        ("data.json", "application/json"),
        ("font.woff2", "font/woff2"),
        ("blob.unknownext", "application/octet-stream"),
    ],
)
def test_content_types(name: str, expected: str) -> None:
    assert content_type(Path(name)) == expected


def test_local_config_js_hidden_and_npm_package_files_are_not_uploaded(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<html><head></head></html>")
    (tmp_path / "config.js").write_text("export default {}")
    (tmp_path / ".DS_Store").write_text("")
    (tmp_path / "oauth.d.ts").write_text("export {};")
    (tmp_path / "package.json").write_text("{}")
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(b"\x89PNG")
    assert [key for key, _ in site_files(tmp_path)] == ["img/a.png", "index.html"]


def test_a_site_without_index_html_is_refused(tmp_path: Path) -> None:
    (tmp_path / "app.js").write_text("")
    with pytest.raises(FileNotFoundError, match="index.html"):
        site_files(tmp_path)


def test_site_url_is_the_distribution(dev: Deployment) -> None:
    assert dev.outputs["siteUrl"] == (f"https://{DISTRIBUTION_DOMAIN}/", False)
    assert dev.outputs["distributionId"] == (DISTRIBUTION_ID, False)
    assert dev.outputs["bucketName"] == (BUCKET, False)


def test_headers_policy_sends_exactly_the_headers_settings_computes(dev: Deployment) -> None:
    settings = load_settings({"providers": {"github": {"clientId": "x"}}}, {"github"})
    expected = site_security_headers(settings, function_url_origin_pattern("us-east-1"))
    headers = _security_headers(dev)
    hsts = headers["strictTransportSecurity"]
    sent = {
        "Content-Security-Policy": headers["contentSecurityPolicy"]["contentSecurityPolicy"],
        "Strict-Transport-Security": f"max-age={hsts['accessControlMaxAgeSec']:.0f}"
        + ("; includeSubDomains" if hsts["includeSubdomains"] else "")
        + ("; preload" if hsts.get("preload") else ""),
        "Referrer-Policy": headers["referrerPolicy"]["referrerPolicy"],
        "X-Content-Type-Options": "nosniff" if headers["contentTypeOptions"]["override"] else None,
        "X-Frame-Options": headers["frameOptions"]["frameOption"],
    }
    assert sent == expected
    assert "customHeadersConfig" not in dev.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy").inputs


def test_headers_beyond_cloudfronts_security_set_go_out_as_custom_headers() -> None:
    settings = load_settings({"providers": {"github": {"clientId": "x"}}}, {"github"})
    headers = site_security_headers(settings, function_url_origin_pattern("us-east-1"))
    extra = custom_headers_config(headers | {"Permissions-Policy": "camera=()"})
    assert extra is not None
    assert [(i.header, i.value, i.override) for i in extra.items] == [("Permissions-Policy", "camera=()", True)]
    assert custom_headers_config(headers) is None
