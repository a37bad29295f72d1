"""The site's security headers: its Content-Security-Policy (and ``connect-src`` pin), HSTS and the rest."""

from __future__ import annotations

import re

from oauth_exchange.origins import _origin_of
from oauth_exchange.settings import ConfigError, Settings


def content_security_policy(settings: Settings, function_origin: str) -> str:
    """The site's CSP: only itself, the function and the provider APIs the SPA calls."""
    images = [o for p in settings.providers for o in p.image_origins]
    directives = [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src " + " ".join(["'self'", "data:", *dict.fromkeys(images)]),
        connect_policy(settings, function_origin),
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


HSTS_MAX_AGE_SECONDS = 31536000
"""One year: the site's own host only, which is all a stack can vouch for."""
HSTS_SUBDOMAINS_MAX_AGE_SECONDS = 63072000
"""Two years, what the HSTS preload list asks for, sent with ``includeSubDomains`` only when the stack opts in."""


def strict_transport_security(settings: Settings) -> str:
    """The site's HSTS header: its own host for a year, or every subdomain too when the stack asks.

    On an apex custom domain ``includeSubDomains`` forces HTTPS on every name
    under the user's domain, services the stack knows nothing of: opt-in.
    """
    if settings.hsts_include_subdomains:
        return f"max-age={HSTS_SUBDOMAINS_MAX_AGE_SECONDS}; includeSubDomains"
    return f"max-age={HSTS_MAX_AGE_SECONDS}"


def site_security_headers(settings: Settings, function_origin: str) -> dict[str, str]:
    """Headers every site response carries, on CloudFront and in the local stack alike."""
    return {
        "Content-Security-Policy": content_security_policy(settings, function_origin),
        "Strict-Transport-Security": strict_transport_security(settings),
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
    }


def connect_policy(settings: Settings, function_origin: str) -> str:
    """A CSP that pins ``connect-src`` to the exact function URL.

    On AWS the site's header CSP can only name the function URL's region
    (``https://*.lambda-url.<region>.on.aws``): the function's CORS needs the
    distribution's domain, so the distribution cannot also wait for the
    function URL. This second policy, set in ``index.html``, is built after
    both exist; browsers enforce every policy, so the intersection is exact.
    """
    if settings.session is not None:
        # Session mode: the SPA talks only to /api/ on its own origin; provider APIs go through the proxy.
        return "connect-src 'self'"
    connect = [function_origin, *(_origin_of(p.userinfo_url) for p in settings.providers if p.userinfo_url)]
    connect += [_origin_of(p.api_base_url) for p in settings.providers if p.api_base_url]
    return "connect-src " + " ".join(["'self'", *dict.fromkeys(connect)])


def function_url_origin_pattern(region: str) -> str:
    """Every function URL origin in a region: what the header CSP can name before the URL exists."""
    if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region):
        raise ConfigError("aws:region", f"{region!r} is not an AWS region name")
    return f"https://*.lambda-url.{region}.on.aws"
