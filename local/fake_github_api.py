"""The fake GitHub's REST API (what api.github.com serves): the user, their orgs, teams and emails, revocation.

Answers have GitHub's shapes and status codes:

* ``401 {"message": "Bad credentials"}`` for a token it does not know;
* ``404 {"message": "Not Found"}`` for what is not there, including "not a
  member": ``GET /user/memberships/orgs/{org}`` when the user is not
  affiliated with the org, ``GET /orgs/{org}/teams/{team_slug}/memberships/{username}``
  when they are not on the team (or cannot see it);
* a membership that exists is ``200`` with its ``state``, ``"active"`` or
  ``"pending"`` (invited, not yet accepted);
* ``403`` when the token lacks the scope for org data (``read:org``), and
  when an organisation restricts OAuth app access;
* ``GET /user/emails`` without ``user:email`` (or ``user``) is ``404``, as GitHub answers it.

Every answer to a token carries ``X-OAuth-Scopes``, and scope-guarded ones
``X-Accepted-OAuth-Scopes``. Org names, logins and team slugs compare
without regard to case. ``ROUTES`` is the table the fake serves; an endpoint
is one more row: a function taking an ``ApiCall`` for the authenticated
ones (``authenticated(serve)`` checks the token first).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from local.fake_http import FakeHandler, Route, SeenRequest, route

if TYPE_CHECKING:
    from local.fake_provider import FakeProvider

DOCS = "https://docs.github.com/rest"
ORG_READ_SCOPES = ("admin:org", "read:org", "repo", "user", "write:org")
EMAIL_READ_SCOPES = ("user", "user:email")
_RESTRICTED = (
    "Although you appear to have the correct authorization credentials, the `{org}` organization has enabled "
    "OAuth App access restrictions, meaning that data access to third-parties is limited. For more information "
    "on these restrictions, including how to enable this app, visit "
    "https://docs.github.com/articles/restricting-access-to-your-organization-s-data/"
)


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


def _simple_user(provider: FakeProvider) -> dict[str, Any]:
    return {"login": provider.user["login"], "id": provider.user["id"], "type": "User"}


def bad_credentials(handler: FakeHandler, seen: SeenRequest) -> None:
    body = {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}
    headers = {**handler.cors_headers(seen), "WWW-Authenticate": 'Bearer error="invalid_token"'}
    handler.send_json(401, body, headers)


@dataclass(frozen=True)
class ApiCall:
    """An API request with a live token: what a route needs to answer it."""

    handler: FakeHandler
    seen: SeenRequest
    match: re.Match[str]
    scopes: frozenset[str]

    @property
    def provider(self) -> FakeProvider:
        return self.handler.provider

    def has_scope(self, accepted: tuple[str, ...]) -> bool:
        return not self.scopes.isdisjoint(accepted)

    def answer(self, status: int, body: Any, accepted: tuple[str, ...] = ()) -> None:
        headers = {**self.handler.cors_headers(self.seen), "X-OAuth-Scopes": ", ".join(sorted(self.scopes))}
        if accepted:
            headers["X-Accepted-OAuth-Scopes"] = ", ".join(accepted)
        self.handler.send_json(status, body, headers)

    def not_found(self, accepted: tuple[str, ...] = ()) -> None:
        self.answer(404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"}, accepted)


def authenticated(serve: Callable[[ApiCall], None]) -> Callable[[FakeHandler, SeenRequest, re.Match[str]], None]:
    """A route that needs a live bearer token (and answers ``user_api_outage`` while one is set)."""

    def route_function(handler: FakeHandler, seen: SeenRequest, match: re.Match[str]) -> None:
        provider = handler.provider
        if provider.user_api_outage is not None:
            handler.send_json(provider.user_api_outage, {"message": "Service unavailable"}, handler.cors_headers(seen))
            return
        token = handler.bearer(seen)
        grant = None if token is None else provider.lookup_access_token(token)
        if grant is None:
            bad_credentials(handler, seen)
            return
        # GitHub writes granted scopes comma-separated; the fake keeps what the app asked for.
        scopes = frozenset(grant.scope.replace(",", " ").split())
        serve(ApiCall(handler, seen, match, scopes))

    return route_function


def _lookup(states: Mapping[str, str], name: str) -> str | None:
    return next((state for key, state in states.items() if key.lower() == name.lower()), None)


def _same_name(a: str, b: str) -> bool:
    return a.lower() == b.lower()


@authenticated
def get_user(call: ApiCall) -> None:
    call.answer(200, profile(call.provider))


@authenticated
def list_emails(call: ApiCall) -> None:
    """``GET /user/emails``: every address, verified or not."""
    if not call.has_scope(EMAIL_READ_SCOPES):
        call.not_found(EMAIL_READ_SCOPES)
        return
    call.answer(200, [dict(entry) for entry in call.provider.emails], EMAIL_READ_SCOPES)


@authenticated
def get_org_membership(call: ApiCall) -> None:
    """``GET /user/memberships/orgs/{org}``: the signed-in user's own membership."""
    provider, org = call.provider, call.match["org"]
    if not call.has_scope(ORG_READ_SCOPES):
        message = "You need at least read:org scope or user scope to list your organizations."
        call.answer(403, {"message": message, "documentation_url": DOCS, "status": "403"}, ORG_READ_SCOPES)
        return
    if any(_same_name(org, restricted) for restricted in provider.restricted_orgs):
        call.answer(403, {"message": _RESTRICTED.format(org=org), "documentation_url": DOCS, "status": "403"})
        return
    state = _lookup(provider.orgs, org)
    if state is None:
        call.not_found(ORG_READ_SCOPES)
        return
    base = provider.base_url
    call.answer(
        200,
        {
            "url": f"{base}/orgs/{org}/memberships/{provider.user['login']}",
            "state": state,
            "role": "member",
            "organization_url": f"{base}/orgs/{org}",
            "organization": {"login": org, "url": f"{base}/orgs/{org}"},
            "user": _simple_user(provider),
        },
        ORG_READ_SCOPES,
    )


@authenticated
def get_team_membership(call: ApiCall) -> None:
    """``GET /orgs/{org}/teams/{team_slug}/memberships/{username}``: 404 when not on the team."""
    provider = call.provider
    org, slug, username = call.match["org"], call.match["team_slug"], call.match["username"]
    if not call.has_scope(ORG_READ_SCOPES):
        call.answer(403, {"message": "Resource not accessible by this token.", "documentation_url": DOCS, "status": "403"}, ORG_READ_SCOPES)
        return
    if any(_same_name(org, restricted) for restricted in provider.restricted_orgs):
        call.answer(403, {"message": _RESTRICTED.format(org=org), "documentation_url": DOCS, "status": "403"})
        return
    state = _lookup(provider.teams, f"{org}/{slug}")
    if state is None or not _same_name(username, str(provider.user["login"])):
        call.not_found(ORG_READ_SCOPES)
        return
    call.answer(
        200,
        {"url": f"{provider.base_url}/orgs/{org}/teams/{slug}/memberships/{username}", "role": "member", "state": state},
        ORG_READ_SCOPES,
    )


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


_SEGMENT = r"[^/]+"
ROUTES: tuple[Route, ...] = (
    route("GET", r"/user", get_user),
    route("GET", r"/user/emails", list_emails),
    route("GET", rf"/user/memberships/orgs/(?P<org>{_SEGMENT})", get_org_membership),
    route(
        "GET",
        rf"/orgs/(?P<org>{_SEGMENT})/teams/(?P<team_slug>{_SEGMENT})/memberships/(?P<username>{_SEGMENT})",
        get_team_membership,
    ),
    route("DELETE", r"/applications/(?P<client_id>.*)/token", delete_token),
)
