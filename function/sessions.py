"""Session mode: the function as the SPA's backend-for-frontend, on the site's own origin under ``/api/``.

The browser holds only an HttpOnly ``__Host-`` cookie with 256 random bits;
the tokens stay in the session table, and the provider's API is reached
through ``/api/proxy/...`` (``api_proxy``). Routes:

* ``POST /api/session`` ``{provider, code, redirect_uri, code_verifier}``:
  the code is redeemed through ``grants`` (so the access policy applies),
  the user is read from the provider's user-info URL, the tokens are stored
  and the answer is the session view ``{provider, scope, expiresAt, user}``
  with the cookie;
* ``GET /api/session``: the session view, or ``401 not_signed_in``;
* ``GET /api/session/token``: the current access token, only with
  ``exposeAccessToken``;
* ``DELETE /api/session``: the item is deleted, both tokens are revoked at
  the provider, the cookie is cleared.

Every ``/api/`` request must carry the CSRF header; a ``Sec-Fetch-Site``
other than ``same-origin`` and an ``Origin`` other than the site's are
refused. The site's origin is what the distribution says in its header,
once its edge secret has shown the request came through it (``edge_check``).

A session ends after ``idle_seconds`` without use or ``max_seconds`` after
sign-in. An access token due for refresh is refreshed first, once however
many requests find it due (see ``session_store``), and the new tokens are
stored before any answer goes back.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import time
from collections.abc import Mapping
from typing import Any

import api_proxy
import edge_check
import grants
import token_api
from container import Invocation
from exchange_errors import ExchangeError
from oauth_config import PROVIDER_NAME, LOOPBACK_HOSTS, OAuthConfig, ProviderSettings, SessionConfig
from session_store import SessionStore, SessionStoreError, StoredSession, session_key
from web import ExchangeRequest, ExchangeResponse, json_payload

PATH_PREFIX = "/api/"
SESSION_PATH = "/api/session"
TOKEN_PATH = "/api/session/token"
COOKIE_VALUE = re.compile(r"[A-Za-z0-9_-]{43}")
COOKIE_BYTES = 32
REFRESH_LEAD_SECONDS = 60
"""Refresh this long before the access token expires (half its lifetime if that is shorter)."""
TOUCH_SECONDS = 60
"""Record use at most this often: the idle limit is that precise, and a busy session writes rarely."""
POLL_SECONDS = (0.05, 0.1, 0.2)
"""How often a request that lost the refresh claim re-reads, backing off to the last value."""
USER_FIELDS = (
    "id",
    "sub",
    "login",
    "username",
    "preferred_username",
    "name",
    "email",
    "avatar_url",
    "picture",
    "html_url",
    "web_url",
)
"""What the session view keeps of the provider's user-info answer (GitHub, GitLab, OpenID Connect)."""
MAX_USER_VALUE_CHARS = 512
_SITE_ORIGIN = re.compile(r"(https?)://([a-z0-9.-]+|\[[0-9a-f:]+\])(:[0-9]{1,5})?")


def route_name(path: str) -> str:
    """What the request log line shows: fixed names, never the proxied path (it may name private things)."""
    if path in (SESSION_PATH, TOKEN_PATH):
        return path
    if path.startswith(api_proxy.PREFIX):
        return "/api/proxy"
    return "/api/other"


def handle(invocation: Invocation) -> ExchangeResponse:
    config, request, store = invocation.config.session, invocation.request, invocation.sessions
    if config is None or store is None:
        raise ExchangeError("not_found")
    if config.edge_header is not None:
        edge_check.check(invocation.secrets, request.headers.get(config.edge_header))
    site = _site_origin(config, request)
    _check_csrf(config, request, site)
    path = request.path
    if path == SESSION_PATH:
        if request.method == "POST":
            return _sign_in(invocation, config, store, site)
        if request.method == "GET":
            return ExchangeResponse(200, _view(_current(invocation, config, store)))
        if request.method == "DELETE":
            return _sign_out(invocation, config, store)
        raise ExchangeError("method_not_allowed", "Use GET, POST or DELETE here.", headers={"Allow": "GET, POST, DELETE"})
    if path == TOKEN_PATH and config.expose_access_token:
        if request.method != "GET":
            raise ExchangeError("method_not_allowed", "Use GET here.", headers={"Allow": "GET"})
        return ExchangeResponse(200, _token_view(_fresh(invocation, config, store)))
    if path.startswith(api_proxy.PREFIX):
        destination = api_proxy.target(invocation.config, request)
        stored = _fresh(invocation, config, store)
        if stored.provider != destination.provider:
            raise ExchangeError("path_not_allowed", "This session is signed in with another provider.")
        return api_proxy.forward(invocation, destination, stored.token_type, stored.access_token)
    raise ExchangeError("not_found", "There is nothing at this path under /api/.")


# -- who is asking ---------------------------------------------------------------


def _site_origin(config: SessionConfig, request: ExchangeRequest) -> str:
    """The origin the viewer is on, as the distribution reports it."""
    value = request.headers.get(config.origin_header, "").strip().lower()
    match = _SITE_ORIGIN.fullmatch(value)
    if match is None:
        raise ExchangeError("server_error", log_detail="no site origin from the distribution (viewer-request function missing?)")
    scheme, host = match.group(1), match.group(2)
    if scheme == "http" and host.strip("[]") not in LOOPBACK_HOSTS:
        raise ExchangeError("server_error", log_detail="site origin is plain http on a public host")
    if config.origins and value not in config.origins:
        raise ExchangeError("csrf_rejected", log_detail="site origin not among the configured ones")
    return value


def _check_csrf(config: SessionConfig, request: ExchangeRequest, site: str) -> None:
    """Only the site's own scripts: a custom header (no CORS here), same-origin fetch metadata, the site's Origin."""
    if not request.headers.get(config.csrf_header, "").strip():
        raise ExchangeError("csrf_rejected", log_detail="CSRF header missing")
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.strip().lower() != "same-origin":
        raise ExchangeError("csrf_rejected", log_detail="Sec-Fetch-Site is not same-origin")
    origin = request.headers.get("origin")
    if origin is not None and origin.strip().lower() != site:
        raise ExchangeError("csrf_rejected", log_detail="Origin is not the site")


# -- the cookie ------------------------------------------------------------------


def _set_cookie(config: SessionConfig, value: str) -> str:
    return f"{config.cookie_name}={value}; Path=/; Max-Age={config.max_seconds}; Secure; HttpOnly; SameSite=Strict"


def _clear_cookie(config: SessionConfig) -> str:
    return f"{config.cookie_name}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict"


def _cookie_value(config: SessionConfig, request: ExchangeRequest) -> str | None:
    value = request.cookies.get(config.cookie_name)
    return value if value is not None and COOKIE_VALUE.fullmatch(value) else None


def _not_signed_in(config: SessionConfig, request: ExchangeRequest, detail: str) -> ExchangeError:
    """401, clearing the cookie when the browser sent one."""
    cookies = (_clear_cookie(config),) if config.cookie_name in request.cookies else ()
    return ExchangeError("not_signed_in", log_detail=detail, cookies=cookies)


def _unavailable(error: SessionStoreError) -> ExchangeError:
    return ExchangeError("session_unavailable", log_detail=str(error))


# -- the session's life ----------------------------------------------------------


def _current(invocation: Invocation, config: SessionConfig, store: SessionStore) -> StoredSession:
    """The request's live session, its use recorded; ``not_signed_in`` without one."""
    request = invocation.request
    value = _cookie_value(config, request)
    if value is None:
        raise _not_signed_in(config, request, "no session cookie")
    try:
        stored = store.get(session_key(value))
        if stored is None:
            raise _not_signed_in(config, request, "session unknown or deleted")
        now = int(time.time())
        if now >= min(stored.created_at + config.max_seconds, stored.last_seen_at + config.idle_seconds):
            store.delete(stored.key)
            raise _not_signed_in(config, request, "session expired")
        if now - stored.last_seen_at >= min(TOUCH_SECONDS, config.idle_seconds // 10):
            expires_at = _expiry(config, stored.created_at, now)
            if not store.touch(stored.key, now, expires_at):
                raise _not_signed_in(config, request, "session deleted meanwhile")
            stored = dataclasses.replace(stored, last_seen_at=now, expires_at=expires_at)
    except SessionStoreError as error:
        raise _unavailable(error) from None
    if stored.provider not in invocation.config.providers:
        raise _not_signed_in(config, request, "session of a provider no longer configured")
    return stored


def _fresh(invocation: Invocation, config: SessionConfig, store: SessionStore) -> StoredSession:
    """The live session with an access token that is not due for refresh (refreshing it first if it is)."""
    stored = _current(invocation, config, store)
    deadline = time.monotonic() + invocation.time_budget()
    try:
        while _refresh_due(stored):
            if stored.refresh_token is None:
                if stored.access_expires_at is not None and time.time() >= stored.access_expires_at:
                    store.delete(stored.key)
                    raise _not_signed_in(config, invocation.request, "access token expired, no refresh token")
                return stored
            claim = secrets.token_hex(8)
            now = int(time.time())
            if store.claim_refresh(stored.key, stored.version, claim, now + _claim_seconds(invocation), now):
                return _refresh(invocation, config, store, stored, claim)
            stored = _await_refresh(invocation, config, store, stored, deadline)
    except SessionStoreError as error:
        raise _unavailable(error) from None
    return stored


def _refresh_due(stored: StoredSession) -> bool:
    return stored.refresh_at is not None and time.time() >= stored.refresh_at


def _claim_seconds(invocation: Invocation) -> int:
    """Long enough for the refresh (provider budget, a secret read, the DynamoDB write): it never lapses while in use."""
    return int(invocation.time_budget()) + 10


def _await_refresh(
    invocation: Invocation, config: SessionConfig, store: SessionStore, seen: StoredSession, deadline: float
) -> StoredSession:
    """Another request holds the claim: re-read until it stored new tokens, or its claim ended without them."""
    for attempt in range(10_000):
        time.sleep(POLL_SECONDS[min(attempt, len(POLL_SECONDS) - 1)])
        stored = store.get(seen.key)
        if stored is None:
            raise _not_signed_in(config, invocation.request, "session ended during another request's refresh")
        if stored.version != seen.version or stored.lock_until is None or stored.lock_until < time.time():
            return stored
        if time.monotonic() >= deadline:
            break
    raise ExchangeError("provider_timeout", log_detail="another request's refresh did not finish in time")


def _refresh(
    invocation: Invocation, config: SessionConfig, store: SessionStore, stored: StoredSession, claim: str
) -> StoredSession:
    """Redeem the refresh token under the claim, and store what the provider answered before using it."""
    assert stored.refresh_token is not None
    call = invocation.provider_call(invocation.config.providers[stored.provider])
    try:
        tokens = grants.refresh_tokens(call, stored.refresh_token)
    except ExchangeError as error:
        if error.error == "invalid_grant":
            store.delete(stored.key)
            raise _not_signed_in(config, invocation.request, "refresh token rejected by the provider") from None
        store.release(stored.key, claim)
        if stored.access_expires_at is not None and time.time() < stored.access_expires_at:
            invocation.note.detail = f"refresh failed ({error.error}), old access token still valid"
            return stored
        raise
    refreshed = _with_tokens(stored, tokens, int(time.time()))
    if not store.store_tokens(refreshed, claim):
        # Signed out meanwhile: nobody holds these tokens; leave nothing usable behind.
        _revoke_quietly(call, refreshed.access_token, refreshed.refresh_token)
        raise _not_signed_in(config, invocation.request, "session ended during refresh")
    return refreshed


def _with_tokens(stored: StoredSession, tokens: Mapping[str, Any], now: int) -> StoredSession:
    access_expires_at, refresh_at = _token_times(tokens, now)
    refresh_token = tokens.get("refresh_token")
    return stored.with_tokens(
        access_token=tokens["access_token"],
        token_type=_text(tokens.get("token_type"), stored.token_type),
        scope=_text(tokens.get("scope"), stored.scope),
        # A provider that does not rotate answers without one: the old refresh token stays valid.
        refresh_token=refresh_token if isinstance(refresh_token, str) and refresh_token else stored.refresh_token,
        access_expires_at=access_expires_at,
        refresh_at=refresh_at,
    )


def _token_times(tokens: Mapping[str, Any], now: int) -> tuple[int | None, int | None]:
    lifetime = tokens.get("expires_in")
    if not isinstance(lifetime, int) or isinstance(lifetime, bool) or lifetime <= 0:
        return None, None
    return now + lifetime, now + lifetime - min(REFRESH_LEAD_SECONDS, lifetime // 2)


def _expiry(config: SessionConfig, created_at: int, last_seen_at: int) -> int:
    return min(created_at + config.max_seconds, last_seen_at + config.idle_seconds)


# -- the routes ------------------------------------------------------------------


def _sign_in(invocation: Invocation, config: SessionConfig, store: SessionStore, site: str) -> ExchangeResponse:
    request = invocation.request
    payload = json_payload(request)
    provider = _provider(invocation.config, payload)
    session_provider = config.providers[provider.name]
    # The only redirect URI a session sign-in accepts: this site's callback path for this provider.
    this_site = dataclasses.replace(provider, redirect_uris=frozenset({site + session_provider.callback_path}))
    form = token_api.authorization_code_form(this_site, payload)
    call = invocation.provider_call(this_site)
    tokens = grants.redeem_code(call, form).tokens
    now = int(time.time())
    value = secrets.token_urlsafe(COOKIE_BYTES)
    access_expires_at, refresh_at = _token_times(tokens, now)
    refresh_token = tokens.get("refresh_token")
    stored = StoredSession(
        key=session_key(value),
        provider=provider.name,
        access_token=tokens["access_token"],
        token_type=_text(tokens.get("token_type"), "bearer"),
        scope=_text(tokens.get("scope"), ""),
        refresh_token=refresh_token if isinstance(refresh_token, str) and refresh_token else None,
        access_expires_at=access_expires_at,
        refresh_at=refresh_at,
        created_at=now,
        last_seen_at=now,
        expires_at=_expiry(config, now, now),
        user=_user(call, session_provider.userinfo_url, tokens["access_token"]),
    )
    try:
        store.create(stored)
        previous = _cookie_value(config, request)
        if previous is not None:
            store.delete(session_key(previous))
    except SessionStoreError as error:
        _revoke_quietly(call, stored.access_token, stored.refresh_token)
        raise _unavailable(error) from None
    return ExchangeResponse(200, _view(stored), cookies=(_set_cookie(config, value),))


def _sign_out(invocation: Invocation, config: SessionConfig, store: SessionStore) -> ExchangeResponse:
    stored = _current(invocation, config, store)
    try:
        store.delete(stored.key)
    except SessionStoreError as error:
        raise _unavailable(error) from None
    provider = invocation.config.providers[stored.provider]
    revoked = provider.revoke_url is not None
    if revoked:
        call = invocation.provider_call(provider)
        try:
            grants.revoke_token(call, stored.access_token, stored.refresh_token)
        except ExchangeError as error:
            revoked = False
            invocation.note.detail = f"revocation failed ({error.error})"
    return ExchangeResponse(200, {"signedOut": True, "revoked": revoked}, cookies=(_clear_cookie(config),))


def _provider(config: OAuthConfig, payload: Mapping[str, Any]) -> ProviderSettings:
    name = payload.get("provider")
    if name is None and len(config.providers) == 1:
        return next(iter(config.providers.values()))
    if not isinstance(name, str) or not PROVIDER_NAME.fullmatch(name) or name not in config.providers:
        raise ExchangeError("invalid_request", "provider must name one of the configured providers.")
    return config.providers[name]


def _user(call: grants.ProviderCall, userinfo_url: str | None, access_token: str) -> dict[str, Any] | None:
    """Who signed in, from the provider's user-info URL; None when it has none or cannot say."""
    if userinfo_url is None:
        return None
    try:
        answer = call.send("GET", userinfo_url, headers={"Authorization": f"Bearer {access_token}"})
    except ExchangeError:
        return None
    if answer.status != 200 or answer.fields is None:
        return None
    user = {}
    for name in USER_FIELDS:
        value = answer.fields.get(name)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int) or (isinstance(value, str) and len(value) <= MAX_USER_VALUE_CHARS):
            user[name] = value
    return user or None


def _view(stored: StoredSession) -> dict[str, Any]:
    """What the SPA may see and keep: who, with what scope, until when; never a token."""
    return {"provider": stored.provider, "scope": stored.scope, "expiresAt": stored.expires_at * 1000, "user": stored.user}


def _token_view(stored: StoredSession) -> dict[str, Any]:
    view: dict[str, Any] = {"access_token": stored.access_token, "token_type": stored.token_type, "scope": stored.scope}
    if stored.access_expires_at is not None:
        view["expires_in"] = max(0, stored.access_expires_at - int(time.time()))
    return view


def _revoke_quietly(call: grants.ProviderCall, access_token: str, refresh_token: str | None) -> None:
    """Revoke tokens nobody will hold, with a fresh budget: the call that got them may have spent its own.

    A session write that stalled, or a refresh answer that came slowly, leaves
    no time on ``call``; the tokens must not outlive the failure for that.
    """
    if call.provider.revoke_url is None:
        return
    try:
        grants.revoke_token(call.renewed(), access_token, refresh_token)
    except ExchangeError:
        pass


def _text(value: Any, default: str) -> str:
    return value if isinstance(value, str) else default
