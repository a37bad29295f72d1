"""CMS popup mode's endpoints: the CMSs' auth endpoint and base URL, the admin pages' origins, the callback URLs."""

from __future__ import annotations

from oauth_exchange.origins import _origin_of
from oauth_exchange.settings import Settings, check_origin, check_url


CMS_AUTH_ENDPOINT = "auth"
"""The CMSs' ``auth_endpoint``: the function serves ``GET /auth``."""
CMS_CALLBACK_PREFIX = "/callback"
"""The function's CMS callbacks: ``<function origin>/callback/<provider>``."""


def cms_origins(settings: Settings, site_origin: str) -> list[str]:
    """The CMS admin pages' origins: the only places a CMS sign-in is ever handed to."""
    cms = settings.cms
    if cms is None:
        return []
    site = [check_origin("site origin", site_origin)] if cms.include_site_origin else []
    return list(dict.fromkeys([*cms.origins, *site]))


def cms_base_url(function_url: str) -> str:
    """The CMSs' ``base_url``: the function URL's origin, exactly (Decap compares it to message origins)."""
    return _origin_of(check_url("function URL", function_url))


def cms_callback_urls(settings: Settings, function_url: str) -> dict[str, str]:
    """Per CMS provider, the callback URL to register at it (a stack output)."""
    if settings.cms is None:
        return {}
    base = cms_base_url(function_url)
    return {p.name: f"{base}{CMS_CALLBACK_PREFIX}/{p.name}" for p in settings.cms.providers}
