"""HTTP calls to OAuth providers: one pooled client, bounded answers, one safe retry.

A single ``httpcore.ConnectionPool`` lives as long as the container, so warm
invocations reuse the kept-alive (TLS) connection and an exchange costs one
round trip. httpcore is the transport under httpx without httpx's client
layer (URL models, cookie jar, redirects, content decoding), which the
function needs none of and which cost about half a millisecond of CPU per
call on the benchmark machine, session mode's proxy paying it on every API call.
Redirects are never followed and cookies are never kept: a token endpoint
has no business redirecting, and one user's cookies must not ride along with
the next user's request.

Every call has one deadline covering connect, send and the whole answer; the
answer is streamed and cut off at ``MAX_ANSWER_BYTES`` counted on the wire.
Answers are asked for without content coding (``Accept-Encoding: identity``)
and one that comes compressed anyway is refused unread: inflating it would let
a few kilobytes on the wire become gigabytes in memory. Each network read is
also bounded by the time left when the call started, so a provider that drips
its answer byte by byte is stopped within about twice the timeout; until the
answer's head is complete, no read outlasts the deadline at all. An answer
whose last byte lands just after the deadline is still used: the provider has
already spent the single-use code on it.

A request is retried once, and only when it cannot have reached the provider:
the connection could not be opened, or a connection taken from the pool
failed before the whole request had been handed to it. httpcore already
drops an idle connection whose close it can see before sending on it; this
retry covers the close it could not see yet (the provider's reset still in
flight while the container was frozen), when writing the request fails.
Once the whole request was written, a failure is never retried, on a pooled
connection or a fresh one: the provider may have read it and spent the
single-use code, and a client cannot tell that apart from a close that raced
the request (the kernel accepts the bytes either way).

``ProviderClient.attempt`` is one such attempt without the retry, for
``dynamodb``, whose retry rules are DynamoDB's; its calls share the pool.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import certifi
import httpcore

from exchange_errors import ExchangeError

MAX_ANSWER_BYTES = 64 * 1024
USER_AGENT = "oauth-exchange/1.0 (+httpcore)"
KEEPALIVE_SECONDS = 60.0
DEFAULT_HEADERS = {
    "user-agent": USER_AGENT,
    "accept": "application/json",
    # Never a compressed answer: inflating one would let a few kilobytes on the wire become gigabytes.
    "accept-encoding": "identity",
}
_RETRIABLE = (httpcore.ConnectError, httpcore.RemoteProtocolError, httpcore.ReadError, httpcore.WriteError)
_FAILED = (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol, httpcore.ProxyError)

# httpcore logs each step of a request at DEBUG, answer headers included; the function's
# own request line says what happened, and the contract is one line per request.
if logging.getLogger("httpcore").level == logging.NOTSET:
    logging.getLogger("httpcore").setLevel(logging.INFO)


@dataclass(frozen=True)
class ProviderAnswer:
    status: int
    fields: Mapping[str, Any] | None
    """The JSON object or form fields of the body; None when it is neither."""
    items: tuple[Any, ...] | None = None
    """The elements of a JSON array body (GitHub's lists, e.g. ``/user/emails``); None when it is not one."""


@dataclass(frozen=True)
class RawAnswer:
    """An API answer as it came (session mode's proxy passes it on): status, headers, body bytes."""

    status: int
    headers: Mapping[str, str]
    """By lower-case name; repeated headers joined with ", "."""
    body: bytes


class _AttemptTrace:
    """Watches httpcore's trace events to tell whether a failure is safe to retry.

    Event names are httpcore's (1.x): ``<logger suffix>.<step>.<started|complete|failed>``.
    httpcore swallows a failed write and goes on to read, so a request that
    could not be written surfaces as a read error; ``send_request_body.complete``
    is what says the whole request was written.
    """

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.opened_connection = False
        self.request_sent = False
        self.got_response = False

    def __call__(self, event: str, info: Mapping[str, Any]) -> None:
        if event.startswith("connection.connect_tcp."):
            self.opened_connection = True
        elif event == "http11.send_request_body.complete":
            self.request_sent = True
        elif event == "http11.receive_response_headers.complete":
            self.got_response = True

    def safe_to_retry(self, exc: Exception) -> bool:
        if isinstance(exc, httpcore.ConnectError):
            return True
        stale_pooled_connection = not (self.opened_connection or self.request_sent or self.got_response)
        return stale_pooled_connection and isinstance(exc, _RETRIABLE)


class _Deadline(Exception):
    """The call's overall deadline passed while the answer was still arriving."""


_attempt_of_thread = threading.local()
"""The attempt the calling thread is making (httpcore does a sync request's I/O on the caller's thread)."""


def _head_read_timeout(timeout: float | None) -> float | None:
    """Until the answer's head is in, no read may outlast the call's deadline.

    httpcore bounds each read, not the head as a whole: a provider that sent
    one header line at a time, each within the timeout, would hold the call
    until the Lambda timeout.
    """
    attempt = getattr(_attempt_of_thread, "trace", None)
    if attempt is None or attempt.got_response:
        return timeout
    left = attempt.deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the answer's head did not arrive by the deadline")
    return left if timeout is None else min(timeout, left)


_QUICKACK = getattr(socket, "TCP_QUICKACK", None)
"""Linux's; elsewhere (a local stack on macOS) ACKs keep the kernel's timing."""


class _DeadlineStream(httpcore.NetworkStream):
    """Reads of an answer's head held to the deadline; each read acknowledged at once.

    The ACK: a server that writes an answer's head and body apart, Nagle's
    algorithm on, sends the body only once the head is acknowledged, and the
    kernel delays that ACK by up to 40 ms. httpcore writes a request's head
    and body apart too, which leaves the kernel in its delaying mode: against
    such a stand-in for DynamoDB the proxied call's p50 was 45 ms, 2.5 ms with
    ``TCP_QUICKACK`` set after each read (docs/benchmarks-session.md).
    """

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner
        self._socket = inner.get_extra_info("socket") if _QUICKACK is not None else None
        self.discard = False
        """Set when the connection holds bytes no one asked for: the pool then sees it as closed."""

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = self._inner.read(max_bytes, _head_read_timeout(timeout))
        if self._socket is not None:
            try:
                self._socket.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
            except OSError:  # closed meanwhile: the next read says so
                pass
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self.discard:
            return True
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.SyncBackend):
    """httpcore's socket backend, with reads of an answer's head held to the call's deadline."""

    def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        return _DeadlineStream(super().connect_tcp(*args, **kwargs))


def tls_context(environ: Mapping[str, str]) -> ssl.SSLContext:
    """The verifying TLS context for provider calls: certificate and host name always checked.

    The CAs trusted are certifi's bundle, unless ``SSL_CERT_FILE`` (a PEM
    bundle) or else ``SSL_CERT_DIR`` names others, the standard OpenSSL
    variables. The stack sets neither; tests and the benchmark set
    ``SSL_CERT_FILE`` to a throwaway CA, so the function trusts only that.
    Raises OSError (ssl.SSLError included) for a bundle that cannot be loaded.
    """
    ca_file = environ.get("SSL_CERT_FILE") or None
    ca_dir = None if ca_file else environ.get("SSL_CERT_DIR") or None
    return _verifying_context(ca_file, ca_dir)


@functools.cache
def _verifying_context(ca_file: str | None, ca_dir: str | None) -> ssl.SSLContext:
    """One context per CA bundle and process: loading the bundle is the slow part of a client."""
    if ca_file is None and ca_dir is None:
        ca_file = certifi.where()
    return ssl.create_default_context(cafile=ca_file, capath=ca_dir)


class ProviderClient:
    """Sends requests to providers; safe to share between threads.

    Building one loads httpcore and sets up the connection pool: the container
    does it once, at init, with the context ``tls_context`` gives.
    """

    def __init__(self, tls: ssl.SSLContext) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=tls,
            max_connections=20,
            max_keepalive_connections=20,
            keepalive_expiry=KEEPALIVE_SECONDS,
            # httpcore writes the head and the body separately; without TCP_NODELAY the body
            # waits for the provider's delayed ACK of the head (write-write-read).
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            network_backend=_DeadlineBackend(),
        )

    def send(
        self,
        method: str,
        url: str,
        *,
        timeout: float,
        headers: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
    ) -> ProviderAnswer:
        """One provider call; raises ExchangeError provider_timeout / provider_error."""
        raw = self.send_raw(method, url, timeout=timeout, headers=headers, form=form, json_body=json_body)
        content_type = raw.headers.get("content-type", "")
        fields = parse_answer(content_type, raw.body)
        items = parse_json_array(content_type, raw.body) if fields is None else None
        return ProviderAnswer(raw.status, fields, items)

    def send_raw(
        self,
        method: str,
        url: str,
        *,
        timeout: float,
        headers: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        max_bytes: int = MAX_ANSWER_BYTES,
    ) -> RawAnswer:
        """One call with the answer unparsed, cut off at ``max_bytes``; the same deadline and retry rules."""
        deadline = time.monotonic() + timeout
        body, content_type = _encode_body(method, form, json_body, content)
        sent = dict(DEFAULT_HEADERS)
        if content_type is not None:
            sent["content-type"] = content_type
        for name, value in (headers or {}).items():
            sent[name.lower()] = value
        try:
            encoded = [(name.encode("ascii"), value.encode("ascii")) for name, value in sent.items()]
        except UnicodeEncodeError:
            raise ExchangeError("provider_error", log_detail="a request header is not ASCII") from None
        retried = False
        while True:
            try:
                return self.attempt(method, url, encoded, body, deadline=deadline, max_bytes=max_bytes)
            except NoAnswer as failed:
                if failed.timed_out:
                    raise ExchangeError("provider_timeout", log_detail="provider timed out") from None
                if not retried and not failed.reached and time.monotonic() < deadline:
                    retried = True
                    continue
                raise ExchangeError("provider_error", log_detail=f"provider {failed}") from None

    def attempt(
        self,
        method: str,
        url: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes | None,
        *,
        deadline: float,
        max_bytes: int,
    ) -> RawAnswer:
        """One attempt, no retry, for callers with retry rules of their own (``dynamodb``); raises ``NoAnswer``.

        ``headers`` go out as given (DEFAULT_HEADERS are not added). A
        connection whose answer came with bytes after it is never reused.
        """
        trace = _AttemptTrace(deadline)
        _attempt_of_thread.trace = trace
        try:
            return self._stream(method, url, headers, body, deadline, trace, max_bytes)
        except (httpcore.TimeoutException, _Deadline):
            raise NoAnswer("timed out", reached=True, timed_out=True) from None
        except _FAILED as exc:
            raise NoAnswer(f"unreachable ({type(exc).__name__})", reached=not trace.safe_to_retry(exc)) from None
        finally:
            _attempt_of_thread.trace = None

    def close(self) -> None:
        self._pool.close()

    def _stream(self, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes | None, deadline: float, trace: _AttemptTrace, max_bytes: int) -> RawAnswer:
        """The attempt's request and answer, under ``attempt``'s error mapping."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Deadline()
        timeouts = {"connect": remaining, "read": remaining, "write": remaining, "pool": remaining}
        with self._pool.stream(
            method,
            url,
            headers=headers,
            content=body,
            extensions={"timeout": timeouts, "trace": trace},
        ) as response:
            answer_headers = _headers(response.headers)
            if _content_coded(answer_headers):
                raise NoAnswer("answer is content-encoded", reached=True)
            declared = answer_headers.get("content-length", "")
            expected = int(declared) if declared.isdigit() else None
            received = bytearray()
            for chunk in response.iter_stream():
                received += chunk
                if len(received) > max_bytes:
                    raise NoAnswer(f"answer larger than {max_bytes} bytes", reached=True)
                complete = expected is not None and len(received) >= expected
                if not complete and time.monotonic() > deadline:
                    raise _Deadline()
            _drop_if_bytes_follow(response)
            return RawAnswer(response.status, answer_headers, bytes(received))


class NoAnswer(Exception):
    """An attempt ended without a usable answer; the message is safe to log.

    ``reached``: the request may have reached the server (all of it was
    written, or a failure came after). When False it cannot have, and sending
    it again is safe. ``timed_out``: the attempt's deadline passed.
    """

    def __init__(self, reason: str, *, reached: bool, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.reached = reached
        self.timed_out = timed_out


def _drop_if_bytes_follow(response: httpcore.Response) -> None:
    """Bytes that arrived with the answer but after its end must never become the next request's answer.

    httpcore drops an idle connection whose socket is readable, but not one
    whose stray bytes were read along with the answer and wait in h11's
    buffer (``trailing_data``, h11's public API, reached through httpcore
    1.0's stream objects; if they move, the connection is dropped).
    """
    stream = response.extensions.get("network_stream")
    try:
        h11_state = response.stream._stream._connection._h11_state  # type: ignore[attr-defined]
        leftover = bool(h11_state.trailing_data[0])
    except AttributeError:
        leftover = True
    if leftover and isinstance(stream, _DeadlineStream):
        stream.discard = True


def _encode_body(
    method: str, form: Mapping[str, str] | None, json_body: Mapping[str, Any] | None, content: bytes | None
) -> tuple[bytes | None, str | None]:
    """The request body and its media type, encoded as httpx would (forms with ``+`` for spaces).

    POST, PUT and PATCH always have a body, if empty, so ``Content-Length: 0``
    goes out: GitHub requires it (to star a repository, say).
    """
    if form is not None:
        return urlencode(form).encode(), "application/x-www-form-urlencoded"
    if json_body is not None:
        return json.dumps(json_body, separators=(",", ":")).encode(), "application/json"
    if content is None and method.upper() in ("POST", "PUT", "PATCH"):
        return b"", None
    return content, None


def _headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in raw:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


def _content_coded(headers: Mapping[str, str]) -> bool:
    """True when the answer has a content coding other than identity (gzip, br, ...)."""
    codings = (coding.strip().lower() for coding in headers.get("content-encoding", "").split(","))
    return any(coding not in ("", "identity") for coding in codings)


def _too_large(max_bytes: int) -> ExchangeError:
    return ExchangeError("provider_error", log_detail=f"provider answer larger than {max_bytes} bytes")


def parse_answer(content_type: str, body: bytes) -> Mapping[str, Any] | None:
    """Fields of a JSON object or form-encoded answer; None for anything else (HTML, ...)."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        return _json_object(body)
    if media_type == "application/x-www-form-urlencoded":
        return _form(body)
    if media_type in ("", "text/plain"):
        parsed = _json_object(body)
        return parsed if parsed is not None else _form(body)
    return None


def parse_json_array(content_type: str, body: bytes) -> tuple[Any, ...] | None:
    """The elements of a JSON array answer (standard JSON only, as for objects); None for anything else."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        return None
    try:
        parsed = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (ValueError, RecursionError):
        return None
    return tuple(parsed) if isinstance(parsed, list) else None


def _json_object(body: bytes) -> Mapping[str, Any] | None:
    """The body as a JSON object, standard JSON only.

    Python's ``json`` also accepts ``NaN``, ``Infinity`` and ``-Infinity``,
    and reads ``1e400`` as infinity; none of them is JSON, and passed on they
    would make the function's own answer invalid JSON. Such an answer is not
    JSON at all.
    """
    try:
        parsed = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def _form(body: bytes) -> Mapping[str, Any] | None:
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return None
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields or None
