"""For reference only: the hand-written DynamoDB client the function used before issue 16 (commit 3ae44ea).

Kept so ``bench/session_bench.py`` can show its row beside the library-based client and
botocore's in one run; the function neither ships nor imports it.

DynamoDB's JSON protocol spoken directly: one signed POST per call, over kept-alive connections.

Session mode reads the session table on every proxied call. Through
botocore that one ``GetItem`` cost about 2.5 ms of CPU on the benchmark
machine (request objects, event hooks, the model-driven serialiser and
parser, urllib3 and http.client underneath), more than the 1 ms the whole
handler may add to a call. The protocol itself is small: a POST of a JSON
document to ``/`` with ``X-Amz-Target: DynamoDB_20120810.<Operation>``,
signed with SigV4 (``sigv4``), answered with a JSON document or, with a 4xx
or 5xx status, ``{"__type": "...#<ErrorCode>", "message": ...}``.

* Endpoint: ``AWS_ENDPOINT_URL_DYNAMODB``, else ``AWS_ENDPOINT_URL`` (as
  botocore reads them; local runs point them at moto), else the region's
  public endpoint. Credentials and region come from the environment, where
  Lambda puts the execution role's.
* Connections: HTTP/1.1, kept alive in a small pool (one per concurrent
  caller), TCP_NODELAY, TLS verified with the context the container trusts.
  Answers are read by ``Content-Length``, chunked, or up to the close.
* Bounds: 1 s to connect, 1 s for each write and read, and no read starts
  once an attempt is 2 s old (so about 3 s an attempt, twice that with the
  retry); answers larger than ``MAX_ANSWER_BYTES`` are refused.
* Retries, two attempts in all, after a pause of up to 50 ms: when the first
  could not be sent, or was throttled (DynamoDB applies nothing it
  throttles); and, for requests that may safely be applied twice
  (``repeatable``), when its fate is unknown: a kept-alive connection that
  closed before answering, a 5xx. A timeout after the request went out is
  never retried: the deadline is spent. A pooled connection is checked
  before use: one the server closed, or that holds bytes nobody asked for,
  is dropped.

Errors are ``DynamoDBError`` (DynamoDB answered one; its code, never its
message, which may quote request values) or ``DynamoDBUnavailable``; the
messages of both are safe to log. Nothing here logs.
"""

from __future__ import annotations

import json
import random
import re
import select
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from handwritten_sigv4 import Signer, credentials_from_environment

TARGET_PREFIX = "DynamoDB_20120810."
CONTENT_TYPE = "application/x-amz-json-1.0"
USER_AGENT = "oauth-exchange/1.0"
CONNECT_TIMEOUT_SECONDS = 1.0
READ_TIMEOUT_SECONDS = 1.0
ATTEMPT_SECONDS = 2.0
"""No read starts later than this into an attempt."""
ATTEMPTS = 2
RETRY_PAUSE_SECONDS = 0.05
KEEPALIVE_SECONDS = 60.0
MAX_HEAD_BYTES = 64 * 1024
MAX_ANSWER_BYTES = 4 * 1024 * 1024
"""An item is at most 400 KB; JSON and DynamoDB's type wrappers stay far below this."""
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding"})
THROTTLING_CODES = frozenset({"ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded"})


class DynamoDBError(Exception):
    """DynamoDB answered with an error; ``code`` is its name (``ConditionalCheckFailedException``, ...)."""

    def __init__(self, code: str, status: int) -> None:
        super().__init__(f"{code} (HTTP {status})")
        self.code = code
        self.status = status


class DynamoDBUnavailable(Exception):
    """No usable answer: no connection, a timeout, or an answer that is not DynamoDB's."""


def endpoint_from_environment(environ: Mapping[str, str], region: str) -> str:
    configured = environ.get("AWS_ENDPOINT_URL_DYNAMODB") or environ.get("AWS_ENDPOINT_URL")
    if configured:
        return configured
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://dynamodb.{region}.{suffix}"


def region_from_environment(environ: Mapping[str, str]) -> str:
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or ""
    if not region:
        raise ValueError("AWS_REGION is not set")
    return region


class _Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.reused = False
        self.idle_since = 0.0

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class DynamoDB:
    """A DynamoDB client for one endpoint; safe to share between threads."""

    def __init__(self, endpoint: str, signer: Signer, tls: ssl.SSLContext | None) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the DynamoDB endpoint is not an http(s) URL")
        self._tls = tls if parts.scheme == "https" else None
        if parts.scheme == "https" and tls is None:
            raise ValueError("an https endpoint needs a TLS context")
        self._hostname = parts.hostname
        default_port = 443 if parts.scheme == "https" else 80
        self._port = parts.port or default_port
        netloc = parts.netloc.rpartition("@")[2]
        # The Host header, as botocore signs it too: the port only when it is not the scheme's own.
        self._host_header = netloc.rpartition(":")[0] if parts.port == default_port else netloc
        self._path = parts.path or "/"
        self._signer = signer
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], tls: ssl.SSLContext) -> DynamoDB:
        """The client Lambda's environment describes; raises ValueError or ``MissingCredentials``."""
        region = region_from_environment(environ)
        signer = Signer(credentials_from_environment(environ), region, "dynamodb")
        return cls(endpoint_from_environment(environ, region), signer, tls)

    def call(self, operation: str, payload: Mapping[str, Any], *, repeatable: bool) -> dict[str, Any]:
        """One operation (``GetItem``, ``PutItem``, ...); its answer as JSON.

        ``repeatable``: applying the request twice does no harm (a read, a
        delete, a write whose second application changes nothing). Only such a
        request is sent again when the first attempt's fate is unknown: the
        connection dropped after the request went out, or DynamoDB answered
        5xx (it may have applied it). A conditional write that did apply would
        fail its condition the second time and be reported as refused.
        """
        body = json.dumps(payload, separators=(",", ":")).encode()
        target = {"x-amz-target": TARGET_PREFIX + operation}
        attempt = 1
        while True:
            last = attempt >= ATTEMPTS
            attempt += 1
            try:
                status, answer = self._attempt(operation, body, target)
            except _NotSent as exc:
                if last or not (exc.certain or repeatable):
                    raise DynamoDBUnavailable(f"{operation}: {exc}") from None
                if exc.pause:
                    time.sleep(random.uniform(0, RETRY_PAUSE_SECONDS))
                continue
            if status == 200:
                return answer
            error = DynamoDBError(_error_code(answer), status)
            throttled = error.code in THROTTLING_CODES  # refused unapplied
            if last or not (throttled or (repeatable and status >= 500)):
                raise error
            time.sleep(random.uniform(0, RETRY_PAUSE_SECONDS))

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _attempt(self, operation: str, body: bytes, target: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        deadline = time.monotonic() + ATTEMPT_SECONDS
        headers = self._signer.headers(self._host_header, self._path, body, CONTENT_TYPE, target)
        signed = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        request = (
            f"POST {self._path} HTTP/1.1\r\nHost: {self._host_header}\r\nUser-Agent: {USER_AGENT}\r\n"
            f"Accept-Encoding: identity\r\n{signed}Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        connection = self._take()
        keep = False
        try:
            status, answer_headers, answer, keep = self._exchange(connection, request, deadline)
        except (OSError, ValueError, _Closed) as exc:
            raise DynamoDBUnavailable(f"{operation}: {_describe(exc)}") from None
        finally:
            if keep:
                self._give_back(connection)
            else:
                connection.close()
        checksum = answer_headers.get("x-amz-crc32")
        if checksum is not None and checksum != str(zlib.crc32(answer)):
            raise DynamoDBUnavailable(f"{operation}: the answer failed its CRC32 check")
        try:
            parsed = json.loads(answer) if answer else {}
        except (ValueError, RecursionError):
            parsed = None
        if not isinstance(parsed, dict):
            raise DynamoDBUnavailable(f"{operation}: the answer (HTTP {status}) is not a JSON object")
        return status, parsed

    def _exchange(
        self, connection: _Connection, request: bytes, deadline: float
    ) -> tuple[int, dict[str, str], bytes, bool]:
        reused = connection.reused
        connection.reused = True
        try:
            connection.sock.sendall(request)
        except (ConnectionError, ssl.SSLEOFError):
            if reused:  # the server had reset it: it read nothing of this request
                raise _NotSent("the kept-alive connection had been closed", pause=False, certain=True) from None
            raise
        try:
            head = _read_head(connection, deadline)
        except (ConnectionError, ssl.SSLEOFError, _Closed):
            if reused and not connection.buffer:  # most likely closed while idle, but it may have read the request
                raise _NotSent("the kept-alive connection closed before an answer", pause=False, certain=False) from None
            raise
        status, version, headers = _parse_head(head)
        body, complete = _read_body(connection, headers, deadline)
        keep = complete and _keeps_alive(version, headers) and not connection.buffer
        return status, headers, body, keep

    def _take(self) -> _Connection:
        """An idle connection with nothing waiting on it (no close, no stray bytes), else a new one."""
        now = time.monotonic()
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                break
            if now - connection.idle_since < KEEPALIVE_SECONDS and not _readable(connection.sock):
                return connection
            connection.close()
        try:
            sock = socket.create_connection((self._hostname, self._port), timeout=CONNECT_TIMEOUT_SECONDS)
        except OSError as exc:
            raise _NotSent(_describe(exc), pause=True, certain=True) from None
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=self._hostname)
            # Set once: each settimeout is a system call, and a call's reads are few.
            sock.settimeout(READ_TIMEOUT_SECONDS)
        except OSError as exc:
            sock.close()
            raise _NotSent(_describe(exc), pause=True, certain=True) from None
        return _Connection(sock)

    def _give_back(self, connection: _Connection) -> None:
        connection.idle_since = time.monotonic()
        with self._lock:
            self._idle.append(connection)


class _NotSent(Exception):
    """No answer, most likely because the request never reached DynamoDB.

    ``certain`` when it cannot have (no connection; the kept-alive connection
    was reset before it took the request); otherwise a kept-alive connection
    closed before answering, which is nearly always a close while idle that
    crossed the request. A new connection is all that retry needs, without
    the pause a failed connect gets.
    """

    def __init__(self, reason: str, pause: bool, certain: bool) -> None:
        super().__init__(reason)
        self.pause = pause
        self.certain = certain


def _readable(sock: socket.socket) -> bool:
    """An idle connection with something to read has been closed by the server, or holds bytes no one asked for."""
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


class _Closed(Exception):
    """The server closed the connection before the answer was complete."""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "its TLS certificate is not trusted"
    if isinstance(exc, ValueError):
        return f"the answer is not HTTP ({exc})"
    return f"unreachable ({type(exc).__name__})"


def _receive(connection: _Connection, deadline: float) -> None:
    if time.monotonic() > deadline:
        raise TimeoutError()
    chunk = connection.sock.recv(65536)
    if not chunk:
        raise _Closed()
    connection.buffer += chunk


def _read_head(connection: _Connection, deadline: float) -> bytes:
    while True:
        end = connection.buffer.find(b"\r\n\r\n")
        if end >= 0:
            head = bytes(connection.buffer[:end])
            del connection.buffer[: end + 4]
            if head[9:10] == b"1" and head.startswith(b"HTTP/1."):
                continue  # an informational answer (100 Continue): the real one follows
            return head
        if len(connection.buffer) > MAX_HEAD_BYTES:
            raise ValueError("headers too large")
        _receive(connection, deadline)


def _parse_head(head: bytes) -> tuple[int, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    status_text = rest[:3]
    if version not in ("HTTP/1.1", "HTTP/1.0") or not status_text.isdigit():
        raise ValueError("bad status line")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise ValueError("bad header line")
        key, value = name.lower(), value.strip()
        if key in _FRAMING_HEADERS and headers.get(key, value) != value:
            raise ValueError(f"conflicting {name} headers")
        headers.setdefault(key, value)
    return int(status_text), version, headers


def _read_body(connection: _Connection, headers: Mapping[str, str], deadline: float) -> tuple[bytes, bool]:
    """The body, and whether it ended where the framing says (so the connection may be reused)."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return _read_chunked(connection, deadline), True
    length = headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise ValueError("bad Content-Length")
        size = int(length)
        if size > MAX_ANSWER_BYTES:
            raise ValueError("answer too large")
        while len(connection.buffer) < size:
            _receive(connection, deadline)
        body = bytes(connection.buffer[:size])
        del connection.buffer[:size]
        return body, True
    while True:  # delimited by the close
        if len(connection.buffer) > MAX_ANSWER_BYTES:
            raise ValueError("answer too large")
        try:
            _receive(connection, deadline)
        except _Closed:
            body = bytes(connection.buffer)
            connection.buffer.clear()
            return body, False


def _read_chunked(connection: _Connection, deadline: float) -> bytes:
    body = bytearray()
    while True:
        while b"\r\n" not in connection.buffer:
            if len(connection.buffer) > MAX_HEAD_BYTES:
                raise ValueError("bad chunk")
            _receive(connection, deadline)
        line, _, rest = bytes(connection.buffer).partition(b"\r\n")
        connection.buffer[:] = rest
        size_text = line.split(b";", 1)[0].strip(b" \t")
        if not _CHUNK_SIZE.fullmatch(size_text):
            raise ValueError("bad chunk size")
        size = int(size_text, 16)
        if size == 0:
            while not connection.buffer.startswith(b"\r\n"):  # trailers, then the blank line
                end = connection.buffer.find(b"\r\n")
                if end >= 0:
                    del connection.buffer[: end + 2]
                    continue
                if len(connection.buffer) > MAX_HEAD_BYTES:
                    raise ValueError("trailers too large")
                _receive(connection, deadline)
            del connection.buffer[:2]
            return bytes(body)
        if len(body) + size > MAX_ANSWER_BYTES:
            raise ValueError("answer too large")
        while len(connection.buffer) < size + 2:
            _receive(connection, deadline)
        if connection.buffer[size : size + 2] != b"\r\n":
            raise ValueError("bad chunk end")
        body += connection.buffer[:size]
        del connection.buffer[: size + 2]


def _keeps_alive(version: str, headers: Mapping[str, str]) -> bool:
    tokens = {token.strip().lower() for token in headers.get("connection", "").split(",")}
    return "keep-alive" in tokens if version == "HTTP/1.0" else "close" not in tokens


def _error_code(answer: Mapping[str, Any]) -> str:
    kind = answer.get("__type")
    code = kind.rpartition("#")[2] if isinstance(kind, str) else ""
    return code if code.isidentifier() else "UnknownError"
