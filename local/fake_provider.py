"""A fake OAuth 2.0 provider served over real HTTP on 127.0.0.1.

It speaks either GitHub's protocol (``style="github"``) or plain RFC 6749 /
RFC 7009 / RFC 7636 (``style="rfc6749"``), closely enough that the exchange
function, the SPA and the local stack can be exercised end to end without the
internet:

GitHub style
    ``GET /login/oauth/authorize`` consent page (Authorize / Deny buttons),
    ``POST /login/oauth/access_token`` (form or JSON; JSON answer only with
    ``Accept: application/json``, otherwise form-encoded; errors are HTTP 200
    with ``error``/``error_description``/``error_uri``), ``GET /user``,
    ``GET /user/emails``, ``GET /user/memberships/orgs/{org}``,
    ``GET /orgs/{org}/teams/{team_slug}/memberships/{username}``,
    ``DELETE /applications/{client_id}/token``, ``DELETE /applications/{client_id}/grant``
    (the user's authorization: every token of the app, refresh tokens too), ``GET /avatar.png``;
    unknown paths and tokens get GitHub's 404 body (``message``, ``documentation_url``).
RFC 6749 style
    ``GET /authorize``, ``POST /token`` (errors are HTTP 400, or 401
    ``invalid_client``), ``POST /revoke`` (RFC 7009: 200 even for unknown
    tokens), ``GET /userinfo`` (OIDC: ``email`` and ``email_verified`` with
    the ``email`` scope), ``GET /avatar.png``.

Codes are single-use and burnt by any exchange attempt that passed client
authentication. PKCE supports ``S256`` only. With ``refresh_tokens`` on, token
answers carry ``expires_in``, ``refresh_token`` and
``refresh_token_expires_in``, and refresh tokens rotate on use.

The OAuth endpoints live here; GitHub's REST API is ``local.fake_github_api``,
OpenID Connect's UserInfo and ID tokens ``local.fake_oidc``, the shared HTTP
plumbing and route tables ``local.fake_http``.

Usage::

    with FakeProvider("github", client_secret="s3cret", redirect_uris=["http://127.0.0.1:8000/"]) as fake:
        fake.urls["token"]            # where to exchange codes
        code = fake.authorize("http://127.0.0.1:8000/")   # what the consent page would issue
        fake.issued_access_tokens     # what it handed out; fake.seen is every request

The server records everything it saw (``seen``), everything it issued and
revoked, and how many TCP connections it accepted (``connections_accepted``).
Setting ``client_secret`` at run time simulates a rotated secret. The user's
GitHub organisations and teams (``orgs``, ``teams``: name -> membership
state), emails (``emails``) and organisations that restrict OAuth apps
(``restricted_orgs``) may be changed at run time too; ``user_api_outage``
set to a status makes every endpoint that describes the user answer it.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
import ssl
import struct
import threading
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus, urlencode, urlsplit

from local import fake_github_api, fake_oidc
from local.fake_http import FakeHandler, Route, SeenRequest, handler_class, route
from local.http_server import LoopbackServer

__all__ = ["GITHUB", "RFC6749", "STYLES", "DEFAULT_USER", "FakeProvider", "IssuedToken", "SeenRequest"]

GITHUB = "github"
RFC6749 = "rfc6749"
STYLES = (GITHUB, RFC6749)

_GITHUB_DOCS = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors"
_GITHUB_ERRORS = {
    "bad_verification_code": "The code passed is incorrect or expired.",
    "incorrect_client_credentials": "The client_id and/or client_secret passed are incorrect.",
    "redirect_uri_mismatch": "The redirect_uri MUST match the registered callback URL for this application.",
    "bad_refresh_token": "The refresh token passed is incorrect or expired.",
    "unsupported_grant_type": "The grant type is not supported.",
}

DEFAULT_USER = {
    "login": "octocat",
    "id": 583231,
    "name": "The Octocat",
    "email": "octocat@example.com",
    "email_verified": True,
}


@dataclass
class _Grant:
    code: str
    redirect_uri: str
    redirect_uri_given: bool
    scope: str
    code_challenge: str | None
    expires_at: float


@dataclass
class IssuedToken:
    scope: str
    expires_at: float | None


@dataclass
class _State:
    grants: dict[str, _Grant] = field(default_factory=dict)
    access_tokens: dict[str, IssuedToken] = field(default_factory=dict)
    refresh_tokens: dict[str, IssuedToken] = field(default_factory=dict)


class FakeProvider:
    """A fake OAuth provider; start it, point clients at ``urls``, inspect what it saw."""

    def __init__(
        self,
        style: str = GITHUB,
        *,
        client_id: str = "fake-client-id",
        client_secret: str = "fake-client-secret",
        redirect_uris: Iterable[str] = ("http://127.0.0.1:8000/",),
        allowed_origins: Iterable[str] = (),
        refresh_tokens: bool | None = None,
        token_auth: str | None = None,
        app_name: str = "OAuth Exchange Demo",
        user: Mapping[str, Any] | None = None,
        orgs: Mapping[str, str] | None = None,
        teams: Mapping[str, str] | None = None,
        emails: Iterable[Mapping[str, Any]] | None = None,
        code_ttl: float = 600.0,
        access_token_ttl: int = 28800,
        refresh_token_ttl: int = 15897600,
        keepalive_timeout: float | None = None,
        issuer: str | None = None,
        port: int = 0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """
        ``refresh_tokens`` defaults to off for GitHub (an OAuth app) and on for
        RFC 6749. ``token_auth`` ``"client_secret_post"`` or
        ``"client_secret_basic"`` makes the token and revocation endpoints
        accept only that method; None accepts either. ``keepalive_timeout``
        closes connections idle for that long, like a real front end. ``tls``
        (a server-side context, e.g. ``local.loopback_tls.LoopbackCA``'s) serves
        HTTPS instead of HTTP.

        ``orgs`` maps GitHub organisations to the user's membership state
        (``"active"``, or ``"pending"`` for an invitation not yet accepted);
        ``teams`` does the same for ``"org/team-slug"``. ``emails`` are
        ``GET /user/emails`` entries; by default the user's email, verified
        and primary. ``issuer`` adds RFC 9207's ``iss`` to every authorization
        response (GitHub sends none; it can be changed at run time).
        """
        if style not in STYLES:
            raise ValueError(f"style must be one of {STYLES}")
        if token_auth not in (None, "client_secret_post", "client_secret_basic"):
            raise ValueError("token_auth must be None, client_secret_post or client_secret_basic")
        self.style = style
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris = list(redirect_uris)
        self.allowed_origins = list(allowed_origins)
        self.refresh_tokens = (style == RFC6749) if refresh_tokens is None else refresh_tokens
        self.token_auth = token_auth
        self.app_name = app_name
        self.user = dict(DEFAULT_USER if user is None else user)
        self.orgs = dict(orgs or {})
        self.teams = dict(teams or {})
        self.emails = [dict(entry) for entry in emails] if emails is not None else self._default_emails()
        self.restricted_orgs: set[str] = set()
        self.user_api_outage: int | None = None
        self.code_ttl = code_ttl
        self.access_token_ttl = access_token_ttl
        self.refresh_token_ttl = refresh_token_ttl
        self.keepalive_timeout = keepalive_timeout
        self.issuer = issuer
        self._port = port
        self._tls = tls

        self.seen: list[SeenRequest] = []
        self.issued_codes: list[str] = []
        self.issued_access_tokens: list[str] = []
        self.issued_refresh_tokens: list[str] = []
        self.revoked_tokens: list[str] = []
        self.api_extensions: list[Any] = []
        """Further APIs this fake serves (e.g. ``fake_github_repo.FakeRepository``): tried before its own routes."""
        self.api_prefix = ""
        """Also serve every route under this path, as GitHub Enterprise Server serves its REST API under ``/api/v3``."""

        self._state = _State()
        self._lock = threading.Lock()
        self._server: LoopbackServer | None = None

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> FakeProvider:
        if self._server is not None:
            raise RuntimeError("a fake provider starts once")
        api = fake_github_api.ROUTES if self.style == GITHUB else fake_oidc.ROUTES
        oauth = GITHUB_OAUTH_ROUTES if self.style == GITHUB else RFC6749_OAUTH_ROUTES
        handler = handler_class(self, (oauth, api, ASSET_ROUTES), self.keepalive_timeout)
        self._server = LoopbackServer(handler, self._port, log_name="provider", ssl_context=self._tls)
        self._server.start("fake-provider")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("not started")
        return self._server.origin

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted so far: what keep-alive tests and the benchmark count."""
        return 0 if self._server is None else self._server.connections_accepted

    @property
    def urls(self) -> dict[str, str]:
        """Endpoint URLs; ``revoke`` keeps GitHub's ``{client_id}`` placeholder, as OAUTH_CONFIG does."""
        base = self.base_url
        if self.style == GITHUB:
            return {
                "authorize": f"{base}/login/oauth/authorize",
                "token": f"{base}/login/oauth/access_token",
                "revoke": f"{base}/applications/{{client_id}}/token",
                "api": base,
                "user": f"{base}/user",
                "avatar": f"{base}/avatar.png",
            }
        return {
            "authorize": f"{base}/authorize",
            "token": f"{base}/token",
            "revoke": f"{base}/revoke",
            "user": f"{base}/userinfo",
            "avatar": f"{base}/avatar.png",
        }

    def provider_config(self, token_auth: str | None = None, allow: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """This provider's entry for OAUTH_CONFIG.providers.

        ``allow`` (``users``, ``orgs``, ``teams``, ``emails``, ``email_domains``)
        becomes its access policy, checked against this fake's API.
        """
        entry: dict[str, Any] = {
            "client_id": self.client_id,
            "token_url": self.urls["token"],
            "token_auth": token_auth or self.token_auth or "client_secret_post",
            "revoke_url": self.urls["revoke"],
            "revoke_style": "github" if self.style == GITHUB else "rfc7009",
            "refresh": self.refresh_tokens,
            "pkce": True,
            "redirect_uris": list(self.redirect_uris),
        }
        if allow is not None:
            where = {"check": "github", "api_url": self.urls["api"]} if self.style == GITHUB else {"check": "oidc", "userinfo_url": self.urls["user"]}
            entry["allow"] = {**where, **allow}
        return entry

    # -- what the consent page does, for tests that skip the browser -------

    def authorize_pkce(self, redirect_uri: str | None = None, *, scope: str = "") -> tuple[str, str]:
        """Issue a code bound to a fresh S256 challenge, as the SPA would ask: (code, verifier)."""
        verifier = secrets.token_urlsafe(48)
        return self.authorize(redirect_uri, scope=scope, code_challenge=_s256(verifier), code_challenge_method="S256"), verifier

    def authorize(
        self,
        redirect_uri: str | None = None,
        *,
        scope: str = "",
        code_challenge: str | None = None,
        code_challenge_method: str | None = None,
    ) -> str:
        """Issue a code as if the user pressed Authorize."""
        if code_challenge is not None and (code_challenge_method or "plain") != "S256":
            raise ValueError("only S256 code challenges are supported")
        uri = redirect_uri or self.redirect_uris[0]
        if uri not in self.redirect_uris:
            raise ValueError("redirect_uri is not registered")
        return self._issue_code(uri, redirect_uri is not None, scope, code_challenge)

    def issue_tokens(self, scope: str = "") -> dict[str, Any]:
        """A token answer as if a code had just been exchanged (for tests that start signed in)."""
        return self._issue_tokens(scope)

    def active_access_tokens(self) -> list[str]:
        with self._lock:
            return [token for token, info in self._state.access_tokens.items() if _alive(info.expires_at)]

    def requests_to(self, path: str) -> list[SeenRequest]:
        return [request for request in list(self.seen) if request.path == path]

    # -- state -------------------------------------------------------------

    def _issue_code(self, redirect_uri: str, given: bool, scope: str, challenge: str | None) -> str:
        code = secrets.token_hex(10)
        with self._lock:
            self._state.grants[code] = _Grant(
                code, redirect_uri, given, scope, challenge, time.monotonic() + self.code_ttl
            )
            self.issued_codes.append(code)
        return code

    def _take_grant(self, code: str) -> _Grant | None:
        with self._lock:
            grant = self._state.grants.pop(code, None)
        if grant is None or time.monotonic() >= grant.expires_at:
            return None
        return grant

    def _issue_tokens(self, scope: str) -> dict[str, Any]:
        if self.style == GITHUB:
            prefix = "ghu_" if self.refresh_tokens else "gho_"
        else:
            prefix = "at_"
        access = prefix + _random_token()
        answer: dict[str, Any] = {
            "access_token": access,
            "token_type": "bearer" if self.style == GITHUB else "Bearer",
            "scope": scope,
        }
        expires_at = None
        with self._lock:
            if self.refresh_tokens or self.style == RFC6749:
                expires_at = time.monotonic() + self.access_token_ttl
                answer["expires_in"] = self.access_token_ttl
            if self.refresh_tokens:
                refresh = ("ghr_" if self.style == GITHUB else "rt_") + _random_token()
                self._state.refresh_tokens[refresh] = IssuedToken(scope, time.monotonic() + self.refresh_token_ttl)
                self.issued_refresh_tokens.append(refresh)
                answer["refresh_token"] = refresh
                answer["refresh_token_expires_in"] = self.refresh_token_ttl
            self._state.access_tokens[access] = IssuedToken(scope, expires_at)
            self.issued_access_tokens.append(access)
        if self.style == RFC6749 and "openid" in scope.split():
            answer["id_token"] = fake_oidc.id_token(self)
        return answer

    def _take_refresh_token(self, token: str) -> IssuedToken | None:
        with self._lock:
            info = self._state.refresh_tokens.pop(token, None)
        return info if info is not None and _alive(info.expires_at) else None

    def _default_emails(self) -> list[dict[str, Any]]:
        email = self.user.get("email")
        if not email:
            return []
        return [{"email": email, "verified": bool(self.user.get("email_verified")), "primary": True, "visibility": "private"}]

    # -- for the protocol modules ------------------------------------------

    def record(self, seen: SeenRequest) -> None:
        with self._lock:
            self.seen.append(seen)

    def client_secret_matches(self, given: str) -> bool:
        return _same(given, self.client_secret)

    def revoke_token(self, token: str) -> bool:
        """Forget an access or refresh token; False when it was not live."""
        with self._lock:
            found = (
                self._state.access_tokens.pop(token, None) is not None
                or self._state.refresh_tokens.pop(token, None) is not None
            )
            if found:
                self.revoked_tokens.append(token)
        return found

    def revoke_grant(self, token: str) -> bool:
        """Delete the authorization a live access token belongs to: every token of it (one user here)."""
        with self._lock:
            info = self._state.access_tokens.get(token)
            if info is None or not _alive(info.expires_at):
                return False
            ended = [*self._state.access_tokens, *self._state.refresh_tokens]
            self._state.access_tokens.clear()
            self._state.refresh_tokens.clear()
            self.revoked_tokens.extend(ended)
        return True

    def lookup_access_token(self, token: str) -> IssuedToken | None:
        """The live access token's grant, or None."""
        with self._lock:
            info = self._state.access_tokens.get(token)
        return info if info is not None and _alive(info.expires_at) else None


def _alive(expires_at: float | None) -> bool:
    return expires_at is None or time.monotonic() < expires_at


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison that also copes with non-ASCII secrets."""
    return secrets.compare_digest(given.encode(), expected.encode())


def _random_token() -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(36))


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def _with_query(uri: str, params: Mapping[str, str]) -> str:
    separator = "&" if urlsplit(uri).query else "?"
    return uri + separator + urlencode(params)


# -- OAuth endpoints (both styles) ---------------------------------------------


def _client_credentials(provider: FakeProvider, seen: SeenRequest, fields: Mapping[str, str]) -> str | None:
    """What is wrong with the client authentication, or None."""
    authorization = seen.headers.get("authorization", "")
    basic = authorization[:6].lower() == "basic "
    in_body = "client_secret" in fields
    if basic and in_body:
        return "more than one client authentication method"
    if provider.token_auth == "client_secret_basic" and not basic:
        return "client_secret_basic required"
    if provider.token_auth == "client_secret_post" and not in_body:
        return "client_secret_post required"
    if basic:
        try:
            user, _, password = base64.b64decode(authorization[6:].strip()).decode().partition(":")
        except ValueError:
            return "malformed basic credentials"
        client_id, secret = unquote_plus(user), unquote_plus(password)
    else:
        client_id, secret = fields.get("client_id", ""), fields.get("client_secret", "")
    if client_id != provider.client_id or not _same(secret, provider.client_secret):
        return "wrong client credentials"
    return None


def _authorization_problem(provider: FakeProvider, params: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(page error, redirect error): page errors are shown, redirect errors go back to the app."""
    if params.get("client_id") != provider.client_id:
        return "Unknown application (client_id).", None
    redirect_uri = params.get("redirect_uri") or provider.redirect_uris[0]
    if redirect_uri not in provider.redirect_uris:
        return "The redirect_uri is not associated with this application.", None
    if provider.style == RFC6749 and params.get("response_type") != "code":
        return None, "unsupported_response_type"
    challenge, method = params.get("code_challenge"), params.get("code_challenge_method")
    if method is not None and challenge is None:
        return None, "invalid_request"
    if challenge is not None and (method or "plain") != "S256":
        return None, "invalid_request"
    return None, None


def _authorization_error_page(handler: FakeHandler, message: str) -> None:
    handler.send_page(400, "Authorization error", f"<h1>Authorization error</h1><p>{html.escape(message)}</p>")


def _authorization_response(provider: FakeProvider, redirect_uri: str, params: Mapping[str, str]) -> str:
    """The redirect back to the client, with ``iss`` when the provider identifies itself (RFC 9207)."""
    return _with_query(redirect_uri, {**params, "iss": provider.issuer} if provider.issuer else params)


def _authorize_page(handler: FakeHandler, seen: SeenRequest, match: re.Match[str]) -> None:
    provider = handler.provider
    params = seen.query
    page_error, redirect_error = _authorization_problem(provider, params)
    if page_error is not None:
        _authorization_error_page(handler, page_error)
        return
    redirect_uri = params.get("redirect_uri") or provider.redirect_uris[0]
    if redirect_error is not None:
        handler.send_redirect(_authorization_response(provider, redirect_uri, {"error": redirect_error, "state": params.get("state", "")}))
        return
    hidden = "".join(
        f'<input type=hidden name="{html.escape(name)}" value="{html.escape(value)}">' for name, value in params.items()
    )
    scope = params.get("scope", "") or "(no scope: public information only)"
    app = html.escape(provider.app_name)
    handler.send_page(
        200,
        f"Authorize {provider.app_name}",
        f"<h1>Authorize {app}</h1>"
        f"<p><strong>{app}</strong> wants to access your account "
        f"<strong>{html.escape(str(provider.user['login']))}</strong>.</p>"
        f"<p>Scope: <code>{html.escape(scope)}</code></p>"
        f'<form method=post action="{html.escape(seen.path)}">{hidden}'
        '<button type=submit name=decision value=authorize id=authorize>Authorize</button>'
        '<button type=submit name=decision value=deny id=deny>Deny</button></form>',
    )


def _authorize_decision(handler: FakeHandler, seen: SeenRequest, match: re.Match[str]) -> None:
    provider = handler.provider
    params = seen.form()
    page_error, redirect_error = _authorization_problem(provider, params)
    if page_error is not None:
        _authorization_error_page(handler, page_error)
        return
    given = bool(params.get("redirect_uri"))
    redirect_uri = params.get("redirect_uri") or provider.redirect_uris[0]
    state = params.get("state", "")
    if redirect_error is not None:
        handler.send_redirect(_authorization_response(provider, redirect_uri, {"error": redirect_error, "state": state}))
    elif params.get("decision") == "authorize":
        code = provider._issue_code(redirect_uri, given, params.get("scope", ""), params.get("code_challenge"))
        handler.send_redirect(_authorization_response(provider, redirect_uri, {"code": code, "state": state}))
    else:
        denial = {
            "error": "access_denied",
            "error_description": "The user has denied your application access.",
            "error_uri": f"{_GITHUB_DOCS}/#access-denied",
            "state": state,
        }
        handler.send_redirect(_authorization_response(provider, redirect_uri, denial))


def _github_token(handler: FakeHandler, seen: SeenRequest, match: re.Match[str]) -> None:
    provider = handler.provider
    if seen.headers.get("content-type", "").startswith("application/json"):
        try:
            raw = seen.json()
        except ValueError:
            raw = {}
        fields = {k: str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    else:
        fields = seen.form()
    if _client_credentials(provider, seen, fields) is not None:
        _github_answer(handler, seen, {"error": "incorrect_client_credentials"})
        return
    if fields.get("grant_type") == "refresh_token":
        _github_refresh(handler, seen, fields)
        return
    grant = provider._take_grant(fields.get("code", ""))
    if grant is None or not _verifier_matches(grant, fields.get("code_verifier")):
        _github_answer(handler, seen, {"error": "bad_verification_code"})
    elif "redirect_uri" in fields and fields["redirect_uri"] != grant.redirect_uri:
        _github_answer(handler, seen, {"error": "redirect_uri_mismatch"})
    else:
        _github_answer(handler, seen, provider._issue_tokens(grant.scope))


def _github_refresh(handler: FakeHandler, seen: SeenRequest, fields: Mapping[str, str]) -> None:
    provider = handler.provider
    if not provider.refresh_tokens:
        _github_answer(handler, seen, {"error": "unsupported_grant_type"})
        return
    info = provider._take_refresh_token(fields.get("refresh_token", ""))
    if info is None:
        _github_answer(handler, seen, {"error": "bad_refresh_token"})
    else:
        _github_answer(handler, seen, provider._issue_tokens(info.scope))


def _github_answer(handler: FakeHandler, seen: SeenRequest, answer: dict[str, Any]) -> None:
    """HTTP 200 either way, JSON only when asked for, like github.com."""
    error = answer.get("error")
    if error is not None:
        answer = {
            "error": error,
            "error_description": _GITHUB_ERRORS[error],
            "error_uri": f"{_GITHUB_DOCS}/#{error.replace('_', '-')}",
        }
    headers = {"Set-Cookie": f"_gh_sess={secrets.token_hex(8)}; Path=/; HttpOnly; SameSite=Lax"}
    if "application/json" in seen.headers.get("accept", ""):
        handler.send_json(200, answer, headers)
    else:
        body = urlencode({name: str(value) for name, value in answer.items()}).encode()
        handler.send_answer(200, body, "application/x-www-form-urlencoded; charset=utf-8", headers)


def _rfc_error(handler: FakeHandler, status: int, error: str, description: str) -> None:
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="fake-provider"'
    handler.send_json(status, {"error": error, "error_description": description}, headers)


def _rfc_form(handler: FakeHandler, seen: SeenRequest) -> dict[str, str] | None:
    if not seen.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        _rfc_error(handler, 400, "invalid_request", "The body must be application/x-www-form-urlencoded.")
        return None
    fields = seen.form()
    problem = _client_credentials(handler.provider, seen, fields)
    if problem is not None:
        _rfc_error(handler, 401, "invalid_client", f"Client authentication failed: {problem}.")
        return None
    return fields


def _rfc_token(handler: FakeHandler, seen: SeenRequest, match: re.Match[str]) -> None:
    provider = handler.provider
    fields = _rfc_form(handler, seen)
    if fields is None:
        return
    grant_type = fields.get("grant_type")
    if grant_type == "authorization_code":
        grant = provider._take_grant(fields.get("code", ""))
        if grant is None:
            _rfc_error(handler, 400, "invalid_grant", "The authorization code is invalid, expired or used.")
        elif grant.redirect_uri_given and fields.get("redirect_uri") != grant.redirect_uri:
            _rfc_error(handler, 400, "invalid_grant", "redirect_uri does not match the authorization request.")
        elif not _verifier_matches(grant, fields.get("code_verifier")):
            _rfc_error(handler, 400, "invalid_grant", "PKCE verification failed.")
        else:
            handler.send_json(200, provider._issue_tokens(grant.scope), {"Cache-Control": "no-store"})
    elif grant_type == "refresh_token" and provider.refresh_tokens:
        info = provider._take_refresh_token(fields.get("refresh_token", ""))
        if info is None:
            _rfc_error(handler, 400, "invalid_grant", "The refresh token is invalid or expired.")
        else:
            handler.send_json(200, provider._issue_tokens(info.scope), {"Cache-Control": "no-store"})
    elif grant_type is None:
        _rfc_error(handler, 400, "invalid_request", "grant_type is required.")
    else:
        _rfc_error(handler, 400, "unsupported_grant_type", "This grant type is not supported.")


def _rfc_revoke(handler: FakeHandler, seen: SeenRequest, match: re.Match[str]) -> None:
    """RFC 7009: 200 whether or not the token was known."""
    fields = _rfc_form(handler, seen)
    if fields is None:
        return
    token = fields.get("token")
    if not token:
        _rfc_error(handler, 400, "invalid_request", "token is required.")
        return
    handler.provider.revoke_token(token)
    handler.send_answer(200, b"", "text/plain")


def _avatar(handler: FakeHandler, seen: SeenRequest, match: re.Match[str]) -> None:
    handler.send_answer(200, _AVATAR_PNG, "image/png", {"Cache-Control": "max-age=3600"})


def _verifier_matches(grant: _Grant, verifier: str | None) -> bool:
    """RFC 7636 S256: a code bound to a challenge needs the matching verifier, and only then one."""
    if grant.code_challenge is None:
        return verifier is None
    return verifier is not None and secrets.compare_digest(_s256(verifier), grant.code_challenge)


def _png(size: int, colour: tuple[int, int, int]) -> bytes:
    """A solid square PNG built with the standard library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(colour) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(row * size)) + chunk(b"IEND", b"")


_AVATAR_PNG = _png(64, (36, 41, 47))


GITHUB_OAUTH_ROUTES: tuple[Route, ...] = (
    route("GET", r"/login/oauth/authorize", _authorize_page),
    route("POST", r"/login/oauth/authorize", _authorize_decision),
    route("POST", r"/login/oauth/access_token", _github_token),
)
RFC6749_OAUTH_ROUTES: tuple[Route, ...] = (
    route("GET", r"/authorize", _authorize_page),
    route("POST", r"/authorize", _authorize_decision),
    route("POST", r"/token", _rfc_token),
    route("POST", r"/revoke", _rfc_revoke),
)
ASSET_ROUTES: tuple[Route, ...] = (route("GET", r"/avatar\.png", _avatar),)
