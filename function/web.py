"""The function's HTTP vocabulary: request and response values, JSON bodies, the spec's headers.

Every route (browser mode's ``/token``, session mode's ``/api/...``, CMS
mode's ``/auth``) speaks in these values, so the Lambda adapter maps one
shape to function URL events and nothing else knows what an event looks like.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from exchange_errors import ExchangeError

MAX_BODY_BYTES = 16 * 1024
MAX_VALUE_CHARS = 4096
SURROGATE = re.compile(r"[\ud800-\udfff]")

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
    """The transport saw a body certainly over MAX_BODY_BYTES (``body`` may still hold it, for the API proxy)."""
    request_id: str = "-"
    seconds_left: float | None = None
    """Time before the platform stops the invocation, when known."""
    query: Mapping[str, str] = field(default_factory=dict)
    """Query parameters; a name given twice keeps its first value."""
    cookies: Mapping[str, str] = field(default_factory=dict)
    """Request cookies by name; a name given twice keeps its first value."""
    domain_name: str = ""
    """The domain the platform received the request on (``requestContext.domainName``), not a client header."""


@dataclass(frozen=True)
class ExchangeResponse:
    status: int
    body: Mapping[str, Any] | str
    """A JSON object, or text already rendered (an HTML page) whose type the headers give."""
    headers: Mapping[str, str] = field(default_factory=lambda: dict(RESPONSE_HEADERS))
    cookies: tuple[str, ...] = ()
    """``Set-Cookie`` values."""


@dataclass
class RequestNote:
    """What the request log line reports; every value in it must be safe to log."""

    route: str = "other"
    provider: str = "-"
    upstream_seconds: float = 0.0
    detail: str = ""
    outcome: str | None = None
    """An error code for a route that answers its errors itself (an HTML page); None: ``ok``."""
    operation: str = ""
    """``refresh`` when ``POST /token`` carries a refresh grant; the metrics tell it from a sign-in."""
    refreshes: int = 0
    secret_rereads: int = 0
    """Times the provider rejected the cached client secret and the store was asked again."""
    store_calls: int = 0
    store_seconds: float = 0.0
    store_errors: int = 0


def error_response(error: ExchangeError) -> ExchangeResponse:
    return ExchangeResponse(error.status, error.body(), {**RESPONSE_HEADERS, **error.headers}, error.cookies)


def json_payload(request: ExchangeRequest) -> Mapping[str, Any]:
    """The request's JSON object body, or the spec's error for why there is none."""
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


def bounded_string(payload: Mapping[str, Any], name: str) -> str:
    """A required, non-empty string field of bounded length."""
    value = payload.get(name)
    if not isinstance(value, str) or not value:
        raise ExchangeError("invalid_request", f"{name} is required and must be a non-empty string.")
    if len(value) > MAX_VALUE_CHARS:
        raise ExchangeError("invalid_request", f"{name} is longer than {MAX_VALUE_CHARS} characters.")
    return value


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
