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
    ``DELETE /applications/{client_id}/token``, ``GET /avatar.png``.
RFC 6749 style
    ``GET /authorize``, ``POST /token`` (errors are HTTP 400, or 401
    ``invalid_client``), ``POST /revoke`` (RFC 7009: 200 even for unknown
    tokens), ``GET /userinfo``, ``GET /avatar.png``.

Codes are single-use and burnt by any exchange attempt that passed client
authentication. PKCE supports ``S256`` only. With ``refresh_tokens`` on, token
answers carry ``expires_in``, ``refresh_token`` and
``refresh_token_expires_in``, and refresh tokens rotate on use.

Usage::

    with FakeProvider("github", client_secret="s3cret", redirect_uris=["http://127.0.0.1:8000/"]) as fake:
        fake.urls["token"]            # where to exchange codes
        code = fake.authorize("http://127.0.0.1:8000/")   # what the consent page would issue
        fake.issued_access_tokens     # what it handed out; fake.seen is every request

The server records everything it saw (``seen``), everything it issued and
revoked, and how many TCP connections it accepted (``connections_accepted``).
Setting ``client_secret`` at run time simulates a rotated secret.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import ssl
import struct
import threading
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, quote, unquote_plus, urlencode, urlsplit

from local.http_server import LoopbackServer

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
}


@dataclass(frozen=True)
class SeenRequest:
    """One request as the fake received it (secrets included: this is a test double)."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    """Lower-case names."""
    body: bytes
    connection: int
    """Serial number of the TCP connection it arrived on (1 = first accepted)."""

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Grant:
    code: str
    redirect_uri: str
    redirect_uri_given: bool
    scope: str
    code_challenge: str | None
    expires_at: float


@dataclass
class _Token:
    scope: str
    expires_at: float | None


@dataclass
class _State:
    grants: dict[str, _Grant] = field(default_factory=dict)
    access_tokens: dict[str, _Token] = field(default_factory=dict)
    refresh_tokens: dict[str, _Token] = field(default_factory=dict)


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
        code_ttl: float = 600.0,
        access_token_ttl: int = 28800,
        refresh_token_ttl: int = 15897600,
        keepalive_timeout: float | None = None,
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
        self.code_ttl = code_ttl
        self.access_token_ttl = access_token_ttl
        self.refresh_token_ttl = refresh_token_ttl
        self.keepalive_timeout = keepalive_timeout
        self._port = port
        self._tls = tls

        self.seen: list[SeenRequest] = []
        self.issued_codes: list[str] = []
        self.issued_access_tokens: list[str] = []
        self.issued_refresh_tokens: list[str] = []
        self.revoked_tokens: list[str] = []

        self._state = _State()
        self._lock = threading.Lock()
        self._server: LoopbackServer | None = None

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> FakeProvider:
        if self._server is not None:
            raise RuntimeError("a fake provider starts once")
        handler = type("BoundHandler", (_Handler,), {"provider": self, "timeout": self.keepalive_timeout})
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

    def provider_config(self, token_auth: str | None = None) -> dict[str, Any]:
        """This provider's entry for OAUTH_CONFIG.providers."""
        return {
            "client_id": self.client_id,
            "token_url": self.urls["token"],
            "token_auth": token_auth or self.token_auth or "client_secret_post",
            "revoke_url": self.urls["revoke"],
            "revoke_style": "github" if self.style == GITHUB else "rfc7009",
            "refresh": self.refresh_tokens,
            "pkce": True,
            "redirect_uris": list(self.redirect_uris),
        }

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
                self._state.refresh_tokens[refresh] = _Token(scope, time.monotonic() + self.refresh_token_ttl)
                self.issued_refresh_tokens.append(refresh)
                answer["refresh_token"] = refresh
                answer["refresh_token_expires_in"] = self.refresh_token_ttl
            self._state.access_tokens[access] = _Token(scope, expires_at)
            self.issued_access_tokens.append(access)
        if self.style == RFC6749 and "openid" in scope.split():
            answer["id_token"] = self._id_token()
        return answer

    def _take_refresh_token(self, token: str) -> _Token | None:
        with self._lock:
            info = self._state.refresh_tokens.pop(token, None)
        return info if info is not None and _alive(info.expires_at) else None

    def _revoke(self, token: str) -> bool:
        with self._lock:
            found = (
                self._state.access_tokens.pop(token, None) is not None
                or self._state.refresh_tokens.pop(token, None) is not None
            )
            if found:
                self.revoked_tokens.append(token)
        return found

    def _token_info(self, token: str) -> _Token | None:
        with self._lock:
            info = self._state.access_tokens.get(token)
        return info if info is not None and _alive(info.expires_at) else None

    def _id_token(self) -> str:
        """An unsigned (alg none) ID token: enough to test pass-through, never to trust."""

        def part(value: Mapping[str, Any]) -> str:
            return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

        now = int(time.time())
        claims = {"iss": self.base_url, "sub": str(self.user["id"]), "aud": self.client_id, "iat": now, "exp": now + 3600}
        return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."

    def _profile(self) -> dict[str, Any]:
        avatar = self.urls["avatar"]
        if self.style == GITHUB:
            return {
                "login": self.user["login"],
                "id": self.user["id"],
                "name": self.user["name"],
                "email": self.user.get("email"),
                "avatar_url": avatar,
                "html_url": f"{self.base_url}/{self.user['login']}",
                "type": "User",
            }
        return {
            "sub": str(self.user["id"]),
            "preferred_username": self.user["login"],
            "name": self.user["name"],
            "email": self.user.get("email"),
            "picture": avatar,
        }


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


class _Handler(BaseHTTPRequestHandler):
    """Routes requests to the protocol of the provider's style."""

    provider: FakeProvider
    protocol_version = "HTTP/1.1"
    server_version = "FakeOAuth/1.0"
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.connection_serial = self.server.connection_serial(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: everything is in ``provider.seen``."""

    # -- plumbing ----------------------------------------------------------

    def _read(self) -> SeenRequest | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._send(411, b"", "text/plain", close=True)
            return None
        length = self.headers.get("Content-Length", "0")
        if not length.isdigit():
            self._send(400, b"", "text/plain", close=True)
            return None
        body = self.rfile.read(int(length))
        parts = urlsplit(self.path)
        seen = SeenRequest(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            connection=self.connection_serial,
        )
        with self.provider._lock:
            self.provider.seen.append(seen)
        return seen

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
        close: bool = False,
    ) -> None:
        self.send_response(status)
        if body or status not in (204, 304):
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, value: Any, headers: Mapping[str, str] | None = None) -> None:
        self._send(status, json.dumps(value).encode(), "application/json; charset=utf-8", headers)

    def _redirect(self, location: str) -> None:
        self._send(302, b"", "text/plain", {"Location": location})

    def _page(self, status: int, title: str, body_html: str) -> None:
        page = (
            "<!doctype html><html lang=en><meta charset=utf-8>"
            f"<title>{html.escape(title)}</title>"
            "<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}"
            "button{font-size:1rem;padding:.5rem 1rem;margin-right:.5rem}</style>"
            f"{body_html}</html>"
        )
        self._send(status, page.encode(), "text/html; charset=utf-8")

    def _client_credentials(self, seen: SeenRequest, fields: Mapping[str, str]) -> str | None:
        """What is wrong with the client authentication, or None."""
        provider = self.provider
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

    def _cors_headers(self, seen: SeenRequest) -> dict[str, str]:
        origin = seen.headers.get("origin")
        if origin is None or origin not in self.provider.allowed_origins:
            return {}
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}

    # -- verbs ---------------------------------------------------------------

    def do_GET(self) -> None:
        seen = self._read()
        if seen is None:
            return
        github = self.provider.style == GITHUB
        routes = {
            ("/login/oauth/authorize" if github else "/authorize"): self._authorize_page,
            ("/user" if github else "/userinfo"): self._user,
            "/avatar.png": self._avatar,
        }
        route = routes.get(seen.path)
        if route is None:
            self._not_found()
        else:
            route(seen)

    def do_POST(self) -> None:
        seen = self._read()
        if seen is None:
            return
        github = self.provider.style == GITHUB
        routes = {
            ("/login/oauth/authorize" if github else "/authorize"): self._authorize_decision,
            ("/login/oauth/access_token" if github else "/token"): (
                self._github_token if github else self._rfc_token
            ),
        }
        if not github:
            routes["/revoke"] = self._rfc_revoke
        route = routes.get(seen.path)
        if route is None:
            self._not_found()
        else:
            route(seen)

    def do_DELETE(self) -> None:
        seen = self._read()
        if seen is None:
            return
        prefix, suffix = "/applications/", "/token"
        if self.provider.style == GITHUB and seen.path.startswith(prefix) and seen.path.endswith(suffix):
            self._github_revoke(seen, seen.path[len(prefix) : -len(suffix)])
        else:
            self._not_found()

    def do_OPTIONS(self) -> None:
        """CORS preflight for the user endpoint the SPA calls with a bearer token."""
        seen = self._read()
        if seen is None:
            return
        headers = self._cors_headers(seen)
        if headers:
            headers.update(
                {
                    "Access-Control-Allow-Methods": "GET",
                    "Access-Control-Allow-Headers": "Authorization, Accept, X-GitHub-Api-Version",
                    "Access-Control-Max-Age": "600",
                }
            )
        self._send(204, b"", "text/plain", headers)

    def _not_found(self) -> None:
        self._json(404, {"message": "Not Found"})

    # -- authorization page ----------------------------------------------------

    def _authorization_problem(self, params: Mapping[str, str]) -> tuple[str | None, str | None]:
        """(page error, redirect error): page errors are shown, redirect errors go back to the app."""
        provider = self.provider
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

    def _authorize_page(self, seen: SeenRequest) -> None:
        params = seen.query
        page_error, redirect_error = self._authorization_problem(params)
        if page_error is not None:
            self._page(400, "Authorization error", f"<h1>Authorization error</h1><p>{html.escape(page_error)}</p>")
            return
        redirect_uri = params.get("redirect_uri") or self.provider.redirect_uris[0]
        if redirect_error is not None:
            self._redirect(_with_query(redirect_uri, {"error": redirect_error, "state": params.get("state", "")}))
            return
        hidden = "".join(
            f'<input type=hidden name="{html.escape(name)}" value="{html.escape(value)}">'
            for name, value in params.items()
        )
        scope = params.get("scope", "") or "(no scope: public information only)"
        user = self.provider.user
        self._page(
            200,
            f"Authorize {self.provider.app_name}",
            f"<h1>Authorize {html.escape(self.provider.app_name)}</h1>"
            f"<p><strong>{html.escape(self.provider.app_name)}</strong> wants to access your account "
            f"<strong>{html.escape(str(user['login']))}</strong>.</p>"
            f"<p>Scope: <code>{html.escape(scope)}</code></p>"
            f'<form method=post action="{html.escape(seen.path)}">{hidden}'
            '<button type=submit name=decision value=authorize id=authorize>Authorize</button>'
            '<button type=submit name=decision value=deny id=deny>Deny</button></form>',
        )

    def _authorize_decision(self, seen: SeenRequest) -> None:
        params = seen.form()
        page_error, redirect_error = self._authorization_problem(params)
        if page_error is not None:
            self._page(400, "Authorization error", f"<h1>Authorization error</h1><p>{html.escape(page_error)}</p>")
            return
        given = bool(params.get("redirect_uri"))
        redirect_uri = params.get("redirect_uri") or self.provider.redirect_uris[0]
        state = params.get("state", "")
        if redirect_error is not None:
            self._redirect(_with_query(redirect_uri, {"error": redirect_error, "state": state}))
        elif params.get("decision") == "authorize":
            code = self.provider._issue_code(
                redirect_uri, given, params.get("scope", ""), params.get("code_challenge")
            )
            self._redirect(_with_query(redirect_uri, {"code": code, "state": state}))
        else:
            self._redirect(
                _with_query(
                    redirect_uri,
                    {
                        "error": "access_denied",
                        "error_description": "The user has denied your application access.",
                        "error_uri": f"{_GITHUB_DOCS}/#access-denied",
                        "state": state,
                    },
                )
            )

    # -- GitHub token endpoint -------------------------------------------------

    def _github_token(self, seen: SeenRequest) -> None:
        if seen.headers.get("content-type", "").startswith("application/json"):
            try:
                raw = seen.json()
            except ValueError:
                raw = {}
            fields = {k: str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
        else:
            fields = seen.form()
        if self._client_credentials(seen, fields) is not None:
            self._github_answer(seen, {"error": "incorrect_client_credentials"})
            return
        if fields.get("grant_type") == "refresh_token":
            self._github_refresh(seen, fields)
            return
        grant = self.provider._take_grant(fields.get("code", ""))
        if grant is None or not _verifier_matches(grant, fields.get("code_verifier")):
            self._github_answer(seen, {"error": "bad_verification_code"})
        elif "redirect_uri" in fields and fields["redirect_uri"] != grant.redirect_uri:
            self._github_answer(seen, {"error": "redirect_uri_mismatch"})
        else:
            self._github_answer(seen, self.provider._issue_tokens(grant.scope))

    def _github_refresh(self, seen: SeenRequest, fields: Mapping[str, str]) -> None:
        if not self.provider.refresh_tokens:
            self._github_answer(seen, {"error": "unsupported_grant_type"})
            return
        info = self.provider._take_refresh_token(fields.get("refresh_token", ""))
        if info is None:
            self._github_answer(seen, {"error": "bad_refresh_token"})
        else:
            self._github_answer(seen, self.provider._issue_tokens(info.scope))

    def _github_answer(self, seen: SeenRequest, answer: dict[str, Any]) -> None:
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
            self._json(200, answer, headers)
        else:
            body = urlencode({name: str(value) for name, value in answer.items()}).encode()
            self._send(200, body, "application/x-www-form-urlencoded; charset=utf-8", headers)

    # -- GitHub API ------------------------------------------------------------

    def _bearer(self, seen: SeenRequest) -> str | None:
        scheme, _, token = seen.headers.get("authorization", "").partition(" ")
        if scheme.lower() in ("bearer", "token") and token.strip():
            return token.strip()
        return None

    def _user(self, seen: SeenRequest) -> None:
        cors = self._cors_headers(seen)
        token = self._bearer(seen)
        if token is None or self.provider._token_info(token) is None:
            if self.provider.style == GITHUB:
                body = {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"}
            else:
                body = {"error": "invalid_token"}
            self._json(401, body, {**cors, "WWW-Authenticate": 'Bearer error="invalid_token"'})
            return
        self._json(200, self.provider._profile(), cors)

    def _github_revoke(self, seen: SeenRequest, client_id: str) -> None:
        provider = self.provider
        scheme, _, encoded = seen.headers.get("authorization", "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            user, password = "", ""
        if (
            scheme.lower() != "basic"
            or user != provider.client_id
            or not _same(password, provider.client_secret)
        ):
            self._json(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
            return
        if client_id != quote(provider.client_id, safe=""):
            self._not_found()
            return
        try:
            token = seen.json().get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            self._json(422, {"message": "Invalid request.", "documentation_url": "https://docs.github.com/rest"})
        elif provider._revoke(token):
            self._send(204, b"", "text/plain")
        else:
            self._not_found()

    # -- RFC 6749 / 7009 -------------------------------------------------------

    def _rfc_error(self, status: int, error: str, description: str) -> None:
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        if status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="fake-provider"'
        self._json(status, {"error": error, "error_description": description}, headers)

    def _rfc_form(self, seen: SeenRequest) -> dict[str, str] | None:
        if not seen.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            self._rfc_error(400, "invalid_request", "The body must be application/x-www-form-urlencoded.")
            return None
        fields = seen.form()
        problem = self._client_credentials(seen, fields)
        if problem is not None:
            self._rfc_error(401, "invalid_client", f"Client authentication failed: {problem}.")
            return None
        return fields

    def _rfc_token(self, seen: SeenRequest) -> None:
        fields = self._rfc_form(seen)
        if fields is None:
            return
        grant_type = fields.get("grant_type")
        if grant_type == "authorization_code":
            grant = self.provider._take_grant(fields.get("code", ""))
            if grant is None:
                self._rfc_error(400, "invalid_grant", "The authorization code is invalid, expired or used.")
            elif grant.redirect_uri_given and fields.get("redirect_uri") != grant.redirect_uri:
                self._rfc_error(400, "invalid_grant", "redirect_uri does not match the authorization request.")
            elif not _verifier_matches(grant, fields.get("code_verifier")):
                self._rfc_error(400, "invalid_grant", "PKCE verification failed.")
            else:
                self._json(200, self.provider._issue_tokens(grant.scope), {"Cache-Control": "no-store"})
        elif grant_type == "refresh_token" and self.provider.refresh_tokens:
            info = self.provider._take_refresh_token(fields.get("refresh_token", ""))
            if info is None:
                self._rfc_error(400, "invalid_grant", "The refresh token is invalid or expired.")
            else:
                self._json(200, self.provider._issue_tokens(info.scope), {"Cache-Control": "no-store"})
        elif grant_type is None:
            self._rfc_error(400, "invalid_request", "grant_type is required.")
        else:
            self._rfc_error(400, "unsupported_grant_type", "This grant type is not supported.")

    def _rfc_revoke(self, seen: SeenRequest) -> None:
        fields = self._rfc_form(seen)
        if fields is None:
            return
        token = fields.get("token")
        if not token:
            self._rfc_error(400, "invalid_request", "token is required.")
            return
        self.provider._revoke(token)
        self._send(200, b"", "text/plain")

    # -- avatar ----------------------------------------------------------------

    def _avatar(self, seen: SeenRequest) -> None:
        self._send(200, _AVATAR_PNG, "image/png", {"Cache-Control": "max-age=3600"})


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
