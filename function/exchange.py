"""The framework-free core: routing, validation, grants, revocation, error mapping.

``handle(ExchangeRequest) -> ExchangeResponse`` knows nothing of Lambda events.
Container state (configuration, secret cache, HTTP client) is built once, on
the first request, and shared by all threads; ``reset()`` drops it so the next
request rebuilds it from the environment.

How provider answers map to the spec's errors (docs/http-api.md, "Errors"):

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
  supplied (typically a missing ``code_verifier``).
* ``unsupported_grant_type`` -> 400 ``unsupported_grant_type``, the same answer
  as for a provider configured without refresh.
* ``unsupported_token_type`` from an RFC 7009 revocation -> 400
  ``unsupported_operation``.
* Any other code, a 5xx, a non-2xx without a code, an answer that is neither
  JSON nor form, or a token answer without ``access_token`` -> 502
  ``provider_error``.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

from client_secrets import ClientSecrets, SecretsManagerSource, SecretUnavailable
from exchange_errors import ExchangeError
from oauth_config import PROVIDER_NAME, ConfigError, OAuthConfig, ProviderSettings, load_config
from provider_http import ProviderAnswer, ProviderClient

log = logging.getLogger("oauth_exchange")

MAX_BODY_BYTES = 16 * 1024
MAX_VALUE_CHARS = 4096
PKCE_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
SURROGATE = re.compile(r"[\ud800-\udfff]")
DECIMAL_DIGITS = re.compile(r"[0-9]{1,18}")
PLATFORM_MARGIN_SECONDS = 0.25
ROUTES = ("/token", "/revoke")

TOKEN_FIELDS = ("access_token", "token_type", "scope", "expires_in", "id_token")
REFRESH_FIELDS = ("refresh_token", "refresh_token_expires_in")
NUMERIC_FIELDS = frozenset({"expires_in", "refresh_token_expires_in"})

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

RESPONSE_HEADERS: Mapping[str, str] = {
    "Content-Type": "application/json",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Content-Type-Options": "nosniff",
}


@dataclass(frozen=True)
class ExchangeRequest:
    method: str
    path: str
    headers: Mapping[str, str]
    """Lower-case header names."""
    body: bytes | None
    """None when the transport could not decode the body (bad base64, ...)."""
    body_too_large: bool = False
    """The transport saw a body certainly over MAX_BODY_BYTES, without decoding it."""
    request_id: str = "-"
    seconds_left: float | None = None
    """Time before the platform stops the invocation, when known."""


@dataclass(frozen=True)
class ExchangeResponse:
    status: int
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=lambda: dict(RESPONSE_HEADERS))


@dataclass
class _RequestNote:
    """What the request log line reports."""

    route: str = "other"
    provider: str = "-"
    upstream_seconds: float = 0.0
    detail: str = ""


class _Container:
    """Per-container state: configuration, secret cache and HTTP client."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.config: OAuthConfig | None = None
        self.secrets: ClientSecrets | None = None
        self.provider: ProviderClient | None = None
        try:
            config = load_config(environ)
        except ConfigError as exc:
            log.error("configuration invalid: %s", exc)
            return
        source = SecretsManagerSource(config.secrets_arn)
        self.config = config
        self.secrets = ClientSecrets(source, config.secret_cache_seconds)
        self.provider = ProviderClient()


_container: _Container | None = None
_container_lock = threading.Lock()


def _current_container() -> _Container:
    global _container
    container = _container
    if container is None:
        with _container_lock:
            if _container is None:
                _container = _Container(os.environ)
            container = _container
    return container


def reset() -> None:
    """Forget the container state; the next request reads the environment again."""
    global _container
    with _container_lock:
        old, _container = _container, None
    if old is not None and old.provider is not None:
        old.provider.close()


def handle(request: ExchangeRequest) -> ExchangeResponse:
    """Answer one request; never raises."""
    note = _RequestNote()
    try:
        result = _dispatch(_current_container(), request, note)
        response = ExchangeResponse(200, result)
        outcome = "ok"
    except ExchangeError as exc:
        response = error_response(exc)
        outcome = exc.error
        note.detail = exc.log_detail
    except Exception as exc:  # noqa: BLE001 - the contract is a 500, never a crash
        response = error_response(ExchangeError("server_error"))
        outcome = "server_error"
        note.detail = f"unexpected {type(exc).__name__} at {_where(exc)}"
    log_request(
        request.request_id,
        outcome,
        response.status,
        route=note.route,
        provider=note.provider,
        upstream_seconds=note.upstream_seconds,
        detail=note.detail,
    )
    return response


def error_response(error: ExchangeError) -> ExchangeResponse:
    return ExchangeResponse(error.status, error.body(), {**RESPONSE_HEADERS, **error.headers})


def log_request(
    request_id: str,
    outcome: str,
    status: int,
    *,
    route: str = "other",
    provider: str = "-",
    upstream_seconds: float = 0.0,
    detail: str = "",
) -> None:
    """The one log line per request; every value in it is safe to log.

    The fields are in the message for the text log format and in ``extra``,
    which Lambda's JSON log format turns into top-level keys.
    """
    upstream_ms = round(upstream_seconds * 1000)
    log.info(
        "request_id=%s route=%s provider=%s outcome=%s status=%d upstream_ms=%d%s",
        request_id,
        route,
        provider,
        outcome,
        status,
        upstream_ms,
        f" detail={detail}" if detail else "",
        extra={
            "request_id": request_id,
            "route": route,
            "provider": provider,
            "outcome": outcome,
            "status": status,
            "upstream_ms": upstream_ms,
            "detail": detail,
        },
    )


def _where(exc: BaseException) -> str:
    """File and line of the innermost frame: enough to find the bug, no values."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return "unknown"
    return f"{os.path.basename(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno}"


def _dispatch(container: _Container, request: ExchangeRequest, note: _RequestNote) -> Mapping[str, Any]:
    config, secrets, http = container.config, container.secrets, container.provider
    if config is None or secrets is None or http is None:
        raise ExchangeError("server_error", log_detail="configuration invalid")
    if request.path not in ROUTES:
        raise ExchangeError("not_found")
    note.route = request.path
    if request.method != "POST":
        raise ExchangeError("method_not_allowed", headers={"Allow": "POST"})
    origin = request.headers.get("origin")
    if origin is not None and origin.lower() not in config.allowed_origins:
        raise ExchangeError("origin_not_allowed")
    payload = _payload(request)
    provider = _provider(config, payload)
    note.provider = provider.name
    call = _ProviderCall(secrets, http, provider, note, _time_budget(config, request))
    if request.path == "/token":
        return _token(config, provider, payload, call)
    return _revoke(provider, payload, call)


def _payload(request: ExchangeRequest) -> Mapping[str, Any]:
    body = request.body
    if request.body_too_large or (body is not None and len(body) > MAX_BODY_BYTES):
        raise ExchangeError("request_too_large")
    media_type, _, parameters = request.headers.get("content-type", "").partition(";")
    if media_type.strip().lower() != "application/json" or not _utf8_charset(parameters):
        raise ExchangeError("unsupported_media_type")
    if body is None:
        raise ExchangeError("invalid_request", "The request body could not be decoded.")
    try:
        payload = json.loads(body.decode("utf-8"), object_pairs_hook=_reject_duplicate_keys)
    except (ValueError, RecursionError):
        raise ExchangeError("invalid_request", "The request body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise ExchangeError("invalid_request", "The request body must be a JSON object.")
    if not _is_unicode_text(payload):
        raise ExchangeError("invalid_request", "The request body holds a string that is not valid Unicode text.")
    return payload


def _is_unicode_text(value: Any) -> bool:
    """False when any string in the parsed JSON (key or value) holds a lone surrogate.

    JSON can spell one (``"\\ud800"``) and ``json.loads`` accepts it, but no
    UTF-8 text holds one: such a string cannot be sent on to the provider.
    (A valid escaped pair is decoded to one code point and passes.)
    """
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if SURROGATE.search(item):
                return False
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return True


def _utf8_charset(parameters: str) -> bool:
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return False
    return True


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A field given twice is ambiguous; refuse it rather than guess which one counts."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError("duplicate key")
        result[key] = value
    return result


def _provider(config: OAuthConfig, payload: Mapping[str, Any]) -> ProviderSettings:
    name = payload.get("provider")
    if name is None:
        if len(config.providers) == 1:
            return next(iter(config.providers.values()))
        raise ExchangeError("invalid_request", "provider is required: several providers are configured.")
    if not isinstance(name, str) or not PROVIDER_NAME.fullmatch(name):
        raise ExchangeError("invalid_request", "provider must be 1-32 characters of a-z, 0-9 and -.")
    provider = config.providers.get(name)
    if provider is None:
        raise ExchangeError("invalid_request", "provider is not one of the configured providers.")
    return provider


def _bounded_string(payload: Mapping[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value:
        raise ExchangeError("invalid_request", f"{name} is required and must be a non-empty string.")
    if len(value) > MAX_VALUE_CHARS:
        raise ExchangeError("invalid_request", f"{name} is longer than {MAX_VALUE_CHARS} characters.")
    return value


def _time_budget(config: OAuthConfig, request: ExchangeRequest) -> float:
    """The provider timeout, shortened so the answer beats the platform's own timeout."""
    if request.seconds_left is None:
        return config.timeout_seconds
    return min(config.timeout_seconds, request.seconds_left - PLATFORM_MARGIN_SECONDS)


def _token(
    config: OAuthConfig, provider: ProviderSettings, payload: Mapping[str, Any], call: _ProviderCall
) -> Mapping[str, Any]:
    grant_type = payload.get("grant_type")
    if grant_type is None:
        grant_type = "authorization_code"
    if not isinstance(grant_type, str):
        raise ExchangeError("invalid_request", "grant_type must be a string.")
    if grant_type == "authorization_code":
        form = _authorization_code_form(config, payload)
    elif grant_type == "refresh_token" and provider.refresh:
        form = {"grant_type": "refresh_token", "refresh_token": _bounded_string(payload, "refresh_token")}
    elif grant_type == "refresh_token":
        raise ExchangeError("unsupported_grant_type", "This provider is not configured for refresh tokens.")
    else:
        raise ExchangeError("unsupported_grant_type", "grant_type must be authorization_code or refresh_token.")

    answer = call.with_client_credentials(lambda secret: call.send_token_request(form, secret))
    fields = answer.fields or {}
    _raise_provider_error(answer)
    access_token = fields.get("access_token")
    if not (200 <= answer.status < 300) or not isinstance(access_token, str) or not access_token:
        raise ExchangeError("provider_error", log_detail=f"token answer unusable (HTTP {answer.status})")
    allowed = TOKEN_FIELDS + REFRESH_FIELDS if provider.refresh else TOKEN_FIELDS
    result = {name: fields[name] for name in allowed if name in fields}
    for name in NUMERIC_FIELDS & result.keys():
        lifetime = _lifetime(result.pop(name))
        if lifetime is not None:
            result[name] = lifetime
    return result


def _authorization_code_form(config: OAuthConfig, payload: Mapping[str, Any]) -> dict[str, str]:
    code = _bounded_string(payload, "code")
    redirect_uri = payload.get("redirect_uri")
    if not isinstance(redirect_uri, str) or not redirect_uri:
        raise ExchangeError("invalid_request", "redirect_uri is required.")
    if redirect_uri not in config.redirect_uris:
        raise ExchangeError("invalid_request", "redirect_uri is not one of the allowed redirect URIs.")
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    verifier = payload.get("code_verifier")
    if verifier is not None:
        if not isinstance(verifier, str) or not PKCE_VERIFIER.fullmatch(verifier):
            raise ExchangeError(
                "invalid_request", "code_verifier must be 43-128 characters of A-Z, a-z, 0-9, -, ., _ and ~."
            )
        form["code_verifier"] = verifier
    return form


def _lifetime(value: Any) -> int | str | None:
    """A lifetime (``expires_in``, ...) as the SPA gets it: an integer, or the provider's text.

    Form-encoded answers carry numbers as text; those become integers. A JSON
    number becomes an integer (parsing already refused non-finite ones).
    Anything else (true, null, a list or object) is no lifetime: None, left out.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    if isinstance(value, str):
        return int(value) if DECIMAL_DIGITS.fullmatch(value) else value
    return None


def _revoke(provider: ProviderSettings, payload: Mapping[str, Any], call: _ProviderCall) -> Mapping[str, Any]:
    if provider.revoke_url is None:
        raise ExchangeError("unsupported_operation", "This provider has no token revocation endpoint.")
    token = _bounded_string(payload, "token")
    revoke_url = provider.revoke_url
    if provider.revoke_style == "github":
        answer = call.with_client_credentials(lambda secret: call.send_github_revoke(revoke_url, token, secret))
        # 404: the token is unknown or already revoked, which is what revoking wants (RFC 7009's rule too).
        # 422 ("validation failed, or the endpoint has been spammed") revoked nothing.
        if 200 <= answer.status < 300 or answer.status == 404:
            return {"revoked": True}
    else:
        answer = call.with_client_credentials(lambda secret: call.send_rfc7009_revoke(revoke_url, token, secret))
        _raise_provider_error(answer, revocation=True)
        if 200 <= answer.status < 300:
            return {"revoked": True}
    raise ExchangeError("provider_error", log_detail=f"revocation answer unusable (HTTP {answer.status})")


def _raise_provider_error(answer: ProviderAnswer, *, revocation: bool = False) -> None:
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


def _credentials_rejected(answer: ProviderAnswer) -> bool:
    error = (answer.fields or {}).get("error")
    return error in CLIENT_CREDENTIAL_ERRORS or (answer.status == 401 and not error)


class _ProviderCall:
    """Provider requests for one incoming request, with its time budget and secret handling."""

    def __init__(
        self,
        secrets: ClientSecrets,
        http: ProviderClient,
        provider: ProviderSettings,
        note: _RequestNote,
        budget: float,
    ) -> None:
        self._secrets = secrets
        self._http = http
        self._provider = provider
        self._note = note
        self._deadline = time.monotonic() + budget

    def with_client_credentials(self, send: Callable[[str], ProviderAnswer]) -> ProviderAnswer:
        """Send with the cached secret; on a credentials rejection re-read it once and resend if it changed."""
        name = self._provider.name
        try:
            secret, generation = self._secrets.get(name)
            answer = send(secret)
            if not _credentials_rejected(answer):
                return answer
            fresh, _ = self._secrets.reread(name, generation)
        except SecretUnavailable as exc:
            raise ExchangeError("secret_unavailable", log_detail=str(exc)) from None
        if fresh != secret:
            answer = send(fresh)
            if not _credentials_rejected(answer):
                return answer
        raise ExchangeError("server_misconfigured", log_detail="provider rejected the client credentials")

    def send_token_request(self, form: Mapping[str, str], secret: str) -> ProviderAnswer:
        return self._send_authenticated_form(self._provider.token_url, form, secret)

    def send_rfc7009_revoke(self, url: str, token: str, secret: str) -> ProviderAnswer:
        return self._send_authenticated_form(url, {"token": token, "token_type_hint": "access_token"}, secret)

    def send_github_revoke(self, url: str, token: str, secret: str) -> ProviderAnswer:
        headers = {
            "Authorization": _basic(self._provider.client_id, secret),
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        return self._send("DELETE", url, headers=headers, json_body={"access_token": token})

    def _send_authenticated_form(self, url: str, form: Mapping[str, str], secret: str) -> ProviderAnswer:
        """A form POST with the client authentication the provider is configured for."""
        client_id = self._provider.client_id
        if self._provider.token_auth == "client_secret_basic":
            headers = {"Authorization": _basic(quote_plus(client_id), quote_plus(secret))}
            return self._send("POST", url, headers=headers, form=form)
        return self._send("POST", url, form={**form, "client_id": client_id, "client_secret": secret})

    def _send(self, method: str, url: str, **kwargs: Any) -> ProviderAnswer:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise ExchangeError("provider_timeout", log_detail="no time left for the provider call")
        started = time.perf_counter()
        try:
            return self._http.send(method, url, timeout=remaining, **kwargs)
        finally:
            self._note.upstream_seconds += time.perf_counter() - started


def _basic(user: str, password: str) -> str:
    """HTTP Basic credentials. The token endpoints get RFC 6749 §2.3.1's form-encoded parts."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
