"""The origins the function serves, its function URL CORS, and each provider's redirect URIs."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from oauth_exchange.settings import Provider, Settings, check_origin


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.lower()}"


def allowed_origins(settings: Settings, site_origin: str | None) -> list[str]:
    """The SPA origins the function serves: the site itself (None when the stack deploys no site), then the extra ones."""
    site = [] if site_origin is None else [check_origin("site origin", site_origin)]
    return list(dict.fromkeys([*site, *settings.extra_origins]))


@dataclass(frozen=True)
class FunctionUrlCors:
    """The function URL's CORS configuration: the deployed one and the local emulator's."""

    allow_origins: tuple[str, ...]
    allow_methods: tuple[str, ...] = ("POST",)
    allow_headers: tuple[str, ...] = ("content-type",)
    max_age: int = 86400
    allow_credentials: bool = False


def function_url_cors(settings: Settings, site_origin: str) -> FunctionUrlCors:
    """Exactly the SPA's origins may read the function's answers; no cookies, POST only."""
    return FunctionUrlCors(allow_origins=tuple(allowed_origins(settings, site_origin)))


def callback_path(settings: Settings, provider: Provider) -> str:
    """The path a provider redirects back to; one per provider, so a callback always names its provider."""
    return f"{settings.callback_path}/{provider.name}"


def redirect_uris(settings: Settings, site_origin: str | None, provider: Provider) -> list[str]:
    """The provider's callback URL on each allowed origin: register these at that provider (RFC 9700 §4.4)."""
    path = callback_path(settings, provider)
    return [origin + path for origin in allowed_origins(settings, site_origin)]


def callback_urls(settings: Settings, site_origin: str) -> dict[str, list[str]]:
    """Per provider, the URLs to register at it (a stack output)."""
    return {p.name: redirect_uris(settings, site_origin, p) for p in settings.providers}
