"""Session mode's API proxy: ``/api/proxy/<provider>/<path>`` to the provider's API, with the session's token.

Only the methods and path prefixes the stack allows (``apiPaths``) pass, and
the path is checked before anything is looked up: no dot segments (plain or
%-encoded), no encoded slashes or backslashes, no empty segments, printable
ASCII only, so what the allow-list approves is exactly what the provider
reads. The upstream URL is always ``apiBaseUrl`` + that path, so no request
can reach another host.

Headers are filtered both ways: the provider gets a few content-negotiation
headers and the bearer token, never the browser's cookie; the browser gets
the provider's status, body (JSON or text) and a bounded set of headers,
never ``Set-Cookie``. Both directions are size-bounded (the function URL
carries at most 6 MB either way).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlencode

from container import Invocation
from exchange_errors import ExchangeError
from oauth_config import OAuthConfig
from web import RESPONSE_HEADERS, ExchangeRequest, ExchangeResponse

PREFIX = "/api/proxy/"
MAX_PATH_CHARS = 2048
MAX_QUERY_CHARS = 4096
MAX_ANSWER_BYTES = 2 * 1024 * 1024
"""JSON-escaping in the function URL's response can triple text; 2 MiB stays under its 6 MB."""
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORWARDED_REQUEST_HEADERS = ("accept", "content-type", "if-none-match", "if-modified-since", "x-github-api-version")
PASSED_ANSWER_HEADERS = (
    "content-type",
    "etag",
    "last-modified",
    "link",
    "retry-after",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-ratelimit-used",
    "x-ratelimit-resource",
)
_PATH_CHARS = re.compile(r"[!$&'()*+,\-./0-9:=@A-Z_a-z~%]*")
_REFUSED_ESCAPES = re.compile(r"%(2f|5c|00)", re.IGNORECASE)


@dataclass(frozen=True)
class Target:
    """Where an allowed proxy request goes."""

    provider: str
    url: str
    api_base_url: str


def target(config: OAuthConfig, request: ExchangeRequest) -> Target:
    """The upstream URL for a proxy request, or the error saying why it may not go."""
    assert config.session is not None
    name, _, rest = request.path[len(PREFIX) :].partition("/")
    provider = config.session.providers.get(name)
    if provider is None:
        raise ExchangeError("not_found", "There is no such provider to proxy to.")
    if provider.api_base_url is None or not provider.api_rules:
        raise ExchangeError("path_not_allowed", "No API calls are allowed for this provider.")
    path = "/" + rest
    decoded = _plain_path(path)
    if not any(rule.allows(request.method, decoded) for rule in provider.api_rules):
        raise ExchangeError("path_not_allowed", log_detail=f"{request.method} not in apiPaths")
    query = urlencode(request.query, quote_via=quote)
    if len(query) > MAX_QUERY_CHARS:
        raise ExchangeError("invalid_request", f"The query is longer than {MAX_QUERY_CHARS} characters.")
    return Target(name, provider.api_base_url + path + (f"?{query}" if query else ""), provider.api_base_url)


def forward(invocation: Invocation, destination: Target, token_type: str, access_token: str) -> ExchangeResponse:
    """Send the request on with the session's token and pass the provider's answer back."""
    request = invocation.request
    content = _body(request)
    headers = {name: request.headers[name] for name in FORWARDED_REQUEST_HEADERS if name in request.headers}
    for name, value in headers.items():
        if not (value.isascii() and value.isprintable()):
            raise ExchangeError("invalid_request", f"The {name} header holds characters the proxy does not pass.")
    headers["Authorization"] = f"{'Bearer' if token_type.lower() == 'bearer' else token_type} {access_token}"
    invocation.note.provider = destination.provider
    started = time.perf_counter()
    try:
        answer = invocation.http.send_raw(
            request.method,
            destination.url,
            timeout=invocation.time_budget(),
            headers=headers,
            content=content,
            max_bytes=MAX_ANSWER_BYTES,
        )
    finally:
        invocation.note.upstream_seconds += time.perf_counter() - started
    if answer.status >= 500:
        raise ExchangeError("provider_error", log_detail=f"provider API answered HTTP {answer.status}")
    media_type = answer.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if answer.body and not (media_type.startswith("text/") or media_type == "application/json" or media_type.endswith("+json")):
        raise ExchangeError("provider_error", log_detail="provider API answer is neither JSON nor text")
    try:
        text = answer.body.decode("utf-8")
    except UnicodeDecodeError:
        raise ExchangeError("provider_error", log_detail="provider API answer is not UTF-8") from None
    passed = {name.title(): answer.headers[name] for name in PASSED_ANSWER_HEADERS if name in answer.headers}
    if "Link" in passed:
        # Pagination links name the provider's API; the SPA follows them through the proxy.
        passed["Link"] = passed["Link"].replace(f"<{destination.api_base_url}/", f"<{PREFIX}{destination.provider}/")
    if not text:
        passed.pop("Content-Type", None)
    return ExchangeResponse(answer.status, text, {**RESPONSE_HEADERS, **passed})


def _plain_path(path: str) -> str:
    """The path as the provider will read it, after refusing every way of saying something else."""
    if len(path) > MAX_PATH_CHARS or not _PATH_CHARS.fullmatch(path) or _REFUSED_ESCAPES.search(path):
        raise ExchangeError("path_not_allowed", "The path holds characters or escapes the proxy does not pass.")
    segments = path.split("/")[1:]
    decoded = [unquote(segment) for segment in segments]
    if any(segment == "" for segment in segments[:-1]) or any(part in (".", "..") for part in decoded):
        raise ExchangeError("path_not_allowed", "The path has empty or dot segments.")
    return "/" + "/".join(decoded)


def _body(request: ExchangeRequest) -> bytes | None:
    if request.method not in BODY_METHODS:
        return None
    if request.body is None:
        if request.body_too_large:
            raise ExchangeError("request_too_large", "The request body is larger than the proxy passes (1 MiB).")
        raise ExchangeError("invalid_request", "The request body could not be decoded.")
    return request.body or None
