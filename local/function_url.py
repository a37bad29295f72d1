"""A Lambda function URL emulator that behaves as AWS does.

The SPA and the browser tests talk to the exchange function only through its
function URL, so what the URL itself does matters as much as the handler:
requests become payload format 2.0 events, results are mapped back as Lambda
maps them (including the missing-``statusCode`` rule), a failed invocation is
a bare 502, and CORS comes from the URL's configuration, not from the
function: preflights are answered without invoking it, and any
``Access-Control-*`` header the function emits is replaced.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from oauth_exchange.origins import FunctionUrlCors, function_url_cors
from oauth_exchange.settings import Settings
from local.edge_proxy import SIGNATURE_HEADER
from local.http_server import LoopbackServer, LoopbackService, QuietHandler, RequestLog

MAX_REQUEST_BYTES = 6 * 1024 * 1024
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TEXT_MARKERS = ("text", "json", "xml", "javascript")
_DROPPED_REQUEST_HEADERS = frozenset({"connection", "keep-alive", "cookie"})

Function = Callable[[dict[str, Any], str], Any]
"""Runs one invocation: ``(event, request_id) -> result``; raises ``FunctionError`` when it fails."""


class FunctionError(Exception):
    """The invocation failed (unhandled exception, timeout, crash): the URL answers 502."""


class Throttled(Exception):
    """No concurrency was available for the invocation: the URL answers 429."""


class MalformedResponse(Exception):
    """The function returned something a function URL cannot turn into HTTP."""


class Cors(FunctionUrlCors):
    """A function URL's CORS configuration, and what AWS answers with it."""

    @classmethod
    def for_site(cls, settings: Settings, site_origin: str) -> Cors:
        """The configuration the deployed function URL gets: exactly the SPA's origins."""
        return cls(**vars(function_url_cors(settings, site_origin)))

    def allows(self, origin: str | None) -> bool:
        return origin is not None and origin in self.allow_origins

    def preflight_headers(self, origin: str) -> list[tuple[str, str]]:
        headers = [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Allow-Methods", ",".join(self.allow_methods)),
            ("Access-Control-Allow-Headers", ",".join(self.allow_headers)),
            ("Access-Control-Max-Age", str(self.max_age)),
        ]
        if self.allow_credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        return headers

    def response_headers(self, origin: str) -> list[tuple[str, str]]:
        headers = [("Access-Control-Allow-Origin", origin)]
        if self.allow_credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        return headers


@dataclass(frozen=True)
class Invocation:
    """One call of the function, as the emulator saw it."""

    request_id: str
    method: str
    path: str
    status: int


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def is_text_content_type(content_type: str | None) -> bool:
    """Whether Lambda passes a body of this type as text; anything else arrives base64-encoded."""
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    return any(marker in mime for marker in _TEXT_MARKERS)


def _request_time(epoch: float) -> str:
    t = time.gmtime(epoch)
    return f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"


def build_event(
    *,
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    source_ip: str,
    request_id: str,
    url_id: str,
    epoch: float | None = None,
) -> dict[str, Any]:
    """The payload format 2.0 event Lambda builds for a function URL request."""
    epoch = time.time() if epoch is None else epoch
    raw_path, _, raw_query = target.partition("?")
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
        if key in _DROPPED_REQUEST_HEADERS:
            continue
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": merged,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": url_id,
            "domainName": merged.get("host", ""),
            "domainPrefix": url_id,
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": _request_time(epoch),
            "timeEpoch": int(epoch * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if raw_query:
        params: dict[str, str] = {}
        for key, value in parse_qsl(raw_query, keep_blank_values=True):
            params[key] = f"{params[key]},{value}" if key in params else value
        event["queryStringParameters"] = params
    if body:
        text = None
        if is_text_content_type(merged.get("content-type")):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        event["body"] = text if text is not None else base64.b64encode(body).decode("ascii")
        event["isBase64Encoded"] = text is None
    return event


def map_result(result: Any) -> HttpResponse:
    """Turn the function's (JSON-decoded) result into HTTP, as Lambda does.

    A dict with ``statusCode`` is a response; anything else (a dict without
    one, a list, a string, a number, null) is returned as JSON with status 200.
    """
    if not isinstance(result, dict) or "statusCode" not in result:
        return HttpResponse(200, [("Content-Type", "application/json")], json.dumps(result).encode("utf-8"))
    status = result["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise MalformedResponse(f"statusCode must be an integer from 100 to 599, got {status!r}")
    raw_headers = result.get("headers") or {}
    if not isinstance(raw_headers, dict):
        raise MalformedResponse("headers must be an object")
    headers: list[tuple[str, str]] = []
    for name, value in raw_headers.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise MalformedResponse(f"header {name!r} must have a string or number value")
        text = value if isinstance(value, str) else json.dumps(value)
        if not name or ":" in name or any(c in f"{name}{text}" for c in "\r\n"):
            raise MalformedResponse(f"header {name!r} is not a valid HTTP header")
        headers.append((name, text))
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    cookies = result.get("cookies") or []
    if not isinstance(cookies, list) or not all(isinstance(c, str) and "\n" not in c and "\r" not in c for c in cookies):
        raise MalformedResponse("cookies must be a list of Set-Cookie strings")
    headers.extend(("Set-Cookie", cookie) for cookie in cookies)
    body = result.get("body")
    if body is None:
        payload = b""
    elif not isinstance(body, str):
        raise MalformedResponse("body must be a string")
    elif result.get("isBase64Encoded") is True:
        try:
            payload = base64.b64decode(body, validate=True)
        except binascii.Error:
            raise MalformedResponse("isBase64Encoded is true but body is not base64") from None
    else:
        payload = body.encode("utf-8")
    return HttpResponse(status, headers, payload)


_BAD_GATEWAY = HttpResponse(502, [("Content-Type", "application/json")], b"Internal Server Error")
_FORBIDDEN = HttpResponse(403, [("Content-Type", "application/json")], b'{"Message":"Forbidden"}')
_THROTTLED = HttpResponse(429, [("Content-Type", "application/json")], b'{"Message":"Rate Exceeded."}')


class _EmulatorServer(LoopbackServer):
    emulator: FunctionUrlEmulator


class _Handler(QuietHandler):
    server: _EmulatorServer

    def _serve(self) -> None:
        emulator = self.server.emulator
        cors = emulator.cors
        request_id = str(uuid.uuid4())
        if emulator.signing_key is not None:
            # AWS_IAM auth: only the site's distribution (local.edge_proxy) signs requests.
            signature = self.headers.get(SIGNATURE_HEADER, "")
            del self.headers[SIGNATURE_HEADER]
            if not secrets.compare_digest(signature.encode(), emulator.signing_key.encode()):
                self._send(_FORBIDDEN, request_id)
                return
        origin = self.headers.get("Origin")
        if self.command == "OPTIONS" and origin is not None and "Access-Control-Request-Method" in self.headers:
            headers = cors.preflight_headers(origin) if cors.allows(origin) else []
            self._send(HttpResponse(200, headers, b""), request_id)
            return
        body = self._read_body(request_id)
        if body is None:
            return
        event = build_event(
            method=self.command,
            target=self.path,
            headers=self.headers.items(),
            body=body,
            source_ip=self.client_address[0],
            request_id=request_id,
            url_id=emulator.url_id,
        )
        if len(json.dumps(event)) > MAX_REQUEST_BYTES:
            self._too_large(request_id)
            return
        response = emulator.invoke(event, request_id, self.command)
        headers = [(n, v) for n, v in response.headers if not n.lower().startswith("access-control-")]
        if cors.allows(origin):
            headers.extend(cors.response_headers(origin or ""))
        self._send(HttpResponse(response.status, headers, response.body), request_id)

    def _read_body(self, request_id: str) -> bytes | None:
        length = self.headers.get("Content-Length")
        if length is None:
            if self.headers.get("Transfer-Encoding"):
                self._refuse(411, "Length Required", request_id)
                return None
            return b""
        if not length.isdigit():
            self._refuse(400, "Invalid Content-Length", request_id)
            return None
        if int(length) > MAX_REQUEST_BYTES:
            self._too_large(request_id)
            return None
        return self.rfile.read(int(length))

    def _too_large(self, request_id: str) -> None:
        message = f"Request must be smaller than {MAX_REQUEST_BYTES} bytes for the InvokeFunction operation"
        self._refuse(413, message, request_id)

    def _refuse(self, status: int, message: str, request_id: str) -> None:
        """Answer without reading the body, so the connection cannot be reused."""
        self.close_connection = True
        body = json.dumps({"Message": message}).encode()
        self._send(HttpResponse(status, [("Content-Type", "application/json")], body), request_id)

    def _send(self, response: HttpResponse, request_id: str) -> None:
        varies = [p.strip() for n, v in response.headers if n.lower() == "vary" for p in v.split(",") if p.strip()]
        headers = [(n, v) for n, v in response.headers if n.lower() != "vary"]
        if "origin" not in (v.lower() for v in varies):
            varies.append("Origin")
        headers.append(("Vary", ", ".join(varies)))
        headers.append(("x-amzn-RequestId", request_id))
        if self.close_connection:
            headers.append(("Connection", "close"))
        self.send_body(response.status, headers, response.body)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve


class FunctionUrlEmulator(LoopbackService):
    """A function URL on 127.0.0.1, in front of any ``Function``.

    The port is bound on construction (``url`` is known at once); requests are
    served after ``serve(function, cors)``. Every invocation is recorded so
    tests can prove the function was, or was not, called.
    """

    def __init__(self, port: int = 0, log: RequestLog | None = None) -> None:
        self._server = _EmulatorServer(_Handler, port, log=log, log_name="function")
        self._server.emulator = self
        self._log = log
        self.url_id = secrets.token_hex(16)
        self.function: Function | None = None
        self.cors = Cors(allow_origins=())
        self.signing_key: str | None = None
        self._invocations: list[Invocation] = []
        self._lock = threading.Lock()

    def serve(self, function: Function, cors: Cors, signing_key: str | None = None) -> None:
        """``signing_key``: the URL's auth is AWS_IAM, and only requests carrying this key are let in."""
        self.function = function
        self.cors = cors
        self.signing_key = signing_key
        self._server.start("function-url")

    def __enter__(self) -> FunctionUrlEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def invocations(self) -> list[Invocation]:
        with self._lock:
            return list(self._invocations)

    @property
    def invocation_count(self) -> int:
        with self._lock:
            return len(self._invocations)

    def invoke(self, event: dict[str, Any], request_id: str, method: str) -> HttpResponse:
        """Run the function and map its result; every failure is a bare 502, as on AWS."""
        if self.function is None:
            raise RuntimeError("serve() was not called")
        try:
            # Lambda hands the URL the result as JSON: serialise it the same way.
            response = map_result(json.loads(json.dumps(self.function(event, request_id))))
        except Throttled:
            return _THROTTLED
        except Exception as error:  # FunctionError, MalformedResponse, unserialisable result, in-process raise
            self._report(request_id, error)
            response = _BAD_GATEWAY
        with self._lock:
            self._invocations.append(Invocation(request_id, method, event["rawPath"], response.status))
        return response

    def _report(self, request_id: str, error: Exception) -> None:
        if self._log is not None:
            self._log(f"function invocation {request_id} failed: {type(error).__name__}: {error}")
