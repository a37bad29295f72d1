"""The sign-in access policy: who may sign in, asked of the provider's API before any token leaves the function.

``grants.redeem_code`` calls ``check`` with the access token it has just been
given, so every mode (browser ``/token``, session cookies, CMS popups) is
covered by the one check. The user is allowed when they match one entry of
any list of the provider's ``allow``:

GitHub (GitHub's REST API, ``Accept: application/vnd.github+json``)
    ``GET /user`` gives the login. ``users``: the login. ``orgs``: ``GET
    /user/memberships/orgs/{org}`` is 200 with ``state: active`` (``pending``
    is an invitation not yet accepted; 404 means not affiliated). ``teams``:
    ``GET /orgs/{org}/teams/{team_slug}/memberships/{login}`` is 200 with
    ``state: active`` (404: not on the team, or cannot see it). ``emails`` and
    ``emailDomains``: a ``verified`` entry of ``GET /user/emails``.
OpenID Connect (Google, GitLab, custom providers)
    The UserInfo endpoint's ``email``, counted only with ``email_verified``
    true: ``emails`` is the whole address, ``emailDomains`` the part after
    the ``@`` (exactly: subdomains are listed separately).

Entries and answers are compared without regard to case. A user who matches
nothing is ``403 access_denied``. An answer the check cannot use (401 for the
token just issued, 403, 5xx, a shape it does not know, no answer) fails
closed: ``502 provider_error`` (or ``504 provider_timeout``), never a
sign-in. Either way the caller revokes the token (see ``grants.redeem_code``).
Each list costs at most one request per entry on the pooled connection,
stopping at the first match.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from exchange_errors import ExchangeError
from oauth_config import AllowList, ProviderSettings
from provider_http import ProviderAnswer

GITHUB_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
MAX_TEXT = 256
EMAILS_PER_PAGE = 100


class ProviderCall(Protocol):
    """What the check needs of ``grants.ProviderCall``, named here so this module does not import ``grants``."""

    provider: ProviderSettings

    def send(self, method: str, url: str, **kwargs: Any) -> ProviderAnswer: ...


@dataclass(frozen=True)
class SignedInUser:
    """Who the provider says signed in, as the check saw them; every field is provider data, nothing secret."""

    id: str
    """The provider's stable id: GitHub's numeric user id, OIDC's ``sub``."""
    login: str | None = None
    name: str | None = None
    email: str | None = None
    """A verified email address, when the check read one."""
    avatar_url: str | None = None

    def view(self) -> dict[str, str]:
        """The fields that are known, for an answer about the session (session mode's ``user``)."""
        fields = {"id": self.id, "login": self.login, "name": self.name, "email": self.email, "avatarUrl": self.avatar_url}
        return {name: value for name, value in fields.items() if value is not None}


def check(call: ProviderCall, allow: AllowList, access_token: str) -> SignedInUser:
    """The signed-in user when ``allow`` lets them in; raises ``access_denied`` or the provider's failure."""
    if allow.check == "github":
        user, allowed = _github(call, allow, access_token)
    else:
        user, allowed = _oidc(call, allow, access_token)
    if not allowed:
        raise ExchangeError(
            "access_denied",
            "This account is not allowed to sign in here.",
            log_detail=f"not allowed by the access policy ({call.provider.name} user id {user.id})",
        )
    return user


# -- GitHub --------------------------------------------------------------------


def _github(call: ProviderCall, allow: AllowList, token: str) -> tuple[SignedInUser, bool]:
    answer = _get(call, f"{allow.url}/user", token, GITHUB_HEADERS)
    fields = answer.fields or {}
    login, user_id = fields.get("login"), fields.get("id")
    if answer.status != 200 or not _text(login) or isinstance(user_id, bool) or not isinstance(user_id, int):
        raise _unusable("GitHub /user", answer.status)
    user = SignedInUser(
        id=str(user_id), login=login, name=_optional_text(fields.get("name")), avatar_url=_optional_text(fields.get("avatar_url"))
    )
    if login.lower() in allow.users:
        return user, True
    for org in allow.orgs:
        if _github_active(call, f"{allow.url}/user/memberships/orgs/{_segment(org)}", token, "org membership"):
            return user, True
    for team in allow.teams:
        org, _, slug = team.partition("/")
        url = f"{allow.url}/orgs/{_segment(org)}/teams/{_segment(slug)}/memberships/{_segment(login)}"
        if _github_active(call, url, token, "team membership"):
            return user, True
    if allow.emails or allow.email_domains:
        email = _matching(allow, _github_verified_emails(call, allow, token))
        if email is not None:
            return SignedInUser(user.id, user.login, user.name, email, user.avatar_url), True
    return user, False


def _github_active(call: ProviderCall, url: str, token: str, what: str) -> bool:
    """An org or team membership: 200 with ``state: active`` is in, 404 (or ``pending``) is out."""
    answer = _get(call, url, token, GITHUB_HEADERS)
    if answer.status == 404:
        return False
    state = (answer.fields or {}).get("state")
    if answer.status != 200 or not _text(state):
        raise _unusable(f"GitHub {what}", answer.status)
    return state == "active"


def _github_verified_emails(call: ProviderCall, allow: AllowList, token: str) -> list[str]:
    answer = _get(call, f"{allow.url}/user/emails?per_page={EMAILS_PER_PAGE}", token, GITHUB_HEADERS)
    if answer.status != 200 or answer.items is None:
        # 404 here is GitHub's answer to a token without user:email, not "no emails".
        raise _unusable("GitHub /user/emails", answer.status)
    return [
        entry["email"]
        for entry in answer.items
        if isinstance(entry, Mapping) and entry.get("verified") is True and _text(entry.get("email"))
    ]


# -- OpenID Connect --------------------------------------------------------------


def _oidc(call: ProviderCall, allow: AllowList, token: str) -> tuple[SignedInUser, bool]:
    answer = _get(call, allow.url, token, {"Accept": "application/json"})
    fields = answer.fields or {}
    subject = fields.get("sub")
    if answer.status != 200 or not _text(subject):
        raise _unusable("OIDC userinfo", answer.status)
    email = fields.get("email")
    claim = fields.get("email_verified")
    # JSON true, or the string some providers send; never 1 (which equals True in Python).
    verified = claim is True or claim == "true"
    checked = email if verified and _text(email) else None
    user = SignedInUser(
        id=subject,
        login=_optional_text(fields.get("preferred_username")) or _optional_text(fields.get("nickname")),
        name=_optional_text(fields.get("name")),
        email=checked,
        avatar_url=_optional_text(fields.get("picture")),
    )
    return user, checked is not None and _matching(allow, [checked]) is not None


# -- common ----------------------------------------------------------------------


def _get(call: ProviderCall, url: str, token: str, headers: Mapping[str, str]) -> ProviderAnswer:
    return call.send("GET", url, headers={**headers, "Authorization": f"Bearer {token}"})


def _matching(allow: AllowList, emails: Iterable[str]) -> str | None:
    """The first address that ``emails`` or ``email_domains`` allows."""
    for email in emails:
        address = email.lower()
        if address in allow.emails or address.rpartition("@")[2] in allow.email_domains:
            return email
    return None


def _unusable(what: str, status: int) -> ExchangeError:
    return ExchangeError(
        "provider_error",
        "The provider could not confirm that this account may sign in here.",
        log_detail=f"access check failed: {what} answered HTTP {status}",
    )


def _segment(value: str) -> str:
    return quote(value, safe="")


def _text(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_TEXT


def _optional_text(value: Any) -> str | None:
    return value if _text(value) else None
