"""Browser mode: ``POST /token`` and ``POST /revoke``, called by the SPA through the function URL's CORS."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import grants
from container import Invocation
from exchange_errors import ExchangeError
from oauth_config import PROVIDER_NAME, OAuthConfig, ProviderSettings
from web import ExchangeResponse, bounded_string, json_payload

ROUTES = ("/token", "/revoke")


def handle(invocation: Invocation) -> ExchangeResponse:
    request, config = invocation.request, invocation.config
    if request.method != "POST":
        raise ExchangeError("method_not_allowed", headers={"Allow": "POST"})
    origin = request.headers.get("origin")
    if origin is not None and origin.lower() not in config.allowed_origins:
        raise ExchangeError("origin_not_allowed")
    payload = json_payload(request)
    if payload.get("grant_type") == "refresh_token":
        invocation.note.operation = "refresh"
    call = invocation.provider_call(_provider(config, payload))
    if request.path == "/token":
        return ExchangeResponse(200, _token(call, payload))
    return ExchangeResponse(200, _revoke(call, payload))


def _provider(config: OAuthConfig, payload: Mapping[str, Any]) -> ProviderSettings:
    name = payload.get("provider")
    if name is None:
        if len(config.providers) == 1:
            return next(iter(config.providers.values()))
        raise ExchangeError("invalid_request", "provider is required: several providers are configured.")
    if not isinstance(name, str) or not PROVIDER_NAME.fullmatch(name):
        raise ExchangeError("invalid_request", "provider must be 1-32 characters of a-z, 0-9 and -.")
    provider = config.providers.get(name)
    if provider is None:
        raise ExchangeError("invalid_request", "provider is not one of the configured providers.")
    return provider


def _token(call: grants.ProviderCall, payload: Mapping[str, Any]) -> Mapping[str, Any]:
    grant_type = payload.get("grant_type")
    if grant_type is None:
        grant_type = "authorization_code"
    if not isinstance(grant_type, str):
        raise ExchangeError("invalid_request", "grant_type must be a string.")
    if grant_type == "authorization_code":
        return grants.redeem_code(call, authorization_code_form(call.provider, payload)).tokens
    if grant_type == "refresh_token" and call.provider.refresh:
        return grants.refresh_tokens(call, bounded_string(payload, "refresh_token"))
    if grant_type == "refresh_token":
        raise ExchangeError("unsupported_grant_type", "This provider is not configured for refresh tokens.")
    raise ExchangeError("unsupported_grant_type", "grant_type must be authorization_code or refresh_token.")


def authorization_code_form(provider: ProviderSettings, payload: Mapping[str, Any]) -> dict[str, str]:
    """``{code, redirect_uri, code_verifier}`` of a JSON body, checked, as the provider's token request."""
    code = bounded_string(payload, "code")
    redirect_uri = payload.get("redirect_uri")
    if not isinstance(redirect_uri, str) or not redirect_uri:
        raise ExchangeError("invalid_request", "redirect_uri is required.")
    verifier = payload.get("code_verifier")
    if verifier is not None and not isinstance(verifier, str):
        raise ExchangeError("invalid_request", grants.VERIFIER_RULE)
    return grants.authorization_code_form(provider, code, redirect_uri, verifier)


def _revoke(call: grants.ProviderCall, payload: Mapping[str, Any]) -> Mapping[str, Any]:
    if call.provider.revoke_url is None:
        raise ExchangeError("unsupported_operation", "This provider has no token revocation endpoint.")
    token = bounded_string(payload, "token")
    refresh_token = None if payload.get("refresh_token") is None else bounded_string(payload, "refresh_token")
    grants.revoke_token(call, token, refresh_token)
    return {"revoked": True}
