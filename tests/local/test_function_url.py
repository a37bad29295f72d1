"""The function URL emulator on its own: events, response mapping, CORS and limits as AWS has them."""

from __future__ import annotations

import base64
import re
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from oauth_exchange.settings import load_settings
from local.function_url import (
    MAX_REQUEST_BYTES,
    Cors,
    FunctionError,
    FunctionUrlEmulator,
    Throttled,
)

SPA = "http://127.0.0.1:8000"
OTHER = "http://evil.example.test"


class Recorder:
    """An in-process function that records its events and returns what the test asks for."""

    def __init__(self, result: Any = None, raises: BaseException | None = None) -> None:
        self.result = {"statusCode": 200, "body": "{}"} if result is None else result
        self.raises = raises
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any], request_id: str) -> Any:
        self.events.append(event)
        if self.raises is not None:
            raise self.raises
        return self.result


@pytest.fixture
def serve() -> Iterator[Callable[..., FunctionUrlEmulator]]:
    emulators: list[FunctionUrlEmulator] = []

    def start(function: Any, origins: tuple[str, ...] = (SPA,), **options: Any) -> FunctionUrlEmulator:
        emulator = FunctionUrlEmulator(**options)
        emulators.append(emulator)
        emulator.serve(function, Cors(allow_origins=origins))
        return emulator

    yield start
    for emulator in emulators:
        emulator.stop()


def test_a_request_becomes_a_payload_format_2_0_event(serve):
    function = Recorder()
    emulator = serve(function)
    before = int(time.time() * 1000)
    response = httpx.post(
        emulator.url + "token/x?a=1&a=2&b=x%20y&empty=",
        content=b'{"code": "abc"}',
        headers=[
            ("Content-Type", "application/json"),
            ("X-Twice", "one"),
            ("X-Twice", "two"),
            ("Cookie", "first=1; second=2"),
            ("User-Agent", "test-agent/1.0"),
        ],
    )
    assert response.status_code == 200
    [event] = function.events
    assert event["version"] == "2.0"
    assert event["routeKey"] == "$default"
    assert event["rawPath"] == "/token/x"
    assert event["rawQueryString"] == "a=1&a=2&b=x%20y&empty="
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x y", "empty": ""}
    assert event["cookies"] == ["first=1", "second=2"]
    headers = event["headers"]
    assert all(name == name.lower() for name in headers)
    assert headers["x-twice"] == "one,two"
    assert headers["content-type"] == "application/json"
    assert headers["host"] == f"127.0.0.1:{emulator.port}"
    assert "cookie" not in headers
    assert event["body"] == '{"code": "abc"}'
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["accountId"] == "anonymous"
    assert context["apiId"] == context["domainPrefix"] == emulator.url_id
    assert context["domainName"] == f"127.0.0.1:{emulator.port}"
    assert context["http"] == {
        "method": "POST",
        "path": "/token/x",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "test-agent/1.0",
    }
    assert context["requestId"] == response.headers["x-amzn-requestid"]
    assert context["routeKey"] == context["stage"] == "$default"
    assert re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", context["time"])
    assert before <= context["timeEpoch"] <= int(time.time() * 1000)


def test_a_request_without_body_query_or_cookies_has_none_of_those_keys(serve):
    function = Recorder()
    emulator = serve(function)
    httpx.get(emulator.url)
    [event] = function.events
    assert "body" not in event
    assert "queryStringParameters" not in event
    assert "cookies" not in event
    assert event["rawQueryString"] == ""
    assert event["isBase64Encoded"] is False


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/octet-stream", b"\x00\x01\xffbinary"),
        ("application/x-www-form-urlencoded", b"code=abc&state=xyz"),
        (None, b"no content type"),
        ("text/plain; charset=latin-1", "caf\u00e9".encode("latin-1")),
    ],
)
def test_a_body_that_is_not_text_arrives_base64_encoded(serve, content_type, body):
    function = Recorder()
    emulator = serve(function)
    headers = {"Content-Type": content_type} if content_type else {}
    httpx.post(emulator.url, content=body, headers=headers)
    [event] = function.events
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


@pytest.mark.parametrize("content_type", ["text/plain", "application/json; charset=utf-8", "application/xml"])
def test_a_text_body_arrives_as_text(serve, content_type):
    function = Recorder()
    emulator = serve(function)
    httpx.post(emulator.url, content="h\u00e9llo".encode(), headers={"Content-Type": content_type})
    [event] = function.events
    assert event["isBase64Encoded"] is False
    assert event["body"] == "h\u00e9llo"


def test_a_response_with_status_code_sets_status_headers_cookies_and_body(serve):
    result = {
        "statusCode": 201,
        "headers": {"Content-Type": "text/plain", "X-Custom": "yes", "Vary": "Accept", "X-Number": 7},
        "cookies": ["a=1; Max-Age=60", "b=2; HttpOnly"],
        "body": "created",
    }
    emulator = serve(Recorder(result))
    response = httpx.post(emulator.url)
    assert response.status_code == 201
    assert response.text == "created"
    assert response.headers["content-type"] == "text/plain"
    assert response.headers["x-custom"] == "yes"
    assert response.headers["x-number"] == "7"
    assert response.headers.get_list("set-cookie") == ["a=1; Max-Age=60", "b=2; HttpOnly"]
    assert response.headers["vary"] == "Accept, Origin"


def test_a_response_without_content_type_is_labelled_json(serve):
    emulator = serve(Recorder({"statusCode": 204}))
    response = httpx.post(emulator.url)
    assert response.status_code == 204
    assert response.headers["content-type"] == "application/json"
    assert response.content == b""


def test_a_base64_response_body_is_decoded(serve):
    payload = bytes(range(256))
    result = {
        "statusCode": 200,
        "headers": {"content-type": "application/octet-stream"},
        "body": base64.b64encode(payload).decode(),
        "isBase64Encoded": True,
    }
    emulator = serve(Recorder(result))
    assert httpx.post(emulator.url).content == payload


def test_a_dict_without_status_code_is_returned_as_json_with_200(serve):
    result = {"body": "not a response", "headers": {"x-ignored": "1"}, "n": 1}
    emulator = serve(Recorder(result))
    response = httpx.post(emulator.url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert "x-ignored" not in response.headers
    assert response.json() == result


@pytest.mark.parametrize(
    ("value", "expected_body"),
    [("Hello, world!", b'"Hello, world!"'), ([1, "two"], b'[1, "two"]'), (42, b"42"), (None, b"null"), (True, b"true")],
)
def test_a_non_dict_result_is_returned_as_its_json_with_200(serve, value, expected_body):
    function = Recorder()
    function.result = value
    emulator = serve(function)
    response = httpx.post(emulator.url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == expected_body


@pytest.mark.parametrize(
    "failure",
    [
        {"raises": ValueError("handler bug")},
        {"raises": FunctionError("Task timed out after 15.00 seconds")},
        {"result": {"statusCode": "two hundred", "body": "x"}},
        {"result": {"statusCode": 200, "body": {"not": "a string"}}},
        {"result": {"statusCode": 200, "body": "%%%", "isBase64Encoded": True}},
        {"result": {"statusCode": 200, "headers": {"X-Bad": "a\r\nSet-Cookie: x=1"}}},
        {"result": {"statusCode": 200, "cookies": "a=1"}},
        {"result": {"not json": object()}},
    ],
    ids=["exception", "timeout", "bad-status", "dict-body", "bad-base64", "header-injection", "cookie-string", "unserialisable"],
)
def test_a_failed_invocation_is_a_bare_502(serve, failure):
    emulator = serve(Recorder(**failure), log=lambda line: None)
    response = httpx.post(emulator.url, headers={"Origin": SPA})
    assert response.status_code == 502
    assert response.text == "Internal Server Error"
    assert response.headers["access-control-allow-origin"] == SPA
    assert [i.status for i in emulator.invocations] == [502]


def test_throttling_is_a_429_that_does_not_count_as_an_invocation(serve):
    emulator = serve(Recorder(raises=Throttled()))
    response = httpx.post(emulator.url)
    assert response.status_code == 429
    assert response.json() == {"Message": "Rate Exceeded."}
    assert emulator.invocation_count == 0


def test_a_preflight_from_an_allowed_origin_is_answered_without_invoking_the_function(serve):
    function = Recorder()
    emulator = serve(function)
    response = httpx.options(
        emulator.url + "token",
        headers={"Origin": SPA, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SPA
    assert response.headers["access-control-allow-methods"] == "POST"
    assert response.headers["access-control-allow-headers"] == "content-type"
    assert response.headers["access-control-max-age"] == "86400"
    assert response.headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in response.headers
    assert function.events == []
    assert emulator.invocation_count == 0


def test_a_preflight_from_a_disallowed_origin_gets_no_cors_headers(serve):
    function = Recorder()
    emulator = serve(function)
    response = httpx.options(emulator.url, headers={"Origin": OTHER, "Access-Control-Request-Method": "POST"})
    assert not [name for name in response.headers if name.lower().startswith("access-control-")]
    assert emulator.invocation_count == 0


def test_an_options_request_that_is_not_a_preflight_reaches_the_function(serve):
    emulator = serve(Recorder({"statusCode": 405, "headers": {"Allow": "POST"}, "body": "{}"}))
    response = httpx.options(emulator.url)
    assert response.status_code == 405
    assert emulator.invocation_count == 1


@pytest.mark.parametrize(("origin", "allowed"), [(SPA, True), (OTHER, False), ("null", False), (None, False)])
def test_an_actual_response_allows_only_configured_origins(serve, origin, allowed):
    emulator = serve(Recorder())
    response = httpx.post(emulator.url, headers={"Origin": origin} if origin else {})
    assert response.status_code == 200
    assert response.headers.get("access-control-allow-origin") == (SPA if allowed else None)
    assert response.headers["vary"] == "Origin"
    assert emulator.invocation_count == 1


@pytest.mark.parametrize(("origin", "expected_acao"), [(SPA, SPA), (OTHER, None)])
def test_cors_headers_emitted_by_the_function_are_replaced(serve, origin, expected_acao):
    result = {
        "statusCode": 200,
        "headers": {
            "Access-Control-Allow-Origin": "*",
            "access-control-allow-credentials": "true",
            "Access-Control-Expose-Headers": "x-secret",
        },
        "body": "{}",
    }
    emulator = serve(Recorder(result))
    response = httpx.post(emulator.url, headers={"Origin": origin})
    cors = {name.lower(): value for name, value in response.headers.items() if name.lower().startswith("access-control-")}
    assert cors == ({"access-control-allow-origin": expected_acao} if expected_acao else {})


def test_a_body_over_6_mb_is_refused_with_413_without_invoking_the_function(serve):
    emulator = serve(Recorder())
    response = httpx.post(emulator.url, content=b"x" * (MAX_REQUEST_BYTES + 1), headers={"Content-Type": "text/plain"})
    assert response.status_code == 413
    assert "6291456" in response.json()["Message"]
    assert emulator.invocation_count == 0


def test_a_body_whose_event_exceeds_the_limit_after_base64_is_refused(serve):
    emulator = serve(Recorder())
    body = b"\x00" * (MAX_REQUEST_BYTES * 4 // 5)
    response = httpx.post(emulator.url, content=body, headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 413
    assert emulator.invocation_count == 0


def test_a_large_body_under_the_limit_is_delivered(serve):
    function = Recorder()
    emulator = serve(function)
    body = "y" * (5 * 1024 * 1024)
    response = httpx.post(emulator.url, content=body, headers={"Content-Type": "text/plain"})
    assert response.status_code == 200
    assert function.events[0]["body"] == body


def test_a_chunked_body_without_content_length_is_refused(serve):
    emulator = serve(Recorder())
    response = httpx.post(emulator.url, content=iter([b"a", b"b"]))
    assert response.status_code == 411
    assert emulator.invocation_count == 0


def test_an_invalid_content_length_is_refused(serve):
    emulator = serve(Recorder())
    with socket.create_connection(("127.0.0.1", emulator.port), timeout=5) as raw:
        raw.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n")
        answer = raw.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 400 ")
    assert emulator.invocation_count == 0


def test_a_malformed_request_line_gets_an_error_page_and_is_logged_without_its_query(serve):
    lines: list[str] = []
    emulator = serve(Recorder(), log=lines.append)
    with socket.create_connection(("127.0.0.1", emulator.port), timeout=5) as raw:
        raw.sendall(b"GET /token?code=abc HTTP/1.x\r\nHost: x\r\n\r\n")
        answer = raw.recv(4096).decode()
    assert "Error code: 400" in answer
    assert emulator.invocation_count == 0
    assert not any("code=abc" in line for line in lines)


def test_the_invocation_log_records_each_call(serve):
    emulator = serve(Recorder())
    with httpx.Client() as client:
        client.post(emulator.url + "token")
        client.get(emulator.url + "revoke?x=1")
    assert [(i.method, i.path, i.status) for i in emulator.invocations] == [("POST", "/token", 200), ("GET", "/revoke", 200)]


def test_the_emulator_binds_loopback_on_a_free_port_and_releases_it_when_stopped():
    emulator = FunctionUrlEmulator()
    assert emulator.url == f"http://127.0.0.1:{emulator.port}/"
    assert emulator.port != 0
    emulator.serve(Recorder(), Cors(allow_origins=(SPA,)))
    client = httpx.Client()
    assert client.post(emulator.url).status_code == 200
    emulator.stop()
    with pytest.raises(httpx.TransportError):
        httpx.post(emulator.url, timeout=2)
    again = FunctionUrlEmulator(port=emulator.port)
    again.stop()
    client.close()


def test_the_request_log_has_one_line_per_request_without_the_query_string(serve):
    lines: list[str] = []
    emulator = serve(Recorder(), log=lines.append)
    httpx.post(emulator.url + "token?code=secret-code&state=secret-state")
    assert len(lines) == 1
    assert "POST /token 200" in lines[0]
    assert "secret" not in lines[0]


def test_cors_for_site_allows_exactly_the_settings_origins():
    settings = load_settings({"providers": {"github": {"clientId": "x"}}, "extraOrigins": ["http://localhost:8000"]}, {"github"})
    cors = Cors.for_site(settings, "http://127.0.0.1:5555")
    assert cors.allow_origins == ("http://127.0.0.1:5555", "http://localhost:8000")
    assert cors.allow_methods == ("POST",)
    assert cors.allow_headers == ("content-type",)
    assert cors.allow_credentials is False
    assert cors.max_age == 86400
