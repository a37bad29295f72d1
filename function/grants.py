"""What the function asks of a provider: tokens for a code or a refresh token, and revocation.

Every mode (browser ``/token``, session cookies, CMS popups) redeems codes and
revokes tokens through these functions, so the error mapping below holds for
all of them.

How provider answers map to the spec's errors (``docs/http-api.md``):

* The provider's ``error`` is looked for in the body (JSON or form) whatever
  the HTTP status, because GitHub answers ``200 {"error": ...}``.
* ``bad_verification_code``, ``redirect_uri_mismatch``, ``invalid_grant``,
  ``bad_refresh_token`` -> 400 ``invalid_grant``; so do ``access_denied`` and
  GitHub's ``unverified_user_email``: the grant was refused for reasons of the
  user or the code, which the SPA handles by starting a new sign-in.
* ``incorrect_client_credentials``, ``invalid_client`` and a bare HTTP 401 ->
  the secret is re-read once; if it changed the call is repeated, otherwise
  (or if the provider rejects it again) 502 ``server_misconfigured``.
* ``unauthorized_client`` -> 502 ``server_misconfigured`` without a re-read:
  the credentials are fine but the app may not use this grant, which only the
  operator can change.
* ``invalid_request`` -> 400 ``invalid_request``: everything this function
  controls was validated, so the provider is objecting to what the caller
  supplied.
* ``unsupported_grant_type`` -> 400 ``unsupported_grant_type``, the same answer
  as for a provider configured without refresh.
* ``unsupported_token_type`` from an RFC 7009 revocation -> 400
  ``unsupported_operation``.
* Any other code, a 5xx, a non-2xx without a code, an answer that is neither
  JSON nor form, or a token answer without ``access_token`` -> 502
  ``provider_error``.

A provider with an access policy (``allow``) has the user checked by
``access_policy`` as soon as a code became tokens; a user it refuses, or a
check that cannot be made, gets the error and the tokens are revoked, so
nothing usable ever leaves the function.
A successful token answer reaches the caller as the spec's fields only, each
of its type: tokens, ``token_type`` and ``scope`` as strings, lifetimes as
whole seconds from 0 to ten years; a field of any other shape is dropped.
"""

from __future__ import annotations

import base64
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import access_policy
from access_policy import SignedInUser
from client_secrets import ClientSecrets, SecretUnavailable
from exchange_errors import ExchangeError
from oauth_config import ProviderSettings
from provider_http import ProviderAnswer, ProviderClient
from web import RequestNote

PKCE_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
VERIFIER_RULE = "code_verifier must be 43-128 characters of A-Z, a-z, 0-9, -, ., _ and ~."
DECIMAL_DIGITS = re.compile(r"[0-9]{1,18}")

TOKEN_FIELDS = ("access_token", "token_type", "scope", "expires_in", "id_token")
REFRESH_FIELDS = ("refresh_token", "refresh_token_expires_in")
NUMERIC_FIELDS = frozenset({"expires_in", "refresh_token_expires_in"})
MAX_LIFETIME_SECONDS = 10 * 365 * 24 * 3600
"""Ten years: longer than any provider's tokens live, short of what a client's date arithmetic can overflow on."""

CLIENT_CREDENTIAL_ERRORS = frozenset({"incorrect_client_credentials", "invalid_client"})
PROVIDER_ERRORS: Mapping[str, tuple[str, str]] = {
    "bad_verification_code": ("invalid_grant", "The authorization code is incorrect, expired or already used."),
    "invalid_grant": ("invalid_grant", "The provider rejected the authorization code, verifier or refresh token."),
    "redirect_uri_mismatch": ("invalid_grant", "The redirect_uri does not match the one the code was issued for."),
    "bad_refresh_token": ("invalid_grant", "The refresh token is incorrect or expired."),
    "access_denied": ("invalid_grant", "The provider refused the grant."),
    "unverified_user_email": ("invalid_grant", "The user must verify their email address with the provider."),
    "invalid_request": ("invalid_request", "The provider rejected the request as malformed."),
    "unsupported_grant_type": ("unsupported_grant_type", "The provider does not support this grant type."),
    "unauthorized_client": ("server_misconfigured", "The provider does not allow this application to use this grant."),
}


class ProviderCall:
    """Provider requests for one incoming request, with its time budget and secret handling."""

    def __init__(
        self,
        secrets: ClientSecrets,
        http: ProviderClient,
        provider: ProviderSettings,
        note: RequestNote,
        budget: float,
    ) -> None:
        self._secrets = secrets
        self._http = http
        self.provider = provider
        self._note = note
        self._budget = budget
        self._deadline = time.monotonic() + budget

    @property
    def note(self) -> RequestNote:
        """The incoming request's log line, which its metrics come from."""
        return self._note

    def renewed(self) -> ProviderCall:
        """The same calls with a fresh time budget, for cleaning up after one that used it all.

        The Lambda timeout leaves room for two budgets (``Settings.lambda_timeout_seconds``).
        """
        return ProviderCall(self._secrets, self._http, self.provider, self._note, self._budget)

    def with_client_credentials(self, send: Callable[[str], ProviderAnswer]) -> ProviderAnswer:
        """Send with the cached secret; on a credentials rejection re-read it once and resend if it changed.

        The re-read is throttled per container (``ClientSecrets.reread``): while the provider keeps
        rejecting a secret, most requests get ``server_misconfigured`` with the cached one, unsent again.
        """
        name = self.provider.name
        try:
            secret, generation = self._secrets.get(name)
            answer = send(secret)
            if not _credentials_rejected(answer):
                return answer
            self._note.secret_rereads += 1
            fresh, _ = self._secrets.reread(name, generation)
        except SecretUnavailable as exc:
            raise ExchangeError("secret_unavailable", log_detail=str(exc)) from None
        if fresh != secret:
            answer = send(fresh)
            if not _credentials_rejected(answer):
                return answer
        raise ExchangeError("server_misconfigured", log_detail="provider rejected the client credentials")

    def send_token_request(self, form: Mapping[str, str], secret: str) -> ProviderAnswer:
        return self._send_authenticated_form(self.provider.token_url, form, secret)

    def send_rfc7009_revoke(self, url: str, token: str, secret: str, hint: str = "access_token") -> ProviderAnswer:
        return self._send_authenticated_form(url, {"token": token, "token_type_hint": hint}, secret)

    def send_github_revoke(self, url: str, token: str, secret: str) -> ProviderAnswer:
        headers = {
            "Authorization": _basic(self.provider.client_id, secret),
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        return self.send("DELETE", url, headers=headers, json_body={"access_token": token})

    def send(self, method: str, url: str, **kwargs: Any) -> ProviderAnswer:
        """One provider request within the incoming request's time budget."""
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise ExchangeError("provider_timeout", log_detail="no time left for the provider call")
        started = time.perf_counter()
        try:
            return self._http.send(method, url, timeout=remaining, **kwargs)
        finally:
            self._note.upstream_seconds += time.perf_counter() - started

    def _send_authenticated_form(self, url: str, form: Mapping[str, str], secret: str) -> ProviderAnswer:
        """A form POST with the client authentication the provider is configured for."""
        client_id = self.provider.client_id
        if self.provider.token_auth == "client_secret_basic":
            headers = {"Authorization": _basic(quote_plus(client_id), quote_plus(secret))}
            return self.send("POST", url, headers=headers, form=form)
        return self.send("POST", url, form={**form, "client_id": client_id, "client_secret": secret})


def authorization_code_form(
    provider: ProviderSettings, code: str, redirect_uri: str, verifier: str | None
) -> dict[str, str]:
    """The token request for a code, after the checks that keep a code to the provider that issued it."""
    if redirect_uri not in provider.redirect_uris:
        raise ExchangeError("invalid_request", "redirect_uri is not one of this provider's redirect URIs.")
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier is None and provider.pkce:
        raise ExchangeError("invalid_request", "code_verifier is required (PKCE).")
    if verifier is not None:
        if not PKCE_VERIFIER.fullmatch(verifier):
            raise ExchangeError("invalid_request", VERIFIER_RULE)
        form["code_verifier"] = verifier
    return form


@dataclass(frozen=True)
class Redemption:
    """What a code became: the tokens, and who they belong to when the access policy checked that."""

    tokens: dict[str, Any]
    """The token answer, reduced to the fields the spec lets through (what ``POST /token`` returns)."""
    user: SignedInUser | None
    """The checked user when the provider has an access policy; None (no extra request) otherwise."""


def redeem_code(call: ProviderCall, form: Mapping[str, str]) -> Redemption:
    """Exchange an authorization code (see ``authorization_code_form``) for tokens the access policy allows.

    A user the policy refuses is ``access_denied``; a check the provider cannot
    answer is its error. In both cases, and on any failure after the tokens
    were issued, they are revoked before the error propagates.
    """
    tokens = request_tokens(call, form)
    return Redemption(tokens, _enforce_policy(call, tokens))


def _enforce_policy(call: ProviderCall, tokens: dict[str, Any]) -> SignedInUser | None:
    """The checked user, or None without a policy; tokens the policy refuses are revoked, then the error raised."""
    allow = call.provider.allow
    if allow is None:
        return None
    try:
        return access_policy.check(call, allow, tokens["access_token"])
    except ExchangeError as refused:
        refused.log_detail = f"{refused.log_detail}; {_discard(call, tokens)}"
        raise
    except Exception:
        _discard(call, tokens)
        raise


def _discard(call: ProviderCall, tokens: Mapping[str, Any]) -> str:
    """Revoke tokens nobody will get; says what happened, for the log line.

    An RFC 7009 provider gets the refresh token too (revoking it usually ends
    the grant); GitHub's revocation endpoint takes access tokens only.
    """
    if call.provider.revoke_url is None:
        return "token not revoked: the provider has no revocation endpoint"
    cleanup = call.renewed()
    refresh_token = tokens.get("refresh_token")
    pending = [tokens["access_token"]]
    if call.provider.revoke_style == "rfc7009" and isinstance(refresh_token, str) and refresh_token:
        pending.insert(0, refresh_token)
    for token in pending:
        try:
            revoke_token(cleanup, token)
        except ExchangeError as failure:
            return f"token not revoked ({failure.error})"
    return "token revoked"


def refresh_tokens(call: ProviderCall, refresh_token: str) -> dict[str, Any]:
    """New tokens for a refresh token (providers configured with ``refresh: true``).

    The access policy is checked again: someone who left the org since signing
    in gets ``access_denied`` instead of another token.
    """
    if not call.provider.refresh:
        raise ExchangeError("unsupported_grant_type", "This provider is not configured for refresh tokens.")
    call.note.refreshes += 1
    tokens = request_tokens(call, {"grant_type": "refresh_token", "refresh_token": refresh_token})
    _enforce_policy(call, tokens)
    return tokens


def request_tokens(call: ProviderCall, form: Mapping[str, str]) -> dict[str, Any]:
    """The token endpoint's answer, reduced to the fields the spec lets through."""
    provider = call.provider
    answer = call.with_client_credentials(lambda secret: call.send_token_request(form, secret))
    fields = answer.fields or {}
    raise_provider_error(answer)
    access_token = fields.get("access_token")
    if not (200 <= answer.status < 300) or not isinstance(access_token, str) or not access_token:
        raise ExchangeError("provider_error", log_detail=f"token answer unusable (HTTP {answer.status})")
    allowed = TOKEN_FIELDS + REFRESH_FIELDS if provider.refresh else TOKEN_FIELDS
    result: dict[str, Any] = {}
    for name in allowed:
        value = fields.get(name)
        value = _lifetime(value) if name in NUMERIC_FIELDS else value if isinstance(value, str) else None
        if value is not None:
            result[name] = value
    return result


def revoke_token(call: ProviderCall, token: str, refresh_token: str | None = None) -> None:
    """Revoke an access token, and its refresh token when given, at the provider; raises unless it confirms.

    RFC 7009 providers get the refresh token first (``token_type_hint=refresh_token``;
    revoking it may end the access tokens of its grant too), then the access token.
    GitHub has no endpoint for a refresh token alone: its one documented way to
    end one is deleting the user's authorization of the app, which ends every
    token of it (the user's other sessions of this app too; the next sign-in
    asks for consent again). Without a refresh token, GitHub's token endpoint
    revokes the access token only.
    """
    provider = call.provider
    if provider.revoke_url is None:
        raise ExchangeError("unsupported_operation", "This provider has no token revocation endpoint.")
    if refresh_token is not None and not provider.refresh:
        raise ExchangeError("invalid_request", "This provider is not configured for refresh tokens.")
    revoke_url = provider.revoke_url
    if provider.revoke_style == "github" and refresh_token is not None:
        _revoke_github_authorization(call, _github_grant_url(revoke_url), token, refresh_token)
    elif provider.revoke_style == "github":
        answer = call.with_client_credentials(lambda secret: call.send_github_revoke(revoke_url, token, secret))
        # GitHub's 404: the token is unknown or already revoked, which is what revoking wants (RFC 7009's
        # rule too). 422 ("validation failed, or the endpoint has been spammed") revoked nothing.
        if not (200 <= answer.status < 300 or _github_not_found(answer)):
            raise ExchangeError("provider_error", log_detail=f"revocation answer unusable (HTTP {answer.status})")
    else:
        if refresh_token is not None:
            _revoke_rfc7009(call, revoke_url, refresh_token, "refresh_token")
        _revoke_rfc7009(call, revoke_url, token, "access_token")


def _revoke_rfc7009(call: ProviderCall, url: str, token: str, hint: str) -> None:
    answer = call.with_client_credentials(lambda secret: call.send_rfc7009_revoke(url, token, secret, hint))
    raise_provider_error(answer, revocation=True)
    if not 200 <= answer.status < 300:
        raise ExchangeError("provider_error", log_detail=f"revocation answer unusable (HTTP {answer.status})")


def _revoke_github_authorization(call: ProviderCall, grant_url: str, token: str, refresh_token: str) -> None:
    """``DELETE /applications/{client_id}/grant`` with the access token: every token of the authorization ends."""
    answer = call.with_client_credentials(lambda secret: call.send_github_revoke(grant_url, token, secret))
    if 200 <= answer.status < 300:
        return
    if not _github_not_found(answer):
        raise ExchangeError("provider_error", log_detail=f"authorization revocation unusable (HTTP {answer.status})")
    # The access token is gone (expired or revoked) and cannot name the authorization, but the refresh
    # token may still be alive. Redeeming it ends it; the access token it gives names the authorization.
    try:
        fresh = refresh_tokens(call, refresh_token)
    except ExchangeError as exc:
        if exc.error == "invalid_grant":
            return  # the refresh token is dead as well: nothing usable is left
        raise
    access_token = fresh["access_token"]
    answer = call.with_client_credentials(lambda secret: call.send_github_revoke(grant_url, access_token, secret))
    if not 200 <= answer.status < 300:
        raise ExchangeError("provider_error", log_detail=f"authorization revocation unusable (HTTP {answer.status})")


def _github_grant_url(revoke_url: str) -> str:
    """GitHub's authorization endpoint next to its token endpoint: ``.../applications/{client_id}/grant``."""
    if not revoke_url.endswith("/token"):
        raise ExchangeError(
            "unsupported_operation",
            "This provider's refresh tokens cannot be revoked.",
            log_detail="github-style revoke_url does not end in /token, so there is no /grant next to it",
        )
    return revoke_url[: -len("token")] + "grant"


def _github_not_found(answer: ProviderAnswer) -> bool:
    """GitHub's own 404 (unknown or already revoked token), told apart by its JSON shape.

    A 404 from anything else on the way (a proxy, a wrong host, an HTML error
    page) revoked nothing, and is a provider_error.
    """
    fields = answer.fields or {}
    documentation = fields.get("documentation_url")
    return (
        answer.status == 404
        and fields.get("message") == "Not Found"
        and isinstance(documentation, str)
        and documentation.startswith("https://docs.github.com/")
    )


def raise_provider_error(answer: ProviderAnswer, *, revocation: bool = False) -> None:
    """Raise the spec's error for a provider's ``error`` field, if the answer has one."""
    error = (answer.fields or {}).get("error")
    if not isinstance(error, str) or not error:
        return
    if revocation and error == "unsupported_token_type":
        raise ExchangeError("unsupported_operation", "The provider cannot revoke this kind of token.")
    mapped = PROVIDER_ERRORS.get(error)
    if mapped is None or answer.status >= 500:
        raise ExchangeError("provider_error", log_detail=f"provider error code not understood (HTTP {answer.status})")
    code, description = mapped
    raise ExchangeError(code, description, log_detail=f"provider said {error}")


def _lifetime(value: Any) -> int | None:
    """A lifetime (``expires_in``, ...) as the SPA gets it: whole seconds from 0 to ten years, or None.

    Form-encoded answers carry numbers as text; decimal digits become an
    integer. A JSON number becomes an integer (parsing already refused
    non-finite ones; a fraction is cut off). Anything else (other text, true,
    null, a list or object) and anything out of range is no lifetime: None,
    left out, so a client never schedules a refresh on nonsense.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        value = int(value) if math.isfinite(value) else None
    elif isinstance(value, str):
        value = int(value) if DECIMAL_DIGITS.fullmatch(value) else None
    if isinstance(value, int) and 0 <= value <= MAX_LIFETIME_SECONDS:
        return value
    return None


def _credentials_rejected(answer: ProviderAnswer) -> bool:
    error = (answer.fields or {}).get("error")
    return error in CLIENT_CREDENTIAL_ERRORS or (answer.status == 401 and not error)


def _basic(user: str, password: str) -> str:
    """HTTP Basic credentials. The token endpoints get RFC 6749 §2.3.1's form-encoded parts."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
