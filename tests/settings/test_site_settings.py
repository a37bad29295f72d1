"""Site settings: which SPA, which domain, which CSP additions; every bad value named by its key."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from oauth_exchange.assets import demo_site_dir
from oauth_exchange.origins import allowed_origins
from oauth_exchange.settings import ConfigError, load_settings
from oauth_exchange.site_headers import content_security_policy
from oauth_exchange.site_settings import (
    SiteSettings,
    connect_sources,
    load_site_settings,
    render_index_html,
    site_origin,
    site_security_headers,
)

REPO = Path(__file__).resolve().parents[2]
FUNCTION = "https://abc123.lambda-url.eu-west-1.on.aws"
ZONE = "Z0123456789ABCDEFGHIJ"
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"


def _settings(**values: Any):
    return load_settings({"providers": {"github": {"clientId": "Ov23li0123456789abcd"}}, **values}, {"github"})


def _site(tmp_path: Path | None = None, settings=None, **values: Any) -> SiteSettings:
    return load_site_settings(values, settings or _settings(), tmp_path or Path.cwd())


def _directives(policy: str) -> dict[str, list[str]]:
    return {d.split(" ")[0]: d.split(" ")[1:] for d in policy.split("; ")}


def _spa(tmp_path: Path, html: str = "<!doctype html><html><head><title>app</title></head><body></body></html>") -> Path:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(html)
    (dist / "assets" / "index-3f9a.js").write_text("console.log(1)")
    return dist


def test_defaults_are_the_demo_site_on_the_distribution_with_the_demo_policy() -> None:
    site = _site()
    assert site == SiteSettings()
    assert site.deploy is True
    assert site.site_dir == demo_site_dir()
    assert (site.site_dir / "index.html").is_file()
    assert site.custom_domain is None
    settings = _settings()
    assert site_security_headers(settings, site, FUNCTION)["Content-Security-Policy"] == content_security_policy(
        settings, FUNCTION
    )


def test_site_dir_is_resolved_from_the_project_directory(tmp_path: Path) -> None:
    dist = _spa(tmp_path)
    assert _site(tmp_path, siteDir="dist").site_dir == dist
    assert _site(Path("/"), siteDir=str(dist)).site_dir == dist


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ("missing", "is not a folder"),
        ("no index", "has no index.html"),
        ("no head", "has no <head> element"),
        ("file", "is not a folder"),
    ],
)
def test_a_site_dir_the_site_cannot_serve_is_refused_naming_site_dir(tmp_path: Path, layout: str, message: str) -> None:
    if layout == "no index":
        (tmp_path / "dist").mkdir()
        (tmp_path / "dist" / "app.js").write_text("")
    elif layout == "no head":
        _spa(tmp_path, "<!doctype html><body>no head here</body>")
    elif layout == "file":
        (tmp_path / "dist").write_text("")
    with pytest.raises(ConfigError, match=rf"^oauth-exchange:siteDir: .*{re.escape(message)}"):
        _site(tmp_path, siteDir="dist")


def test_without_a_site_the_origins_are_the_extra_origins() -> None:
    settings = _settings(extraOrigins=["https://app.example.com"])
    site = _site(settings=settings, deploySite=False)
    assert site.deploy is False
    assert allowed_origins(settings, None) == ["https://app.example.com"]


def test_without_a_site_at_least_one_origin_is_required() -> None:
    with pytest.raises(ConfigError, match=r"^oauth-exchange:extraOrigins: deploySite is false"):
        _site(deploySite=False)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("siteDir", "dist"),
        ("customDomain", {"domain": "app.example.com", "hostedZoneId": ZONE}),
        ("contentSecurityPolicy", {"imgSrc": ["https://images.example.com"]}),
    ],
)
def test_site_options_without_a_site_are_refused_naming_them(key: str, value: Any) -> None:
    settings = _settings(extraOrigins=["https://app.example.com"])
    with pytest.raises(ConfigError, match=rf"^oauth-exchange:{key}: applies to the site this stack deploys"):
        _site(settings=settings, deploySite=False, **{key: value})


def test_hsts_for_subdomains_without_a_site_is_refused_naming_it() -> None:
    settings = _settings(extraOrigins=["https://app.example.com"], hstsIncludeSubdomains=True)
    with pytest.raises(ConfigError, match=r"^oauth-exchange:hstsIncludeSubdomains: applies to the site this stack deploys"):
        _site(settings=settings, deploySite=False)


def test_deploy_site_must_be_a_boolean() -> None:
    with pytest.raises(ConfigError, match=r"^oauth-exchange:deploySite: must be true or false"):
        _site(deploySite="nope")
    assert _site(deploySite="true").deploy is True


def test_a_custom_domain_is_the_site_origin() -> None:
    site = _site(customDomain={"domain": "app.example.com", "hostedZoneId": ZONE})
    assert site.custom_domain.domain == "app.example.com"
    assert site.custom_domain.hosted_zone_id == ZONE
    assert site_origin(site, "d1234.cloudfront.net") == "https://app.example.com"
    assert site_origin(SiteSettings(), "d1234.cloudfront.net") == "https://d1234.cloudfront.net"


def test_a_custom_domain_may_bring_its_own_certificate() -> None:
    site = _site(customDomain={"domain": "app.example.com", "certificateArn": CERTIFICATE})
    assert site.custom_domain.certificate_arn == CERTIFICATE
    assert site.custom_domain.hosted_zone_id is None


BAD_DOMAINS: list[tuple[Any, str]] = [
    ({"domain": "https://app.example.com", "hostedZoneId": ZONE}, "customDomain.domain"),
    ({"domain": "*.example.com", "hostedZoneId": ZONE}, "customDomain.domain"),
    ({"domain": "localhost", "hostedZoneId": ZONE}, "customDomain.domain"),
    ({"domain": "App.Example.com", "hostedZoneId": ZONE}, "customDomain.domain"),
    ({"domain": "10.0.0.1", "hostedZoneId": ZONE}, "customDomain.domain"),
    ({"hostedZoneId": ZONE}, "customDomain.domain"),
    ({"domain": "app.example.com"}, "customDomain"),
    ({"domain": "app.example.com", "hostedZoneId": "/hostedzone/Z123"}, "customDomain.hostedZoneId"),
    ({"domain": "app.example.com", "certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"}, "customDomain.certificateArn"),
    ({"domain": "app.example.com", "certificateArn": "not-an-arn"}, "customDomain.certificateArn"),
    ({"domain": "app.example.com", "hostedZoneId": ZONE, "aliases": ["www.example.com"]}, "customDomain.aliases"),
    (["app.example.com"], "customDomain"),
]


@pytest.mark.parametrize(("value", "key"), BAD_DOMAINS, ids=[key + str(i) for i, (_, key) in enumerate(BAD_DOMAINS)])
def test_bad_custom_domains_are_refused_naming_the_key(value: Any, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"^oauth-exchange:{re.escape(key)}: "):
        _site(customDomain=value)


def test_a_certificate_outside_us_east_1_is_refused_saying_why() -> None:
    arn = CERTIFICATE.replace("us-east-1", "eu-west-1")
    with pytest.raises(ConfigError, match="CloudFront only uses certificates from us-east-1"):
        _site(customDomain={"domain": "app.example.com", "certificateArn": arn})


def test_csp_additions_widen_each_named_directive_and_keep_the_rest() -> None:
    settings = _settings()
    site = _site(
        contentSecurityPolicy={
            "connectSrc": ["https://api.example.com", "wss://live.example.com"],
            "imgSrc": ["https://*.images.example.com", "blob:"],
            "styleSrc": ["'unsafe-inline'", "https://fonts.googleapis.com"],
            "fontSrc": ["https://fonts.gstatic.com", "data:"],
            "scriptSrc": ["https://cdn.example.com", "'sha256-abc123+/='"],
        }
    )
    demo = _directives(content_security_policy(settings, FUNCTION))
    widened = _directives(site_security_headers(settings, site, FUNCTION)["Content-Security-Policy"])
    assert widened["connect-src"] == [*demo["connect-src"], "https://api.example.com", "wss://live.example.com"]
    assert widened["img-src"] == [*demo["img-src"], "https://*.images.example.com", "blob:"]
    assert widened["style-src"] == ["'self'", "'unsafe-inline'", "https://fonts.googleapis.com"]
    assert widened["font-src"] == ["'self'", "https://fonts.gstatic.com", "data:"]
    assert widened["script-src"] == ["'self'", "https://cdn.example.com", "'sha256-abc123+/='"]
    for directive in ("default-src", "manifest-src", "base-uri", "form-action", "frame-ancestors"):
        assert widened[directive] == demo[directive]


def test_connect_additions_also_widen_the_policy_pinned_in_index_html() -> None:
    settings = _settings()
    site = _site(contentSecurityPolicy={"connectSrc": ["https://api.example.com"]})
    html = render_index_html("<html><head></head></html>", settings, site, FUNCTION)
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)[1]
    assert policy == f"connect-src 'self' {FUNCTION} https://api.github.com https://api.example.com"
    assert connect_sources(settings, site, FUNCTION) == policy.split(" ")[1:]
    assert render_index_html("<html><head></head></html>", settings, SiteSettings(), FUNCTION).count(FUNCTION) == 1


BAD_SOURCES: list[tuple[str, Any, str]] = [
    ("scriptSrc", "'unsafe-inline'", "never allowed for scripts"),
    ("scriptSrc", "'UNSAFE-EVAL'", "never allowed for scripts"),
    ("scriptSrc", "'strict-dynamic'", "never allowed for scripts"),
    ("scriptSrc", "*", "wildcard"),
    ("scriptSrc", "https://*.example.com", "exact hosts only"),
    ("scriptSrc", "https:", "too broad"),
    ("scriptSrc", "data:", "too broad"),
    ("scriptSrc", "'nonce-abc'", "is not a keyword"),
    ("connectSrc", "*", "wildcard"),
    ("connectSrc", "https://*", "wildcard"),
    ("connectSrc", "https:", "too broad"),
    ("connectSrc", "api.example.com", "scheme included"),
    ("connectSrc", "http://api.example.com", "must use https"),
    ("connectSrc", "https://api.example.com; script-src *", "without spaces"),
    ("connectSrc", "https://a.example.com,https://b.example.com", "without spaces"),
    ("connectSrc", "https://api.example.com/?q=1", "scheme included"),
    ("imgSrc", "'unsafe-inline'", "is not a keyword"),
    ("imgSrc", "wss://x.example.com", "belong in connectSrc"),
    ("styleSrc", "'unsafe-eval'", "is not a keyword"),
    ("fontSrc", 42, "must be one CSP source"),
    ("connectSrc", "https://api.example.com:99999", "invalid port"),
]


@pytest.mark.parametrize(
    ("directive", "source", "message"), BAD_SOURCES, ids=[f"{d}-{s}" for d, s, _ in BAD_SOURCES]
)
def test_bad_csp_sources_are_refused_naming_the_directive_and_index(directive: str, source: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=rf"^oauth-exchange:contentSecurityPolicy\.{directive}\[1\]: .*{re.escape(message)}"):
        _site(contentSecurityPolicy={directive: ["https://ok.example.com", source]})


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ({"frameSrc": ["https://x.example.com"]}, "contentSecurityPolicy.frameSrc"),
        ({"defaultSrc": ["*"]}, "contentSecurityPolicy.defaultSrc"),
        ({"imgSrc": "https://images.example.com"}, "contentSecurityPolicy.imgSrc"),
        (["https://x.example.com"], "contentSecurityPolicy"),
        ({}, "contentSecurityPolicy"),
    ],
)
def test_bad_csp_shapes_are_refused_naming_the_key(value: Any, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"^oauth-exchange:{re.escape(key)}: "):
        _site(contentSecurityPolicy=value)


def test_plain_modules_import_without_pulumi() -> None:
    """The local stack installs no Pulumi: the package's plain modules must not pull it in."""
    probe = (
        "import sys; sys.path.insert(0, 'infra'); "
        "import oauth_exchange, oauth_exchange.settings, oauth_exchange.site_settings, oauth_exchange.packaging; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'pulumi_aws')))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO)
    assert result.stdout.strip() == "[]"
