"""The function's DynamoDB client: moto's server for the protocol, scripted loopback servers for the wire,
botocore's configuration for the route and the credentials."""

from __future__ import annotations

import json
import logging
import os
import resource
import secrets
import socket
import ssl
import stat
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler

import botocore.session
import pytest
from botocore.credentials import Credentials

import dynamodb
from dynamodb import DynamoDB, DynamoDBError, DynamoDBUnavailable, Route
from local.http_server import LoopbackServer
from local.loopback_tls import LoopbackCA
from local.secrets_store import SecretsStore
from provider_http import ProviderClient, tls_context

CREDENTIALS = Credentials("testing", "testing", "testing")
PLAIN_TLS = tls_context({})


def client_for(endpoint: str, tls: ssl.SSLContext = PLAIN_TLS, credentials: Credentials = CREDENTIALS) -> DynamoDB:
    return DynamoDB(Route(endpoint + "/", "us-east-1"), credentials, ProviderClient(tls))


# -- against moto's DynamoDB -------------------------------------------------------------


@pytest.fixture
def table(dynamodb_server: SecretsStore) -> Iterator[tuple[DynamoDB, str]]:
    name = f"client-{secrets.token_hex(4)}"
    dynamodb_server.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client = client_for(dynamodb_server.endpoint)
    yield client, name
    client.close()


def test_items_are_written_read_updated_and_deleted_as_moto_reads_them(table, dynamodb_server):
    client, name = table
    key = {"id": {"S": "k1"}}
    client.call("PutItem", {"TableName": name, "Item": {**key, "n": {"N": "1"}}}, repeatable=False)
    update = {"TableName": name, "Key": key, "UpdateExpression": "SET n = :n", "ExpressionAttributeValues": {":n": {"N": "2"}}}
    client.call("UpdateItem", update, repeatable=True)

    assert client.call("GetItem", {"TableName": name, "Key": key, "ConsistentRead": True}, repeatable=True)["Item"]["n"] == {"N": "2"}
    assert dynamodb_server.client("dynamodb").get_item(TableName=name, Key=key)["Item"]["n"] == {"N": "2"}
    client.call("DeleteItem", {"TableName": name, "Key": key}, repeatable=True)
    assert "Item" not in client.call("GetItem", {"TableName": name, "Key": key}, repeatable=True)


def test_dynamodbs_errors_come_back_by_name(table):
    client, name = table
    with pytest.raises(DynamoDBError) as failed:
        client.call(
            "PutItem", {"TableName": name, "Item": {"id": {"S": "k"}}, "ConditionExpression": "attribute_exists(id)"}, repeatable=False
        )
    assert (failed.value.code, failed.value.status) == ("ConditionalCheckFailedException", 400)

    with pytest.raises(DynamoDBError) as missing:
        client.call("GetItem", {"TableName": "no-such-table", "Key": {"id": {"S": "k"}}}, repeatable=True)
    assert missing.value.code == "ResourceNotFoundException"


# -- scripted servers --------------------------------------------------------------------


Answer = Callable[[BaseHTTPRequestHandler, int], None]
"""Writes the answer to the n-th request (1-based), or nothing at all."""


class Scripted(LoopbackServer):
    def __init__(self, answer: Answer, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(_ScriptedHandler, ssl_context=ssl_context)
        self.answer = answer
        self.requests: list[dict[str, str]] = []
        self.bodies: list[bytes] = []
        self.peers: set[tuple[str, int]] = set()


class _ScriptedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Scripted

    def do_POST(self) -> None:
        self.server.bodies.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        self.server.requests.append({k.lower(): v for k, v in self.headers.items()})
        self.server.peers.add(self.client_address)
        self.server.answer(self, len(self.server.requests))
        self.wfile.flush()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def running() -> Iterator[Callable[[LoopbackServer], LoopbackServer]]:
    """Starts loopback servers, each stopped when the test ends."""
    started: list[LoopbackServer] = []

    def start(server: LoopbackServer) -> LoopbackServer:
        server.start(type(server).__name__)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def serve(running) -> Callable[..., Scripted]:
    return lambda answer, ssl_context=None: running(Scripted(answer, ssl_context))


def reply(
    handler: BaseHTTPRequestHandler,
    status: int,
    document: object,
    *,
    close: bool = False,
    crc: int | None = None,
    page: bytes | None = None,
) -> None:
    """A JSON answer as DynamoDB gives it, or, with ``page``, an HTML one as a front end would."""
    body = json.dumps(document).encode() if page is None else page
    handler.send_response(status)
    handler.send_header("Content-Type", "application/x-amz-json-1.0" if page is None else "text/html")
    if page is None:
        handler.send_header("x-amz-crc32", str(zlib.crc32(body) if crc is None else crc))
    handler.send_header("Content-Length", str(len(body)))
    if close:
        handler.send_header("Connection", "close")
        handler.close_connection = True
    handler.end_headers()
    handler.wfile.write(body)


def ok(handler: BaseHTTPRequestHandler, n: int) -> None:
    reply(handler, 200, {"Item": {"id": {"S": f"answer-{n}"}}})


def test_calls_share_one_kept_alive_connection_and_are_signed(serve):
    server = serve(ok)
    client = client_for(server.origin)

    answers = [client.call("GetItem", {"TableName": "t", "Key": {"id": {"S": "k"}}}, repeatable=True) for _ in range(5)]

    assert [a["Item"]["id"]["S"] for a in answers] == [f"answer-{n}" for n in range(1, 6)]
    assert server.connections_accepted == 1
    first = server.requests[0]
    assert first["x-amz-target"] == "DynamoDB_20120810.GetItem"
    assert first["content-type"] == "application/x-amz-json-1.0"
    assert first["host"] == f"127.0.0.1:{server.port}"
    assert first["authorization"].startswith("AWS4-HMAC-SHA256 Credential=testing/")
    assert "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target," in first["authorization"]
    assert json.loads(server.bodies[0]) == {"TableName": "t", "Key": {"id": {"S": "k"}}}


def test_a_kept_alive_connection_the_server_closed_is_replaced_without_a_pause(serve):
    def then_drop(handler: BaseHTTPRequestHandler, n: int) -> None:
        ok(handler, n)
        handler.close_connection = True  # closes after answering, without saying so

    server = serve(then_drop)
    client = client_for(server.origin)
    client.call("GetItem", {}, repeatable=True)
    time.sleep(0.1)  # the close has reached the client

    started = time.monotonic()
    assert client.call("GetItem", {}, repeatable=True)["Item"]["id"]["S"] == "answer-2"
    assert time.monotonic() - started < 0.5
    assert server.connections_accepted == 2
    assert len(server.requests) == 2


def test_connection_close_answers_and_http_1_0_are_not_reused(serve):
    server = serve(lambda handler, n: reply(handler, 200, {"n": n}, close=True))
    client = client_for(server.origin)

    assert [client.call("GetItem", {}, repeatable=True)["n"] for _ in range(3)] == [1, 2, 3]
    assert server.connections_accepted == 3


def test_chunked_and_close_delimited_answers_are_read_whole(serve):
    document = {"Item": {"id": {"S": "x" * 5000}}}
    body = json.dumps(document).encode()

    def chunked(handler: BaseHTTPRequestHandler, n: int) -> None:
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        for start in range(0, len(body), 1000):
            piece = body[start : start + 1000]
            handler.wfile.write(f"{len(piece):x};ext=1\r\n".encode() + piece + b"\r\n")
        handler.wfile.write(b"0\r\nX-Trailer: yes\r\n\r\n")

    def until_close(handler: BaseHTTPRequestHandler, n: int) -> None:
        handler.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n\r\n" + body)
        handler.close_connection = True

    chunked_server, close_server = serve(chunked), serve(until_close)
    chunked_client = client_for(chunked_server.origin)

    assert chunked_client.call("GetItem", {}, repeatable=True) == document
    assert chunked_client.call("GetItem", {}, repeatable=True) == document
    assert chunked_server.connections_accepted == 1
    assert client_for(close_server.origin).call("GetItem", {}, repeatable=True) == document


def test_throttling_answers_are_retried_once_and_5xx_ones_when_the_call_is_repeatable(serve):
    throttled = serve(lambda h, n: reply(h, 400, {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException"}))
    flaky = serve(lambda h, n: reply(h, 503, {"__type": "ServiceUnavailable"}) if n == 1 else ok(h, n))

    with pytest.raises(DynamoDBError) as failed:
        client_for(throttled.origin).call("PutItem", {}, repeatable=False)  # throttled: nothing was applied
    assert failed.value.code == "ThrottlingException"
    assert len(throttled.requests) == 2
    assert client_for(flaky.origin).call("GetItem", {}, repeatable=True)["Item"]["id"]["S"] == "answer-2"


def test_a_write_that_may_not_be_applied_twice_is_never_resent_when_its_fate_is_unknown(serve):
    def answer_then_vanish(handler: BaseHTTPRequestHandler, n: int) -> None:
        if n == 2:
            handler.close_connection = True  # read it (and, say, applied it), then closed without a word
        else:
            ok(handler, n)

    server = serve(answer_then_vanish)
    client = client_for(server.origin)
    client.call("GetItem", {}, repeatable=True)

    with pytest.raises(DynamoDBUnavailable, match=r"UpdateItem: unreachable \(RemoteProtocolError\)"):
        client.call("UpdateItem", {"claim": "c1"}, repeatable=False)
    assert len(server.requests) == 2

    failing = serve(lambda h, n: reply(h, 500, {"__type": "InternalServerError"}) if n == 1 else ok(h, n))
    with pytest.raises(DynamoDBError, match="InternalServerError"):
        client_for(failing.origin).call("PutItem", {}, repeatable=False)
    assert len(failing.requests) == 1


def test_a_repeatable_call_is_resent_when_its_fate_is_unknown(serve):
    def answer_then_vanish(handler: BaseHTTPRequestHandler, n: int) -> None:
        if n == 2:
            handler.close_connection = True
        else:
            ok(handler, n)

    server = serve(answer_then_vanish)
    client = client_for(server.origin)
    client.call("GetItem", {}, repeatable=True)

    assert client.call("GetItem", {}, repeatable=True)["Item"]["id"]["S"] == "answer-3"
    assert len(server.requests) == 3


def test_bytes_nobody_asked_for_never_become_the_next_calls_answer(serve):
    def answer_twice(handler: BaseHTTPRequestHandler, n: int) -> None:
        reply(handler, 200, {"Item": {"id": {"S": f"for-request-{n}"}}})
        handler.wfile.flush()
        time.sleep(0.05)
        reply(handler, 200, {"Item": {"id": {"S": "stale"}}})  # arrives after the first answer was read

    server = serve(answer_twice)
    client = client_for(server.origin)
    assert client.call("GetItem", {}, repeatable=True)["Item"]["id"]["S"] == "for-request-1"
    time.sleep(0.2)

    assert client.call("GetItem", {}, repeatable=True)["Item"]["id"]["S"] == "for-request-2"
    assert server.connections_accepted == 2


def test_bytes_that_came_with_the_answer_but_after_it_never_become_the_next_calls_answer(serve):
    def answer_twice_at_once(handler: BaseHTTPRequestHandler, n: int) -> None:
        first = json.dumps({"Item": {"id": {"S": f"for-request-{n}"}}}).encode()
        stale = json.dumps({"Item": {"id": {"S": "stale"}}}).encode()
        handler.wfile.write(b"".join(  # one write: the stale answer is read with the first, into the parser's buffer
            b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: %d\r\n\r\n%b" % (len(body), body)
            for body in (first, stale)
        ))

    server = serve(answer_twice_at_once)
    client = client_for(server.origin)
    assert client.call("GetItem", {}, repeatable=True)["Item"]["id"]["S"] == "for-request-1"

    assert client.call("GetItem", {}, repeatable=True)["Item"]["id"]["S"] == "for-request-2"
    assert server.connections_accepted == 2


def test_a_5xx_that_is_not_json_is_retried_for_reads_but_never_for_a_write_that_must_not_apply_twice(serve):
    def front_end_503_first(handler: BaseHTTPRequestHandler, n: int) -> None:
        if n == 1:
            reply(handler, 503, None, page=b"<html><body>503 Service Temporarily Unavailable</body></html>")
        else:
            ok(handler, n)

    reads = serve(front_end_503_first)
    assert client_for(reads.origin).call("GetItem", {}, repeatable=True)["Item"]["id"]["S"] == "answer-2"
    assert len(reads.requests) == 2

    writes = serve(front_end_503_first)
    with pytest.raises(DynamoDBUnavailable, match=r"PutItem: the answer \(HTTP 503\) is not a JSON object"):
        client_for(writes.origin).call("PutItem", {}, repeatable=False)
    assert len(writes.requests) == 1


@pytest.fixture
def descriptors_to_spare() -> Iterator[None]:
    """A soft limit on open files high enough to push a socket past 1023 (Debian's default is 1024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2048
    if soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            pytest.skip(f"the hard limit on open files is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_kept_alive_connection_on_a_descriptor_above_1023_is_checked_and_reused(serve, descriptors_to_spare):
    """select.select refuses such descriptors with ValueError (the hand-written client did); a busy container may hold them."""
    server = serve(ok)
    client = client_for(server.origin)
    base = os.open(os.devnull, os.O_RDONLY)
    fillers = [base] + [os.dup(base) for _ in range(max(0, 1030 - base))]  # every descriptor below 1024 taken
    try:
        answers = [client.call("GetItem", {}, repeatable=True)["Item"]["id"]["S"] for _ in range(3)]
        descriptor = client_socket_descriptor(server)
    finally:
        for filler in fillers:
            os.close(filler)

    assert answers == ["answer-1", "answer-2", "answer-3"]
    assert server.connections_accepted == 1
    assert descriptor >= 1024


def client_socket_descriptor(server: Scripted) -> int:
    """The descriptor of the client's end of the one connection the server accepted (found by its port)."""
    (peer,) = server.peers
    for fd in sorted(int(name) for name in os.listdir("/proc/self/fd")):
        try:
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
        except OSError:  # the listing's own descriptor, closed by now
            continue
        with socket.socket(fileno=os.dup(fd)) as probe:
            if probe.family == socket.AF_INET and probe.getsockname() == peer:
                return fd
    raise AssertionError("the client's socket was not found")


def test_pooled_connections_the_server_closed_are_dropped_before_use(serve):
    both_arrived = threading.Barrier(2, timeout=5)

    def meet_then_drop(handler: BaseHTTPRequestHandler, n: int) -> None:
        if n <= 2:
            both_arrived.wait()
        ok(handler, n)
        handler.close_connection = True  # without saying so

    server = serve(meet_then_drop)
    client = client_for(server.origin)
    threads = [threading.Thread(target=client.call, args=("GetItem", {}), kwargs={"repeatable": False}) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(0.1)  # both closes have reached the client: two stale connections in the pool

    assert client.call("PutItem", {}, repeatable=False)["Item"]["id"]["S"] == "answer-3"
    assert len(server.requests) == 3


def test_other_errors_are_not_retried_and_never_carry_dynamodbs_message(serve):
    secret_value = "gho_" + secrets.token_hex(16)
    server = serve(
        lambda h, n: reply(h, 400, {"__type": "com.amazon.coral.validate#ValidationException", "message": f"bad value {secret_value}"})
    )

    with pytest.raises(DynamoDBError) as failed:
        client_for(server.origin).call("PutItem", {"Item": {"token": {"S": secret_value}}}, repeatable=True)

    assert failed.value.code == "ValidationException"
    assert secret_value not in str(failed.value)
    assert len(server.requests) == 1


def test_a_server_that_never_answers_is_given_up_at_the_attempts_deadline_without_a_resend(serve):
    server = serve(lambda h, n: time.sleep(3))
    started = time.monotonic()

    with pytest.raises(DynamoDBUnavailable, match="GetItem: timed out"):
        client_for(server.origin).call("GetItem", {}, repeatable=True)

    assert dynamodb.ATTEMPT_SECONDS <= time.monotonic() - started < dynamodb.ATTEMPT_SECONDS + 0.5
    assert len(server.requests) == 1


def test_a_closed_port_is_tried_twice_then_reported():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    started = time.monotonic()

    with pytest.raises(DynamoDBUnavailable, match=r"DeleteItem: unreachable \(ConnectError\)"):
        client_for(f"http://127.0.0.1:{port}").call("DeleteItem", {}, repeatable=True)
    assert time.monotonic() - started < 1


NOT_HTTP = r"unreachable \(RemoteProtocolError\)"


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (lambda h, n: reply(h, 200, {"Item": {}}, crc=1), "CRC32"),
        (lambda h, n: h.wfile.write(b"SPDY/9 200 OK\r\n\r\n"), NOT_HTTP),
        (lambda h, n: h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n[1]"), "not a JSON object"),
        (lambda h, n: h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n"), NOT_HTTP),
        (lambda h, n: h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}"), NOT_HTTP),
        (lambda h, n: h.wfile.write(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n"), NOT_HTTP),
        (lambda h, n: h.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n"), NOT_HTTP),
        (lambda h, n: h.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\n{}\r\n0\r\n\r\n"), NOT_HTTP),
        (lambda h, n: h.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n"), NOT_HTTP),
        (lambda h, n: h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 20\r\n\r\n{}"), NOT_HTTP),
        (lambda h, n: h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n" + b"[" * 100_000 + b"]" * 100_000), "not a JSON object"),
        (lambda h, n: h.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: " + b"a" * 200_000), NOT_HTTP),
        (lambda h, n: h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 2\r\n\r\n{}"), "content-encoded"),
        (
            lambda h, n: h.wfile.write(
                f"HTTP/1.1 200 OK\r\nContent-Length: {dynamodb.MAX_ANSWER_BYTES + 2}\r\n\r\n".encode() + b"{" + b" " * dynamodb.MAX_ANSWER_BYTES + b"}"
            ),
            f"larger than {dynamodb.MAX_ANSWER_BYTES} bytes",
        ),
    ],
)
def test_an_answer_that_is_not_dynamodbs_is_refused(serve, answer, problem):
    def then_close(handler: BaseHTTPRequestHandler, n: int) -> None:
        answer(handler, n)
        handler.close_connection = True

    server = serve(then_close)
    with pytest.raises(DynamoDBUnavailable, match=f"GetItem: .*{problem}"):
        client_for(server.origin).call("GetItem", {}, repeatable=True)


def test_tls_is_verified_against_the_trusted_cas(serve, tmp_path):
    ca = LoopbackCA()
    server = serve(ok, ssl_context=ca.server_context())
    endpoint = f"https://127.0.0.1:{server.port}"

    trusted = client_for(endpoint, tls_context({"SSL_CERT_FILE": str(ca.write_bundle(tmp_path))}))
    assert trusted.call("GetItem", {}, repeatable=True)["Item"]["id"]["S"] == "answer-1"
    assert trusted.call("GetItem", {}, repeatable=True)["Item"]["id"]["S"] == "answer-2"
    with pytest.raises(DynamoDBUnavailable, match=r"unreachable \(ConnectError\)"):
        client_for(endpoint).call("GetItem", {}, repeatable=True)
    assert server.connections_accepted == 3 and len(server.requests) == 2


def test_threads_each_get_a_connection_and_give_it_back(serve):
    both_arrived = threading.Barrier(2, timeout=5)

    def meet(handler: BaseHTTPRequestHandler, n: int) -> None:
        if n <= 2:
            both_arrived.wait()
        ok(handler, n)

    server = serve(meet)
    client = client_for(server.origin)
    threads = [threading.Thread(target=client.call, args=("GetItem", {}), kwargs={"repeatable": True}) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.call("GetItem", {}, repeatable=True)
    client.call("GetItem", {}, repeatable=True)

    assert server.connections_accepted == 2
    assert len(server.requests) == 4


def test_the_host_header_leaves_out_the_schemes_own_port():
    assert Route("https://dynamodb.us-east-1.amazonaws.com/", "us-east-1").host == "dynamodb.us-east-1.amazonaws.com"
    assert Route("https://dynamodb.us-east-1.amazonaws.com:443/", "us-east-1").host == "dynamodb.us-east-1.amazonaws.com"
    assert Route("https://dynamodb.us-east-1.amazonaws.com:4443/", "us-east-1").host == "dynamodb.us-east-1.amazonaws.com:4443"
    assert Route("http://[::1]:8000/", "us-east-1").host == "[::1]:8000"


# -- botocore's configuration: the route and the credentials ------------------------------


@pytest.fixture
def aws_environment(monkeypatch, tmp_path) -> Callable[..., botocore.session.Session]:
    """A fresh botocore session over an environment that holds only what a test sets (and a config file it may write)."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    config_file = tmp_path / "aws-config"
    config_file.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config_file))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    set_before: list[str] = []

    def session(config: str = "", **variables: str) -> botocore.session.Session:
        config_file.write_text(config)
        for name in set_before:
            monkeypatch.delenv(name)
        set_before[:] = variables
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        return botocore.session.Session()

    return session


KEYS = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret"}


@pytest.mark.parametrize(
    ("variables", "config", "url", "region"),
    [
        ({"AWS_DEFAULT_REGION": "eu-central-1"}, "", "https://dynamodb.eu-central-1.amazonaws.com/", "eu-central-1"),
        ({"AWS_DEFAULT_REGION": "cn-northwest-1"}, "", "https://dynamodb.cn-northwest-1.amazonaws.com.cn/", "cn-northwest-1"),
        ({"AWS_DEFAULT_REGION": "us-gov-west-1"}, "", "https://dynamodb.us-gov-west-1.amazonaws.com/", "us-gov-west-1"),
        ({"AWS_DEFAULT_REGION": "us-east-1", "AWS_USE_FIPS_ENDPOINT": "true"}, "", "https://dynamodb-fips.us-east-1.amazonaws.com/", "us-east-1"),
        ({"AWS_DEFAULT_REGION": "eu-west-1", "AWS_USE_DUALSTACK_ENDPOINT": "true"}, "", "https://dynamodb.eu-west-1.api.aws/", "eu-west-1"),
        ({"AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:1"}, "", "http://127.0.0.1:1/", "us-east-1"),
        (
            {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:2"},
            "",
            "http://127.0.0.1:2/",
            "us-east-1",
        ),
        (
            {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:2", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
            "",
            "https://dynamodb.us-east-1.amazonaws.com/",
            "us-east-1",
        ),
        (
            {"AWS_DEFAULT_REGION": "ap-south-1"},
            "[default]\nservices = local\n[services local]\ndynamodb =\n  endpoint_url = http://127.0.0.1:3\n",
            "http://127.0.0.1:3/",
            "ap-south-1",
        ),
        ({}, "[default]\nregion = sa-east-1\n", "https://dynamodb.sa-east-1.amazonaws.com/", "sa-east-1"),
        ({"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCOUNT_ID": "123456789012"}, "", "https://123456789012.ddb.us-east-1.amazonaws.com/", "us-east-1"),
        (
            {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCOUNT_ID": "123456789012", "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled"},
            "",
            "https://dynamodb.us-east-1.amazonaws.com/",
            "us-east-1",
        ),
    ],
)
def test_the_route_is_the_one_botocore_resolves(aws_environment, variables, config, url, region):
    client = DynamoDB.for_table("sessions", ProviderClient(PLAIN_TLS), aws_environment(config, **KEYS, **variables))

    assert (client.route.url, client.route.region, client.route.signing_name) == (url, region, "dynamodb")


def test_calls_go_where_an_endpoint_override_points_signed_for_the_region(aws_environment, serve):
    server = serve(ok)
    session = aws_environment(AWS_DEFAULT_REGION="eu-west-3", AWS_ENDPOINT_URL_DYNAMODB=server.origin, **KEYS)
    client = DynamoDB.for_table("sessions", ProviderClient(PLAIN_TLS), session)

    assert client.call("GetItem", {"TableName": "sessions"}, repeatable=True)["Item"]["id"]["S"] == "answer-1"
    assert "Credential=AKIDEXAMPLE/" in server.requests[0]["authorization"]
    assert "/eu-west-3/dynamodb/aws4_request," in server.requests[0]["authorization"]


def test_without_a_region_or_credentials_the_client_is_not_built(aws_environment):
    with pytest.raises(ValueError, match=r"no DynamoDB client \(NoRegionError\)"):
        DynamoDB.for_table("sessions", ProviderClient(PLAIN_TLS), aws_environment(**KEYS))
    with pytest.raises(ValueError, match="no AWS credentials found"):
        DynamoDB.for_table("sessions", ProviderClient(PLAIN_TLS), aws_environment(AWS_DEFAULT_REGION="us-east-1"))


class _ContainerCredentials(BaseHTTPRequestHandler):
    """Plays ECS / Lambda's container credentials endpoint: a new key pair for each fetch, each expiring soon."""

    protocol_version = "HTTP/1.1"
    server: CredentialsEndpoint

    def do_GET(self) -> None:
        self.server.fetches.append({"path": self.path, "authorization": self.headers.get("Authorization", "")})
        n = len(self.server.fetches)
        expiring = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + self.server.lifetime))
        reply(self, 200, {"AccessKeyId": f"ASIACONTAINER{n}", "SecretAccessKey": f"secret-{n}", "Token": f"token-{n}", "Expiration": expiring})

    def log_message(self, *args: object) -> None:
        pass


class CredentialsEndpoint(LoopbackServer):
    def __init__(self, lifetime: float) -> None:
        super().__init__(_ContainerCredentials)
        self.lifetime = lifetime
        self.fetches: list[dict[str, str]] = []


@pytest.fixture
def credentials_endpoint(running) -> Callable[[float], CredentialsEndpoint]:
    return lambda lifetime: running(CredentialsEndpoint(lifetime))


def test_credentials_come_from_the_container_provider_and_are_refreshed_before_they_expire(aws_environment, credentials_endpoint, serve):
    endpoint = credentials_endpoint(60)  # inside botocore's mandatory refresh window: every use fetches anew
    table = serve(ok)
    session = aws_environment(
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL_DYNAMODB=table.origin,
        AWS_CONTAINER_CREDENTIALS_FULL_URI=f"{endpoint.origin}/2023-11-01/credentials",
        AWS_CONTAINER_AUTHORIZATION_TOKEN="container-auth-token",
    )
    client = DynamoDB.for_table("sessions", ProviderClient(PLAIN_TLS), session)

    client.call("GetItem", {}, repeatable=True)
    client.call("GetItem", {}, repeatable=True)

    signed = [(r["authorization"].split("Credential=")[1].split("/")[0], r["x-amz-security-token"]) for r in table.requests]
    assert signed[0][0].startswith("ASIACONTAINER") and signed[0][1] == f"token-{signed[0][0][-1]}"
    assert signed[1] != signed[0], "expiring credentials were used again instead of refreshed"
    assert {fetch["path"] for fetch in endpoint.fetches} == {"/2023-11-01/credentials"}
    assert {fetch["authorization"] for fetch in endpoint.fetches} == {"container-auth-token"}


def test_long_lived_container_credentials_are_fetched_once(aws_environment, credentials_endpoint, serve):
    endpoint = credentials_endpoint(6 * 3600)
    table = serve(ok)
    session = aws_environment(
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL_DYNAMODB=table.origin,
        AWS_CONTAINER_CREDENTIALS_FULL_URI=f"{endpoint.origin}/credentials",
    )
    client = DynamoDB.for_table("sessions", ProviderClient(PLAIN_TLS), session)

    for _ in range(3):
        client.call("GetItem", {}, repeatable=True)

    assert len(endpoint.fetches) == 1
    assert {r["x-amz-security-token"] for r in table.requests} == {"token-1"}


def test_nothing_is_logged_not_even_at_debug(serve, caplog):
    server = serve(lambda h, n: reply(h, 400, {"__type": "ValidationException", "message": "bad"}) if n == 2 else ok(h, n))
    token = "session-token-" + secrets.token_hex(8)
    client = client_for(server.origin, credentials=Credentials("AKIDLOGGED", "secret-" + secrets.token_hex(8), token))
    caplog.set_level(logging.DEBUG)

    client.call("GetItem", {"Key": {"id": {"S": "k"}}}, repeatable=True)
    with pytest.raises(DynamoDBError):
        client.call("PutItem", {}, repeatable=False)

    leaked = [r.getMessage() for r in caplog.records if token in r.getMessage() or "AKIDLOGGED" in r.getMessage()]
    assert leaked == []
    assert [r.name for r in caplog.records if not r.name.startswith("httpcore")] == []
