"""HTTP plumbing the fake provider's protocol modules share: what was seen, how answers go out, route tables.

Each protocol module declares a table of ``Route``s (method, path pattern,
function): ``local.fake_provider`` the OAuth endpoints, ``local.fake_github_api``
GitHub's REST API, ``local.fake_oidc`` OpenID Connect. The fake's request
handler serves a request with the first route of its style's tables whose
method and path match, so a new endpoint is one more row in a table.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from local.fake_github_repo import CORS_ALLOW_HEADERS

if TYPE_CHECKING:
    from local.fake_provider import FakeProvider


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


Serve = Callable[["FakeHandler", SeenRequest, "re.Match[str]"], None]


@dataclass(frozen=True)
class Route:
    """``method`` and a path pattern (matched in full; its groups go to ``serve``)."""

    method: str
    pattern: re.Pattern[str]
    serve: Serve


def route(method: str, pattern: str, serve: Serve) -> Route:
    return Route(method, re.compile(pattern), serve)


class FakeHandler(BaseHTTPRequestHandler):
    """Reads a request into ``provider.seen``, finds its route, and offers the ways to answer it."""

    provider: FakeProvider
    routes: tuple[Route, ...] = ()
    protocol_version = "HTTP/1.1"
    server_version = "FakeOAuth/1.0"
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.connection_serial = self.server.connection_serial(self.connection)  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: everything is in ``provider.seen``."""

    # -- routing -------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_OPTIONS(self) -> None:
        """CORS preflight for the APIs the SPA calls with a bearer token."""
        seen = self._read()
        if seen is None or self._extension(seen):
            return
        headers = self.cors_headers(seen)
        if headers:
            headers.update(
                {
                    "Access-Control-Allow-Methods": "GET",
                    # GitHub's own list (a CMS sends Content-Type even on a GET); an OIDC provider's answer needs fewer.
                    "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
                    "Access-Control-Max-Age": "600",
                }
            )
        self.send_answer(204, b"", "text/plain", headers)

    def _dispatch(self) -> None:
        seen = self._read()
        if seen is None or self._extension(seen):
            return
        for candidate in self.routes:
            if candidate.method != seen.method:
                continue
            match = candidate.pattern.fullmatch(seen.path)
            if match is not None:
                candidate.serve(self, seen, match)
                return
        self.not_found()

    def _extension(self, seen: SeenRequest) -> bool:
        """Whether an API plugged into the fake (``provider.api_extensions``) answered the request."""
        for extension in self.provider.api_extensions:
            answer = extension.answer(seen.method, seen.path, seen.query, seen.headers, seen.body)
            if answer is not None:
                body = b"" if answer.body is None else json.dumps(answer.body).encode()
                self.send_answer(answer.status, body, "application/json; charset=utf-8", answer.headers)
                return True
        return False

    def _read(self) -> SeenRequest | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.send_answer(411, b"", "text/plain", close=True)
            return None
        length = self.headers.get("Content-Length", "0")
        if not length.isdigit():
            self.send_answer(400, b"", "text/plain", close=True)
            return None
        body = self.rfile.read(int(length))
        parts = urlsplit(self.path)
        prefix = self.provider.api_prefix
        seen = SeenRequest(
            method=self.command,
            path=parts.path[len(prefix) :] if prefix and parts.path.startswith(prefix + "/") else parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            connection=self.connection_serial,
        )
        self.provider.record(seen)
        return seen

    # -- answering -----------------------------------------------------------

    def send_answer(
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

    def send_json(self, status: int, value: Any, headers: Mapping[str, str] | None = None) -> None:
        self.send_answer(status, json.dumps(value).encode(), "application/json; charset=utf-8", headers)

    def send_redirect(self, location: str) -> None:
        self.send_answer(302, b"", "text/plain", {"Location": location})

    def send_page(self, status: int, title: str, body_html: str) -> None:
        page = (
            "<!doctype html><html lang=en><meta charset=utf-8>"
            f"<title>{html.escape(title)}</title>"
            "<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}"
            "button{font-size:1rem;padding:.5rem 1rem;margin-right:.5rem}</style>"
            f"{body_html}</html>"
        )
        self.send_answer(status, page.encode(), "text/html; charset=utf-8")

    def not_found(self) -> None:
        """GitHub's 404, which the function tells apart from anybody else's by this shape."""
        self.send_json(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"})

    # -- reading -------------------------------------------------------------

    def cors_headers(self, seen: SeenRequest) -> dict[str, str]:
        origin = seen.headers.get("origin")
        if origin is None or origin not in self.provider.allowed_origins:
            return {}
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}

    @staticmethod
    def bearer(seen: SeenRequest) -> str | None:
        scheme, _, token = seen.headers.get("authorization", "").partition(" ")
        if scheme.lower() in ("bearer", "token") and token.strip():
            return token.strip()
        return None


def handler_class(provider: FakeProvider, tables: Iterable[Iterable[Route]], timeout: float | None) -> type[FakeHandler]:
    """A handler bound to one provider, serving the given route tables in order."""
    routes = tuple(entry for table in tables for entry in table)
    return type("BoundHandler", (FakeHandler,), {"provider": provider, "routes": routes, "timeout": timeout})
