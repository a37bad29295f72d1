"""Lambda entry point: adapts function URL events (payload 2.0) to the core in ``exchange``.

The adapter is tolerant: whatever the event looks like, it becomes a request
the core can answer (missing pieces are empty), and whatever happens the
result is a response dict with an explicit ``statusCode``, the spec's headers
and a JSON body. It never emits ``Access-Control-*`` headers: the function
URL's CORS configuration owns those.
"""

from __future__ import annotations

import base64
import binascii
import gc
import json
import logging
import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import exchange
from exchange_errors import ExchangeError
from web import MAX_BODY_BYTES, ExchangeRequest, ExchangeResponse, RequestNote

REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
COOKIE_WHITESPACE = " \t"
"""What RFC 6265 (section 5.2) trims around a cookie's name and value: WSP, that is SP and HTAB, nothing else."""
SDK_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer")
"""Never more verbose than INFO: at DEBUG botocore prints each request's headers, the role's X-Amz-Security-Token among them."""
MAX_PASSED_BODY_BYTES = 1024 * 1024
"""Bodies up to this size are decoded even when over MAX_BODY_BYTES: session mode's API proxy takes them."""

if not logging.getLogger().handlers:
    # Outside Lambda (local runs) nothing prints records yet; Lambda installs its own handler.
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s %(message)s")
for _name in SDK_LOGGERS:
    # Whatever level the function logs at: set now, before any AWS request is signed.
    logging.getLogger(_name).setLevel(max(logging.INFO, logging.getLogger().getEffectiveLevel()))
if "AWS_LAMBDA_LOG_LEVEL" not in os.environ:
    # With the text log format the root logger stays at WARNING; the request line must still appear.
    # When the operator picks a log level (JSON format), that choice stands.
    exchange.log.setLevel(logging.INFO)

# Init is done: importing exchange built the container state, and what exists now lives as long
# as the container. Frozen, those ~60,000 objects (botocore's models above all) are no longer
# rescanned by the collector's full passes: ~40 ms of CPU each on the benchmark machine, about
# 7 times that at 256 MB, charged to whichever invocation happened to trigger one.
gc.freeze()


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Answer one function URL invocation."""
    try:
        response = exchange.handle(request_from_event(event, context))
    except Exception as exc:  # noqa: BLE001 - the contract is a 500, never a crash
        response = exchange.error_response(ExchangeError("server_error"))
        exchange.log_request("-", "server_error", response.status, RequestNote(detail=f"adapter failed ({type(exc).__name__})"))
    return response_to_event(response)


def response_to_event(response: ExchangeResponse) -> dict[str, Any]:
    """A function URL response; ``Set-Cookie`` values go in ``cookies``, as payload 2.0 wants them."""
    body = response.body if isinstance(response.body, str) else json.dumps(response.body, separators=(",", ":"))
    result: dict[str, Any] = {
        "statusCode": response.status,
        "headers": dict(response.headers),
        "body": body,
        "isBase64Encoded": False,
    }
    if response.cookies:
        result["cookies"] = list(response.cookies)
    return result


def request_from_event(event: Any, context: Any) -> ExchangeRequest:
    """The core's view of a function URL event."""
    event = event if isinstance(event, Mapping) else {}
    request_context = _mapping(event.get("requestContext"))
    http = _mapping(request_context.get("http"))
    headers = {
        name.lower(): value
        for name, value in _mapping(event.get("headers")).items()
        if isinstance(name, str) and isinstance(value, str)
    }
    raw_body, is_base64 = event.get("body"), event.get("isBase64Encoded") is True
    too_large = _certainly_too_large(raw_body, is_base64)
    beyond_any_route = _certainly_too_large(raw_body, is_base64, MAX_PASSED_BODY_BYTES)
    return ExchangeRequest(
        method=_text(http.get("method")),
        path=_text(event.get("rawPath")),
        headers=headers,
        body=None if beyond_any_route else _body(raw_body, is_base64),
        body_too_large=too_large,
        request_id=_request_id(context, request_context),
        seconds_left=_seconds_left(context),
        query=_query(event.get("rawQueryString")),
        cookies=_cookies(event.get("cookies")),
        domain_name=_text(request_context.get("domainName")),
    )


def _mapping(value: Any) -> Mapping[Any, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _certainly_too_large(body: Any, is_base64: bool, limit_bytes: int = MAX_BODY_BYTES) -> bool:
    """True for body text that cannot decode to ``limit_bytes`` or less, valid or not.

    Base64 text decodes to at least 3 bytes per 4 characters, so text longer
    than the encoding of MAX_BODY_BYTES is too large whether or not it decodes;
    plain text encodes to at least one UTF-8 byte per character.
    """
    if not isinstance(body, str):
        return False
    limit = 4 * -(-limit_bytes // 3) if is_base64 else limit_bytes
    return len(body) > limit


def _query(raw: Any) -> dict[str, str]:
    """``rawQueryString`` decoded; the first of repeated names wins, as for cookies."""
    if not isinstance(raw, str):
        return {}
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw, keep_blank_values=True):
        query.setdefault(name, value)
    return query


def _cookies(raw: Any) -> dict[str, str]:
    """Payload 2.0 gives each request cookie as one ``name=value`` string."""
    cookies: dict[str, str] = {}
    if not isinstance(raw, list):
        return cookies
    for item in raw:
        if isinstance(item, str) and "=" in item:
            name, _, value = item.partition("=")
            # str.strip() would also take Unicode spaces: "\u2000__Host-x" must not become "__Host-x".
            cookies.setdefault(name.strip(COOKIE_WHITESPACE), value.strip(COOKIE_WHITESPACE))
    return cookies


def _body(body: Any, is_base64: bool) -> bytes | None:
    if body is None:
        return b""
    if not isinstance(body, str):
        return None
    try:
        if is_base64:
            return base64.b64decode(body, validate=True)
        return body.encode("utf-8")
    except (binascii.Error, ValueError):
        return None


def _request_id(context: Any, request_context: Mapping[Any, Any]) -> str:
    for candidate in (getattr(context, "aws_request_id", None), request_context.get("requestId")):
        if isinstance(candidate, str) and REQUEST_ID.fullmatch(candidate):
            return candidate
    return "-"


def _seconds_left(context: Any) -> float | None:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None
    millis = remaining()
    return millis / 1000 if isinstance(millis, (int, float)) and not isinstance(millis, bool) else None
