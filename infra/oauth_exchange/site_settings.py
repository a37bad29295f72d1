"""The site, the stack's way: which SPA is published, on which domain, with which CSP additions, or none at all.

Plain Python with no Pulumi import, built on ``settings`` and ``site_headers``, so
the Pulumi program and the local stack derive the site origin, the site's
Content-Security-Policy and the pinned ``index.html`` from the same values.
Every error names the config key that is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oauth_exchange import settings as base
from oauth_exchange import site_headers, spa_config
from oauth_exchange.assets import demo_site_dir
from oauth_exchange.settings import ConfigError, Settings, check_origin, settings_object

SITE_DIR_KEY = "siteDir"
DEPLOY_SITE_KEY = "deploySite"
CUSTOM_DOMAIN_KEY = "customDomain"
CSP_KEY = "contentSecurityPolicy"

CSP_DIRECTIVES = {
    "connectSrc": "connect-src",
    "imgSrc": "img-src",
    "styleSrc": "style-src",
    "fontSrc": "font-src",
    "scriptSrc": "script-src",
}
"""The directives a stack may add sources to (config name → CSP name); the rest stay the demo's."""

_HASH_SOURCE = re.compile(r"'sha(256|384|512)-[A-Za-z0-9+/_-]+={0,2}'")
_KEYWORDS = {
    "connectSrc": {"'self'"},
    "imgSrc": {"'self'"},
    "styleSrc": {"'self'", "'unsafe-inline'"},
    "fontSrc": {"'self'"},
    "scriptSrc": {"'self'", "'wasm-unsafe-eval'"},
}
_NEVER_FOR_SCRIPTS = {"'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "'strict-dynamic'"}
_SCHEMES = {
    "connectSrc": set(),
    "imgSrc": {"data:", "blob:", "https:"},
    "styleSrc": set(),
    "fontSrc": {"data:"},
    "scriptSrc": set(),
}
_HOST_SOURCE = re.compile(
    r"(?P<scheme>https|wss|http)://(?P<host>(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)"
    r"(:(?P<port>\d{1,5}))?(?P<path>/[A-Za-z0-9._~%/-]*)?"
)
_DOMAIN_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_HOSTED_ZONE_ID = re.compile(r"Z[A-Z0-9]{1,31}")
_CERTIFICATE_ARN = re.compile(
    r"arn:aws:acm:(?P<region>[a-z]{2}(-[a-z]+)+-\d):\d{12}:certificate/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}"
)
CERTIFICATE_REGION = "us-east-1"
"""CloudFront takes its certificates from ACM in us-east-1 only, whatever region the stack deploys to."""
MINIMUM_TLS_VERSION = "TLSv1.2_2021"


@dataclass(frozen=True)
class DomainSettings:
    """The site's own name: a certificate is made and DNS-validated in the zone, or an issued one is used."""

    domain: str
    hosted_zone_id: str | None = None
    certificate_arn: str | None = None

    def __post_init__(self) -> None:
        if self.hosted_zone_id is None and self.certificate_arn is None:
            raise ConfigError(
                CUSTOM_DOMAIN_KEY,
                "needs hostedZoneId (a Route 53 zone to validate a new certificate in) "
                f"or certificateArn (an issued certificate in {CERTIFICATE_REGION})",
            )

    @property
    def origin(self) -> str:
        return f"https://{self.domain}"


@dataclass(frozen=True)
class SiteSettings:
    """How the SPA is served; the default is the demo SPA on the distribution's own domain."""

    deploy: bool = True
    site_dir: Path = field(default_factory=demo_site_dir)
    custom_domain: DomainSettings | None = None
    csp_additions: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """``(CSP directive, extra sources)`` pairs, e.g. ``("img-src", ("https://images.example.com",))``."""

    def csp_sources(self, directive: str) -> tuple[str, ...]:
        return next((sources for name, sources in self.csp_additions if name == directive), ())


def _csp_source(key: str, directive: str, value: Any) -> str:
    if not isinstance(value, str) or not value or any(c.isspace() or c in ";," for c in value):
        raise ConfigError(key, "must be one CSP source without spaces, ';' or ',', e.g. https://cdn.example.com")
    lowered = value.lower()
    if value == "*" or lowered in ("https://*", "http://*", "wss://*"):
        raise ConfigError(key, "a wildcard source is never allowed; list each origin")
    if directive == "scriptSrc" and lowered in _NEVER_FOR_SCRIPTS:
        raise ConfigError(
            key, f"{value} is never allowed for scripts: it would let injected script run and read the tokens"
        )
    if value.startswith("'"):
        if lowered in _KEYWORDS[directive] or (directive in ("scriptSrc", "styleSrc") and _HASH_SOURCE.fullmatch(value)):
            return value if _HASH_SOURCE.fullmatch(value) else lowered
        raise ConfigError(key, f"{value} is not a keyword {directive} accepts here")
    if lowered.endswith(":") and "/" not in lowered:
        if lowered in _SCHEMES[directive]:
            return lowered
        raise ConfigError(key, f"the scheme source {value} is too broad for {directive}; name the origins")
    match = _HOST_SOURCE.fullmatch(value)
    if match is None:
        raise ConfigError(key, f"{value!r} is not an origin like https://cdn.example.com (scheme included)")
    scheme, host = match["scheme"], match["host"]
    if directive == "scriptSrc" and host.startswith("*."):
        raise ConfigError(key, "scripts come from exact hosts only; a *. wildcard is not allowed here")
    if scheme == "wss" and directive != "connectSrc":
        raise ConfigError(key, "wss:// sources belong in connectSrc")
    if scheme == "http" and not base.is_loopback_host(host):
        raise ConfigError(key, f"{value!r} must use https (http is allowed only for localhost)")
    if match["port"] is not None and not 0 < int(match["port"]) < 65536:
        raise ConfigError(key, f"{value!r} has an invalid port")
    return value


def _csp_additions(value: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if value is None or value == "":
        return ()
    value = settings_object(
        CSP_KEY,
        value,
        tuple(CSP_DIRECTIVES),
        must="an object like {imgSrc: [https://images.example.com]}",
        empty="add sources per directive, e.g. {imgSrc: [https://images.example.com]}, or remove it",
        stray="cannot be widened",
    )
    additions = []
    for name, directive in CSP_DIRECTIVES.items():
        sources = value.get(name)
        if sources is None:
            continue
        if isinstance(sources, str) or not isinstance(sources, Sequence):
            raise ConfigError(f"{CSP_KEY}.{name}", "must be a list of sources, e.g. [https://cdn.example.com]")
        checked = [_csp_source(f"{CSP_KEY}.{name}[{i}]", name, s) for i, s in enumerate(sources)]
        if checked:
            additions.append((directive, tuple(dict.fromkeys(checked))))
    return tuple(additions)


def _domain(value: Any) -> DomainSettings | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = {"domain": value}
    value = settings_object(
        CUSTOM_DOMAIN_KEY,
        value,
        ("domain", "hostedZoneId", "certificateArn"),
        must="an object like {domain: app.example.com, hostedZoneId: Z...}",
    )
    domain = value.get("domain")
    labels = domain.split(".") if isinstance(domain, str) else []
    if (
        len(labels) < 2
        or len(domain) > 253
        or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ConfigError(
            f"{CUSTOM_DOMAIN_KEY}.domain", "must be a lowercase DNS name such as app.example.com (no scheme, no wildcard)"
        )
    zone = value.get("hostedZoneId") or None
    if zone is not None and (not isinstance(zone, str) or not _HOSTED_ZONE_ID.fullmatch(zone)):
        raise ConfigError(f"{CUSTOM_DOMAIN_KEY}.hostedZoneId", "must be a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ")
    arn = value.get("certificateArn") or None
    if arn is not None:
        match = _CERTIFICATE_ARN.fullmatch(arn) if isinstance(arn, str) else None
        if match is None:
            raise ConfigError(
                f"{CUSTOM_DOMAIN_KEY}.certificateArn",
                "must be an ACM certificate ARN, arn:aws:acm:us-east-1:<account>:certificate/<id>",
            )
        if match["region"] != CERTIFICATE_REGION:
            raise ConfigError(
                f"{CUSTOM_DOMAIN_KEY}.certificateArn",
                f"is in {match['region']}; CloudFront only uses certificates from {CERTIFICATE_REGION}",
            )
    return DomainSettings(domain=domain, hosted_zone_id=zone, certificate_arn=arn)


def check_site_dir(value: Any, base_dir: Path) -> Path:
    """A built SPA folder with an ``index.html`` that has a ``<head>`` (the pinned CSP goes there)."""
    if not isinstance(value, str | Path) or not str(value).strip():
        raise ConfigError(SITE_DIR_KEY, "must be the path of a built SPA folder, e.g. dist")
    path = (base_dir / value).resolve()
    if not path.is_dir():
        raise ConfigError(SITE_DIR_KEY, f"{path} is not a folder; build the SPA first or fix the path")
    index = path / "index.html"
    if not index.is_file():
        raise ConfigError(SITE_DIR_KEY, f"{path} has no index.html: the site serves it for / and client-side routes")
    try:
        html = index.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(SITE_DIR_KEY, f"{index} is not UTF-8 text") from None
    if not spa_config._HEAD_TAG.search(html):
        raise ConfigError(SITE_DIR_KEY, f"{index} has no <head> element, where the site's connect policy goes")
    return path


def load_site_settings(values: Mapping[str, Any], settings: Settings, base_dir: Path) -> SiteSettings:
    """Validate ``siteDir``, ``deploySite``, ``customDomain`` and ``contentSecurityPolicy``.

    ``values`` holds config keys without the namespace, as for
    ``load_settings``; ``base_dir`` is what a relative ``siteDir`` is relative
    to (the Pulumi project directory).
    """
    deploy = base._bool(DEPLOY_SITE_KEY, values.get(DEPLOY_SITE_KEY), True)
    raw_site_dir = values.get(SITE_DIR_KEY) or None
    domain = _domain(values.get(CUSTOM_DOMAIN_KEY))
    additions = _csp_additions(values.get(CSP_KEY))
    if not deploy:
        site_only = (
            (SITE_DIR_KEY, raw_site_dir),
            (CUSTOM_DOMAIN_KEY, domain),
            (CSP_KEY, additions),
            (base.HSTS_KEY, settings.hsts_include_subdomains),
        )
        for key, given in site_only:
            if given:
                raise ConfigError(key, "applies to the site this stack deploys, and deploySite is false")
        if not settings.extra_origins:
            raise ConfigError(
                "extraOrigins",
                "deploySite is false, so the SPA is served elsewhere: list its origin(s), e.g. [https://app.example.com]",
            )
    site_dir = demo_site_dir() if raw_site_dir is None else check_site_dir(raw_site_dir, base_dir)
    return SiteSettings(deploy=deploy, site_dir=site_dir, custom_domain=domain, csp_additions=additions)


def site_origin(site: SiteSettings, distribution_domain: str) -> str:
    """The SPA's origin: its custom domain when it has one, else the distribution's own domain."""
    if site.custom_domain is not None:
        return site.custom_domain.origin
    return check_origin("site origin", f"https://{distribution_domain}")


def content_security_policy(settings: Settings, site: SiteSettings, function_origin: str) -> str:
    """The demo's policy (``site_headers.content_security_policy``) with the stack's additions per directive."""
    policy = site_headers.content_security_policy(settings, function_origin)
    directives = [directive.split(" ") for directive in policy.split("; ")]
    for name, sources in site.csp_additions:
        directive = next((d for d in directives if d[0] == name), None)
        if directive is None:
            directive = [name, "'self'"]
            directives.insert(1 + next(i for i, d in enumerate(directives) if d[0] == "img-src"), directive)
        directive.extend(source for source in sources if source not in directive)
    return "; ".join(" ".join(directive) for directive in directives)


def site_security_headers(settings: Settings, site: SiteSettings, function_origin: str) -> dict[str, str]:
    """``site_headers.site_security_headers`` with the stack's CSP additions."""
    headers = site_headers.site_security_headers(settings, function_origin)
    headers["Content-Security-Policy"] = content_security_policy(settings, site, function_origin)
    return headers


def connect_sources(settings: Settings, site: SiteSettings, function_origin: str) -> list[str]:
    """Everything the SPA fetches from: what a site served elsewhere must allow in its ``connect-src``."""
    pinned = site_headers.connect_policy(settings, function_origin).split(" ")[1:]
    return list(dict.fromkeys([*pinned, *site.csp_sources("connect-src")]))


def render_index_html(html: str, settings: Settings, site: SiteSettings, function_origin: str) -> str:
    """``spa_config.render_index_html``, its pinned ``connect-src`` widened by the stack's ``connectSrc``."""
    rendered = spa_config.render_index_html(html, settings, function_origin)
    extra = site.csp_sources("connect-src")
    if not extra:
        return rendered
    pinned = site_headers.connect_policy(settings, function_origin)
    widened = "connect-src " + " ".join(connect_sources(settings, site, function_origin))
    return rendered.replace(f'content="{pinned}"', f'content="{widened}"', 1)
