"""The exchange function's configuration document (``OAUTH_CONFIG``) and how it travels to the function."""

from __future__ import annotations

import json
from typing import Any

from oauth_exchange.cms_endpoints import cms_origins
from oauth_exchange.origins import allowed_origins, callback_path, redirect_uris
from oauth_exchange.session_contract import CSRF_HEADER, EDGE_SECRET_HEADER, SESSION_COOKIE, SITE_ORIGIN_HEADER
from oauth_exchange.settings import Provider, Settings, scope_granted, access_policy_scopes, check_origin


def function_config(settings: Settings, site_origin: str | None, function_origin: str | None = None) -> dict[str, Any]:
    """The exchange function's ``OAUTH_CONFIG`` (docs/configuration.md).

    ``function_origin``: the function's own origin when known in advance (the
    local stack); on AWS the function takes it from the request's domain.
    """
    config = {
        **cms_function_config(settings, site_origin, function_origin),
        "providers": {
            p.name: {
                "client_id": p.client_id,
                "token_url": p.token_url,
                "token_auth": p.token_auth,
                "revoke_url": p.revoke_url,
                "revoke_style": p.revoke_style,
                "refresh": p.refresh,
                "pkce": p.pkce,
                "redirect_uris": redirect_uris(settings, site_origin, p),
                **_allow_entry(p),
            }
            for p in settings.providers
        },
        "allowed_origins": allowed_origins(settings, site_origin),
        "timeout_seconds": settings.timeout_seconds,
        "secret_cache_seconds": settings.secret_cache_seconds,
    }
    if settings.session is not None:
        config["session"] = session_function_config(settings, site_origin)
    return config


def _allow_entry(provider: Provider) -> dict[str, Any]:
    policy = access_policy_config(provider)
    return {} if policy is None else {"allow": policy}


FUNCTION_LOG_FORMAT = "JSON"
FUNCTION_LOG_LEVEL = "INFO"
"""How the function logs on Lambda (and so in the local stack): JSON records, INFO and up."""


FUNCTION_CONFIG_FILE = "oauth_config.json"
"""Where the function's configuration travels: a file at the root of its zip, not an environment variable.

Lambda caps a function's whole environment at 4 KB, and access policies of
hundreds of entries (an org's contributor list) are a real need.
"""
FUNCTION_CONFIG_FILE_ENV = "OAUTH_CONFIG_FILE"
"""Names that file; a relative name is read from the function's task root (``LAMBDA_TASK_ROOT``)."""


def function_config_json(settings: Settings, site_origin: str | None, function_origin: str | None = None) -> str:
    return json.dumps(function_config(settings, site_origin, function_origin), sort_keys=True, separators=(",", ":"))


def access_policy_config(provider: Provider) -> dict[str, Any] | None:
    """The provider's ``allow`` as the function checks it (``OAUTH_CONFIG.providers.<name>.allow``); None: anyone."""
    allow = provider.allow
    if not allow.restricts:
        return None
    config: dict[str, Any] = {"check": provider.access_check}
    if provider.access_check == "github":
        config["api_url"] = provider.api_base_url
    else:
        config["userinfo_url"] = provider.oidc_userinfo_url
    lists = {
        "users": allow.users,
        "orgs": allow.orgs,
        "teams": allow.teams,
        "emails": allow.emails,
        "email_domains": allow.email_domains,
    }
    config.update({name: list(items) for name, items in lists.items() if items})
    return config


def cms_function_config(settings: Settings, site_origin: str, function_origin: str | None = None) -> dict[str, Any]:
    """``OAUTH_CONFIG.cms``, only when CMS mode is on: without it the function has no CMS routes."""
    cms = settings.cms
    if cms is None:
        return {}
    return {
        "cms": {
            "origins": cms_origins(settings, site_origin),
            "providers": {
                p.name: {
                    "authorize_url": settings.provider(p.name).authorize_url,
                    "scopes": list(p.scopes),
                    "required_scopes": _policy_scopes(settings.provider(p.name), p.scopes),
                }
                for p in cms.providers
            },
            "callback_origin": None if function_origin is None else check_origin("function origin", function_origin),
        }
    }


def _policy_scopes(provider: Provider, granted: tuple[str, ...]) -> list[str]:
    """The scopes the provider's access policy needs that the CMS scopes do not already grant."""
    needed = access_policy_scopes(provider.allow, provider.access_check)
    return [s for s in needed if not scope_granted(s, granted)]


def session_function_config(settings: Settings, site_origin: str | None) -> dict[str, Any]:
    """``OAUTH_CONFIG.session``: what the function needs to serve ``/api/``.

    ``origins`` lists the site origins the function accepts in the
    distribution's ``SITE_ORIGIN_HEADER``; empty means the one the
    distribution names (on AWS without a custom domain the distribution's
    own domain cannot be known before it exists, and only it can invoke the
    function URL). Redirect URIs are that origin plus each provider's
    callback path.
    """
    assert settings.session is not None
    return {
        "cookie_name": SESSION_COOKIE,
        "csrf_header": CSRF_HEADER,
        "origin_header": SITE_ORIGIN_HEADER,
        "edge_header": EDGE_SECRET_HEADER,
        "origins": [] if site_origin is None else [check_origin("site origin", site_origin)],
        "idle_seconds": settings.session.idle_minutes * 60,
        "max_seconds": settings.session.max_hours * 3600,
        "expose_access_token": settings.session.expose_access_token,
        "providers": {
            p.name: {
                "callback_path": callback_path(settings, p),
                "userinfo_url": p.userinfo_url,
                "api_base_url": p.api_base_url,
                "api_paths": [{"methods": list(a.methods), "prefix": a.prefix} for a in p.api_paths],
            }
            for p in settings.providers
        },
    }
