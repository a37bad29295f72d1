"""The fake RFC 6749 provider's OpenID Connect side: the UserInfo endpoint and ID tokens.

``GET /userinfo`` answers the OIDC standard claims for a live bearer token
and ``401`` with ``WWW-Authenticate: Bearer error="invalid_token"`` otherwise
(OIDC Core §5.3, RFC 6750 §3). ``email`` and ``email_verified`` are claims of
the ``email`` scope (OIDC Core §5.4): a token granted without it gets neither.
``ROUTES`` is the table the fake serves.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from local.fake_http import FakeHandler, Route, SeenRequest, route

if TYPE_CHECKING:
    from local.fake_provider import FakeProvider


def claims(provider: FakeProvider, scopes: Iterable[str] = ("email",)) -> dict[str, Any]:
    """The UserInfo answer for the signed-in user, for a token granted ``scopes``."""
    user = provider.user
    answer: dict[str, Any] = {
        "sub": str(user["id"]),
        "preferred_username": user["login"],
        "name": user["name"],
        "picture": provider.urls["avatar"],
    }
    if "email" in scopes and user.get("email"):
        answer["email"] = user["email"]
        if "email_verified" in user:
            answer["email_verified"] = user["email_verified"]  # as given: tests send 1, "true" or nothing
    return answer


def id_token(provider: FakeProvider) -> str:
    """An unsigned (alg none) ID token: enough to test pass-through, never to trust."""

    def part(value: Mapping[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    now = int(time.time())
    body = {"iss": provider.base_url, "sub": str(provider.user["id"]), "aud": provider.client_id, "iat": now, "exp": now + 3600}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(body)}."


def get_userinfo(handler: FakeHandler, seen: SeenRequest, match: re.Match[str]) -> None:
    provider = handler.provider
    cors = handler.cors_headers(seen)
    if provider.user_api_outage is not None:
        handler.send_json(provider.user_api_outage, {"error": "temporarily_unavailable"}, cors)
        return
    token = handler.bearer(seen)
    grant = None if token is None else provider.lookup_access_token(token)
    if grant is None:
        handler.send_json(401, {"error": "invalid_token"}, {**cors, "WWW-Authenticate": 'Bearer error="invalid_token"'})
        return
    handler.send_json(200, claims(provider, grant.scope.split()), cors)


ROUTES: tuple[Route, ...] = (route("GET", r"/userinfo", get_userinfo),)
