"""The fake RFC 6749 provider's OpenID Connect side: the UserInfo endpoint and ID tokens.

``GET /userinfo`` answers the OIDC standard claims for a live bearer token
and ``401`` with ``WWW-Authenticate: Bearer error="invalid_token"`` otherwise
(OIDC Core §5.3, RFC 6750 §3). ``ROUTES`` is the table the fake serves.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from local.fake_http import FakeHandler, Route, SeenRequest, route

if TYPE_CHECKING:
    from local.fake_provider import FakeProvider


def claims(provider: FakeProvider) -> dict[str, Any]:
    """The UserInfo answer for the signed-in user."""
    user = provider.user
    return {
        "sub": str(user["id"]),
        "preferred_username": user["login"],
        "name": user["name"],
        "email": user.get("email"),
        "picture": provider.urls["avatar"],
    }


def id_token(provider: FakeProvider) -> str:
    """An unsigned (alg none) ID token: enough to test pass-through, never to trust."""

    def part(value: Mapping[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    now = int(time.time())
    body = {"iss": provider.base_url, "sub": str(provider.user["id"]), "aud": provider.client_id, "iat": now, "exp": now + 3600}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(body)}."


def get_userinfo(handler: FakeHandler, seen: SeenRequest, match: re.Match[str]) -> None:
    cors = handler.cors_headers(seen)
    token = handler.bearer(seen)
    if token is None or handler.provider.lookup_access_token(token) is None:
        handler.send_json(401, {"error": "invalid_token"}, {**cors, "WWW-Authenticate": 'Bearer error="invalid_token"'})
        return
    handler.send_json(200, claims(handler.provider), cors)


ROUTES: tuple[Route, ...] = (route("GET", r"/userinfo", get_userinfo),)
