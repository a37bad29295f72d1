"""A loopback HTTP/1.1 server that binds at once and stops completely.

The local stack must know every port before it can compute its settings (the
site origin and the function URL refer to each other), so servers bind in
their constructor and start serving later. Stopping also closes kept-alive
connections, so no handler thread outlives the stack.
"""

from __future__ import annotations

import errno
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LOOPBACK = "127.0.0.1"
IDLE_CONNECTION_SECONDS = 30
POLL_SECONDS = 0.05

RequestLog = Callable[[str], None]


class PortInUse(OSError):
    """The port a server was asked to bind is taken; names the server (its log name) and the port."""

    def __init__(self, server: str, port: int) -> None:
        super().__init__(errno.EADDRINUSE, f"the {server} port {port} is already in use")
        self.server = server
        self.port = port


class LoopbackServer(ThreadingHTTPServer):
    """A threaded HTTP server on 127.0.0.1 that tracks (and counts) its connections."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(
        self, handler: type[BaseHTTPRequestHandler], port: int = 0, log: RequestLog | None = None, log_name: str = "http"
    ) -> None:
        try:
            super().__init__((LOOPBACK, port), handler)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUse(log_name, port) from None
            raise
        self.request_log = log
        self.log_name = log_name
        self.connections_accepted = 0
        self._connections: dict[socket.socket, int] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def origin(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self, name: str) -> None:
        self._thread = threading.Thread(target=self.serve_forever, args=(POLL_SECONDS,), name=name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, drop open connections, release the port."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.server_close()

    def connection_serial(self, connection: socket.socket) -> int:
        """1 for the first connection this server accepted, 2 for the next, ..."""
        with self._lock:
            return self._connections[connection]

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            self.connections_accepted += 1
            self._connections[request] = self.connections_accepted
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._lock:
            self._connections.pop(request, None)
        super().shutdown_request(request)


class LoopbackService:
    """Something served by a ``LoopbackServer``: its address is known before it serves."""

    _server: LoopbackServer

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def origin(self) -> str:
        return self._server.origin

    @property
    def url(self) -> str:
        """The origin with a trailing slash, as function URLs and site URLs are written."""
        return self.origin + "/"

    def stop(self) -> None:
        self._server.stop()


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive, and one log line per request without its query string.

    Query strings on this stack carry authorization codes and ``state``, so
    the standard access log (which prints the full request line) is replaced.
    """

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms delayed-ACK stalls
    server_version = "oauth-exchange-local"
    sys_version = ""
    timeout = IDLE_CONNECTION_SECONDS
    server: LoopbackServer

    def setup(self) -> None:
        super().setup()
        self._started = time.perf_counter()

    def handle_one_request(self) -> None:
        self._started = time.perf_counter()
        super().handle_one_request()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log = self.server.request_log
        if log is None:
            return
        path = getattr(self, "path", "-").split("?", 1)[0]  # unset when the request line itself was malformed
        elapsed_ms = (time.perf_counter() - self._started) * 1000
        log(f"{self.server.log_name:<8} {self.command} {path} {code} {elapsed_ms:.1f}ms")

    def log_error(self, format: str, *args: Any) -> None:
        """Errors before a request line is parsed (timeouts, bad requests) are not worth a line."""

    def send_body(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        """Send a complete response; HEAD gets the headers only."""
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
