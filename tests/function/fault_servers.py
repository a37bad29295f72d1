"""Raw TCP servers on 127.0.0.1 that misbehave in one precise way each.

The fake provider is a well-behaved HTTP server; these are for the faults it
cannot produce: answers that hang, drip, never end, are huge or HTML, and
connections closed at the worst moment.
"""

from __future__ import annotations

import http.client
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

Behaviour = Callable[["FaultServer", socket.socket, int], None]
"""Called once per accepted connection, with its serial number (1 = first)."""


class FaultServer:
    def __init__(self, behaviour: Behaviour) -> None:
        self._behaviour = behaviour
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.02)  # so the accept loop notices stop() promptly
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._connections: list[socket.socket] = []
        self.requests: list[bytes] = []
        """Every complete request read, head and body."""
        self.connections_accepted = 0
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}/token"

    def start(self) -> FaultServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._listener.close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            _close(connection)

    def stopping(self) -> bool:
        return self._stopping.is_set()

    def read_request(self, connection: socket.socket) -> bytes | None:
        """One request (head and Content-Length body), or None when the peer closed first."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = _recv(connection)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = _recv(connection)
            if not chunk:
                return None
            body += chunk
        with self._lock:
            self.requests.append(head + b"\r\n\r\n" + body)
        return head

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connection.settimeout(None)
            with self._lock:
                self.connections_accepted += 1
                serial = self.connections_accepted
                self._connections.append(connection)
            threading.Thread(target=self._serve, args=(connection, serial), daemon=True).start()

    def _serve(self, connection: socket.socket, serial: int) -> None:
        try:
            self._behaviour(self, connection, serial)
        except OSError:
            pass
        finally:
            _close(connection)


def _recv(connection: socket.socket) -> bytes:
    try:
        return connection.recv(65536)
    except OSError:
        return b""


def _close(connection: socket.socket) -> None:
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    connection.close()


@contextmanager
def running(behaviour: Behaviour) -> Iterator[FaultServer]:
    server = FaultServer(behaviour).start()
    try:
        yield server
    finally:
        server.stop()


def http_response(
    status: int,
    body: bytes,
    content_type: str = "application/json",
    headers: Mapping[str, str] | None = None,
) -> bytes:
    lines = [f"HTTP/1.1 {status} Fault", f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def token_answer(access_token: str) -> bytes:
    return json.dumps({"access_token": access_token, "token_type": "bearer", "scope": ""}).encode()


# -- behaviours ---------------------------------------------------------------


def answer(status: int, body: bytes, content_type: str = "application/json", **headers: str) -> Behaviour:
    """Answer every request on the connection with the same response."""

    def behaviour(server: FaultServer, connection: socket.socket, serial: int) -> None:
        while server.read_request(connection) is not None:
            connection.sendall(http_response(status, body, content_type, headers))

    return behaviour


def hang() -> Behaviour:
    """Read the request, then say nothing until the server stops."""

    def behaviour(server: FaultServer, connection: socket.socket, serial: int) -> None:
        server.read_request(connection)
        while not server.stopping():
            time.sleep(0.02)

    return behaviour


def drip(body: bytes, interval: float) -> Behaviour:
    """Send the head at once, then the body one byte every ``interval`` seconds."""

    def behaviour(server: FaultServer, connection: socket.socket, serial: int) -> None:
        server.read_request(connection)
        connection.sendall(http_response(200, body)[: -len(body)])
        for byte in body:
            if server.stopping():
                return
            connection.sendall(bytes([byte]))
            time.sleep(interval)

    return behaviour


def drip_head(interval: float, seconds: float) -> Behaviour:
    """Start a 200 answer, then send one more header line every ``interval`` seconds; close after ``seconds``."""

    def behaviour(server: FaultServer, connection: socket.socket, serial: int) -> None:
        server.read_request(connection)
        connection.sendall(b"HTTP/1.1 200 OK\r\n")
        until = time.monotonic() + seconds
        line = 0
        while not server.stopping() and time.monotonic() < until:
            connection.sendall(b"X-Slow-%d: 1\r\n" % line)
            line += 1
            time.sleep(interval)

    return behaviour


def late_tail(body: bytes, pauses: list[float]) -> Behaviour:
    """Send the head, then the body in ``len(pauses)`` pieces, sleeping before each piece."""

    def behaviour(server: FaultServer, connection: socket.socket, serial: int) -> None:
        server.read_request(connection)
        connection.sendall(http_response(200, body)[: -len(body)])
        size = -(-len(body) // len(pauses))
        for index, pause in enumerate(pauses):
            time.sleep(pause)
            connection.sendall(body[index * size : (index + 1) * size])

    return behaviour


def endless_chunks(chunk: bytes) -> Behaviour:
    """A chunked 200 answer with no Content-Length that never ends."""

    def behaviour(server: FaultServer, connection: socket.socket, serial: int) -> None:
        server.read_request(connection)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        while not server.stopping():
            connection.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")

    return behaviour


def close_without_answer() -> Behaviour:
    """Read the request, then close the connection without a byte of response."""

    def behaviour(server: FaultServer, connection: socket.socket, serial: int) -> None:
        server.read_request(connection)

    return behaviour


def answer_once_then_reset_idle(body: bytes) -> Behaviour:
    """Answer the first request, then reset the idle keep-alive connection without reading another byte.

    This is a provider (or its load balancer) timing out an idle connection.
    The reset comes once the answer has been read, so it never destroys it.
    Whatever the client sends afterwards on this connection is never read.
    """

    def behaviour(server: FaultServer, connection: socket.socket, serial: int) -> None:
        if server.read_request(connection) is None:
            return
        connection.sendall(http_response(200, body))
        time.sleep(0.1)
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()

    return behaviour


def answer_once_then_read_and_close(body: bytes) -> Behaviour:
    """Answer the first request (keep-alive); read the next one in full, then close without answering.

    The provider has the second request, and may have acted on it: its code is spent.
    """

    def behaviour(server: FaultServer, connection: socket.socket, serial: int) -> None:
        if server.read_request(connection) is None:
            return
        connection.sendall(http_response(200, body))
        server.read_request(connection)

    return behaviour


def relay(upstream: str, lose_answer: Callable[[bytes], bool]) -> Behaviour:
    """Pass each request on to ``upstream`` (``http://host:port``) and its answer back, keeping the connection.

    When ``lose_answer(request)`` is true the upstream still gets (and applies) the
    request, but the connection closes before its answer: a write whose fate the
    client cannot know.
    """
    host, _, port = upstream.removeprefix("http://").partition(":")

    def behaviour(server: FaultServer, connection: socket.socket, serial: int) -> None:
        while server.read_request(connection) is not None:
            request = server.requests[-1]
            head, _, body = request.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
            upstream_connection = http.client.HTTPConnection(host, int(port), timeout=10)
            try:
                upstream_connection.request(method, path, body, headers)
                answer = upstream_connection.getresponse()
                answer_body = answer.read()
            finally:
                upstream_connection.close()
            if lose_answer(request):
                return
            connection.sendall(http_response(answer.status, answer_body, answer.getheader("Content-Type", "")))

    return behaviour


@contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound (so nobody else takes it) but not listening."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()
