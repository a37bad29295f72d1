"""The fake GitHub's REST API (what api.github.com serves): the user, and token revocation.

Answers have GitHub's shapes and status codes: ``401 {"message": "Bad
credentials"}`` for a token it does not know, ``404 {"message": "Not Found"}``
for what is not there. ``ROUTES`` is the table the fake serves; add a row
for each new endpoint.
"""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from local.fake_http import FakeHandler, Route, SeenRequest, route

if TYPE_CHECKING:
    from local.fake_provider import FakeProvider

DOCS = "https://docs.github.com/rest"


def profile(provider: FakeProvider) -> dict[str, Any]:
    """``GET /user`` for the signed-in user."""
    user = provider.user
    return {
        "login": user["login"],
        "id": user["id"],
        "name": user["name"],
        "email": user.get("email"),
        "avatar_url": provider.urls["avatar"],
        "html_url": f"{provider.base_url}/{user['login']}",
        "type": "User",
    }


def bad_credentials(handler: FakeHandler, seen: SeenRequest) -> None:
    body = {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}
    headers = {**handler.cors_headers(seen), "WWW-Authenticate": 'Bearer error="invalid_token"'}
    handler.send_json(401, body, headers)


def get_user(handler: FakeHandler, seen: SeenRequest, match: re.Match[str]) -> None:
    token = handler.bearer(seen)
    if token is None or handler.provider.lookup_access_token(token) is None:
        bad_credentials(handler, seen)
        return
    handler.send_json(200, profile(handler.provider), handler.cors_headers(seen))


def delete_token(handler: FakeHandler, seen: SeenRequest, match: re.Match[str]) -> None:
    """``DELETE /applications/{client_id}/token``: basic auth with the app's credentials, the token in the body."""
    provider = handler.provider
    scheme, _, encoded = seen.headers.get("authorization", "").partition(" ")
    try:
        user, _, password = base64.b64decode(encoded).decode().partition(":")
    except ValueError:
        user, password = "", ""
    if scheme.lower() != "basic" or user != provider.client_id or not provider.client_secret_matches(password):
        handler.send_json(401, {"message": "Bad credentials", "documentation_url": DOCS})
        return
    if match["client_id"] != quote(provider.client_id, safe=""):
        handler.not_found()
        return
    try:
        token = seen.json().get("access_token")
    except (ValueError, AttributeError):
        token = None
    if not isinstance(token, str) or not token:
        handler.send_json(422, {"message": "Invalid request.", "documentation_url": DOCS})
    elif provider.revoke_token(token):
        handler.send_answer(204, b"", "text/plain")
    else:
        handler.not_found()


ROUTES: tuple[Route, ...] = (
    route("GET", r"/user", get_user),
    route("DELETE", r"/applications/(?P<client_id>.*)/token", delete_token),
)
