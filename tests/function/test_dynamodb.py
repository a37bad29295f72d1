"""The function's own DynamoDB client: moto's server for the protocol, scripted loopback servers for the wire."""

from __future__ import annotations

import json
import secrets
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler

import pytest

import dynamodb
from dynamodb import DynamoDB, DynamoDBError, DynamoDBUnavailable, endpoint_from_environment
from local.http_server import LoopbackServer
from local.loopback_tls import LoopbackCA
from local.secrets_store import SecretsStore
from provider_http import tls_context
from sigv4 import Credentials, Signer

SIGNER = Signer(Credentials("testing", "testing", "testing"), "us-east-1", "dynamodb")
PLAIN_TLS = tls_context({})


def client_for(endpoint: str, tls: ssl.SSLContext = PLAIN_TLS) -> DynamoDB:
    return DynamoDB(endpoint, SIGNER, tls)


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


class _ScriptedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Scripted

    def do_POST(self) -> None:
        self.server.bodies.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        self.server.requests.append({k.lower(): v for k, v in self.headers.items()})
        self.server.answer(self, len(self.server.requests))
        self.wfile.flush()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[Callable[..., Scripted]]:
    started: list[Scripted] = []

    def start(answer: Answer, ssl_context: ssl.SSLContext | None = None) -> Scripted:
        server = Scripted(answer, ssl_context)
        server.start("scripted-dynamodb")
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def reply(handler: BaseHTTPRequestHandler, status: int, document: object, *, close: bool = False, crc: int | None = None) -> None:
    body = json.dumps(document).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/x-amz-json-1.0")
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

    with pytest.raises(DynamoDBUnavailable, match="closed before an answer"):
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


def test_a_server_that_never_answers_is_given_up_after_one_read_timeout_without_a_resend(serve):
    server = serve(lambda h, n: time.sleep(3))
    started = time.monotonic()

    with pytest.raises(DynamoDBUnavailable, match="GetItem: timed out"):
        client_for(server.origin).call("GetItem", {}, repeatable=True)

    assert dynamodb.READ_TIMEOUT_SECONDS <= time.monotonic() - started < dynamodb.READ_TIMEOUT_SECONDS + 1
    assert len(server.requests) == 1


def test_a_closed_port_is_tried_twice_then_reported():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    started = time.monotonic()

    with pytest.raises(DynamoDBUnavailable, match=r"DeleteItem: unreachable \(ConnectionRefusedError\)"):
        client_for(f"http://127.0.0.1:{port}").call("DeleteItem", {}, repeatable=True)
    assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (lambda h, n: reply(h, 200, {"Item": {}}, crc=1), "CRC32"),
        (lambda h, n: h.wfile.write(b"SPDY/9 200 OK\r\n\r\n"), "not HTTP"),
        (lambda h, n: h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n[1]"), "not a JSON object"),
        (lambda h, n: h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n"), "not HTTP"),
        (lambda h, n: h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}"), "unreachable|not HTTP|timed out"),
        (lambda h, n: h.wfile.write(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n"), "headers too large"),
        (lambda h, n: h.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n"), "bad chunk size"),
        (lambda h, n: h.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\n{}\r\n0\r\n\r\n"), "bad chunk size"),
        (lambda h, n: h.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n"), "bad chunk end"),
        (lambda h, n: h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 20\r\n\r\n{}"), "conflicting"),
        (lambda h, n: h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n" + b"[" * 100_000 + b"]" * 100_000), "not a JSON object"),
        (lambda h, n: h.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: " + b"a" * 200_000), "trailers too large"),
    ],
)
def test_an_answer_that_is_not_dynamodbs_is_refused(serve, answer, problem):
    def then_close(handler: BaseHTTPRequestHandler, n: int) -> None:
        answer(handler, n)
        handler.close_connection = True

    server = serve(then_close)
    with pytest.raises(DynamoDBUnavailable, match=problem):
        client_for(server.origin).call("GetItem", {}, repeatable=True)


def test_tls_is_verified_against_the_trusted_cas(serve, tmp_path):
    ca = LoopbackCA()
    server = serve(ok, ssl_context=ca.server_context())
    endpoint = f"https://127.0.0.1:{server.port}"

    trusted = client_for(endpoint, tls_context({"SSL_CERT_FILE": str(ca.write_bundle(tmp_path))}))
    assert trusted.call("GetItem", {}, repeatable=True)["Item"]["id"]["S"] == "answer-1"
    assert trusted.call("GetItem", {}, repeatable=True)["Item"]["id"]["S"] == "answer-2"
    with pytest.raises(DynamoDBUnavailable, match="not trusted"):
        client_for(endpoint).call("GetItem", {}, repeatable=True)


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


def test_the_endpoint_is_the_configured_one_or_the_regions():
    assert endpoint_from_environment({}, "eu-central-1") == "https://dynamodb.eu-central-1.amazonaws.com"
    assert endpoint_from_environment({}, "cn-northwest-1") == "https://dynamodb.cn-northwest-1.amazonaws.com.cn"
    assert endpoint_from_environment({"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}, "us-east-1") == "http://127.0.0.1:1"
    both = {"AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:2"}
    assert endpoint_from_environment(both, "us-east-1") == "http://127.0.0.1:2"


def test_the_host_header_leaves_out_the_schemes_own_port():
    assert DynamoDB("https://dynamodb.us-east-1.amazonaws.com", SIGNER, PLAIN_TLS)._host_header == "dynamodb.us-east-1.amazonaws.com"
    assert DynamoDB("https://dynamodb.us-east-1.amazonaws.com:443/", SIGNER, PLAIN_TLS)._host_header == "dynamodb.us-east-1.amazonaws.com"
    assert DynamoDB("http://[::1]:8000", SIGNER, None)._host_header == "[::1]:8000"
    with pytest.raises(ValueError):
        DynamoDB("ftp://example.com", SIGNER, PLAIN_TLS)
