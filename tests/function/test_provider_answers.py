"""How provider answers map to the spec's responses: error codes, formats, filtering."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from tests.function import fault_servers
from tests.function.conftest import REDIRECT_URI

TOKEN = "gho_" + "A" * 36


@pytest.fixture
def provider_answering(deploy, exchange_code, sensitive):
    """Deploy a provider whose token endpoint always gives one canned answer; return an exchange call."""
    servers = []

    def start(status: int, body: bytes, content_type: str = "application/json", refresh: bool = False):
        server = fault_servers.FaultServer(fault_servers.answer(status, body, content_type)).start()
        servers.append(server)
        entry = {"client_id": "cid", "token_url": server.url, "refresh": refresh}
        deploy({"github": entry}, secrets={"github": "secret-of-the-canned-provider"})
        sensitive.add_tokens(TOKEN, "ghr_" + "R" * 36)
        return server

    yield start
    for server in servers:
        server.stop()


def json_answer(**fields) -> bytes:
    return json.dumps(fields).encode()


@pytest.mark.parametrize(
    ("provider_error", "http_status", "expected_status", "expected_error"),
    [
        ("bad_verification_code", 200, 400, "invalid_grant"),
        ("redirect_uri_mismatch", 200, 400, "invalid_grant"),
        ("bad_refresh_token", 200, 400, "invalid_grant"),
        ("invalid_grant", 400, 400, "invalid_grant"),
        ("access_denied", 400, 400, "invalid_grant"),
        ("unverified_user_email", 200, 400, "invalid_grant"),
        ("invalid_request", 400, 400, "invalid_request"),
        ("unsupported_grant_type", 400, 400, "unsupported_grant_type"),
        ("unauthorized_client", 400, 502, "server_misconfigured"),
        ("incorrect_client_credentials", 200, 502, "server_misconfigured"),
        ("invalid_client", 401, 502, "server_misconfigured"),
        ("invalid_scope", 400, 502, "provider_error"),
        ("slow_down", 200, 502, "provider_error"),
        ("temporarily_unavailable", 503, 502, "provider_error"),
        ("invalid_grant", 500, 502, "provider_error"),
    ],
)
def test_provider_error_codes_map_to_the_spec_table(
    provider_answering, exchange_code, provider_error, http_status, expected_status, expected_error
):
    provider_answering(http_status, json_answer(error=provider_error, error_description="secret-ish detail"))

    reply = exchange_code("some-code-0123456789")

    assert (reply.status, reply.body["error"]) == (expected_status, expected_error)
    assert "secret-ish detail" not in reply.body["error_description"]


def test_form_encoded_github_error_is_understood(provider_answering, exchange_code):
    body = urlencode({"error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."})
    provider_answering(200, body.encode(), "application/x-www-form-urlencoded; charset=utf-8")

    assert exchange_code("some-code-0123456789").body["error"] == "invalid_grant"


def test_form_encoded_success_is_understood_and_numbers_stay_numbers(provider_answering, exchange_code):
    body = urlencode({"access_token": TOKEN, "token_type": "bearer", "scope": "repo", "expires_in": "28800"})
    provider_answering(200, body.encode(), "application/x-www-form-urlencoded")

    reply = exchange_code("some-code-0123456789")

    assert reply.body == {"access_token": TOKEN, "token_type": "bearer", "scope": "repo", "expires_in": 28800}


@pytest.mark.parametrize("content_type", ["text/plain", ""])
def test_untyped_answers_are_tried_as_json_then_form(provider_answering, exchange_code, content_type):
    provider_answering(200, f"access_token={TOKEN}&token_type=bearer".encode(), content_type)

    assert exchange_code("some-code-0123456789").body["access_token"] == TOKEN


def test_success_is_filtered_to_the_spec_fields(provider_answering, exchange_code):
    provider_answering(
        200,
        json_answer(
            access_token=TOKEN,
            token_type="bearer",
            scope="repo",
            expires_in=3600,
            refresh_token="ghr_" + "R" * 36,
            refresh_token_expires_in=100,
            id_token="a.b.c",
            user_id=42,
            internal="do not forward",
        ),
    )

    reply = exchange_code("some-code-0123456789")

    assert reply.body == {"access_token": TOKEN, "token_type": "bearer", "scope": "repo", "expires_in": 3600, "id_token": "a.b.c"}


def test_refresh_fields_pass_when_refresh_is_on(provider_answering, exchange_code):
    provider_answering(200, json_answer(access_token=TOKEN, refresh_token="ghr_" + "R" * 36, refresh_token_expires_in=100), refresh=True)

    reply = exchange_code("some-code-0123456789")

    assert reply.body == {"access_token": TOKEN, "refresh_token": "ghr_" + "R" * 36, "refresh_token_expires_in": 100}


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (200, json_answer(token_type="bearer", scope=""), "application/json"),
        (200, json_answer(access_token=""), "application/json"),
        (200, json_answer(access_token=12345), "application/json"),
        (200, b"[1, 2]", "application/json"),
        (200, b"{not json", "application/json"),
        (200, b"<html><body>Sign in</body></html>", "text/html"),
        (201, b"", "application/json"),
        (302, b"", "text/html"),
        (404, b"Not Found", "text/plain"),
        (500, json_answer(access_token=TOKEN), "application/json"),
        (502, b"<html>Bad gateway</html>", "text/html"),
        (503, b"", "text/plain"),
    ],
    ids=[
        "no-access-token", "empty-access-token", "numeric-access-token", "json-array", "broken-json", "html",
        "201-empty", "302", "404-text", "500-with-token", "502-html", "503-empty",
    ],
)
def test_unusable_answers_are_provider_error(provider_answering, exchange_code, status, body, content_type):
    provider_answering(status, body, content_type)

    reply = exchange_code("some-code-0123456789")

    assert (reply.status, reply.body["error"]) == (502, "provider_error")
    assert TOKEN not in json.dumps(reply.body)


def test_redirects_are_not_followed(deploy, exchange_code):
    with fault_servers.running(fault_servers.answer(200, json_answer(access_token=TOKEN))) as target:
        redirect = fault_servers.answer(307, b"", "text/plain", Location=target.url)
        with fault_servers.running(redirect) as server:
            deploy({"github": {"client_id": "cid", "token_url": server.url}}, secrets={"github": "s-e-c-r-e-t-0001"})

            reply = exchange_code("some-code-0123456789")

        assert reply.body["error"] == "provider_error"
        assert target.requests == []


def test_bare_http_401_counts_as_rejected_credentials(provider_answering, exchange_code):
    server = provider_answering(401, b"", "text/plain")

    reply = exchange_code("some-code-0123456789")

    assert (reply.status, reply.body["error"]) == (502, "server_misconfigured")
    assert len(server.requests) == 1, "the secret did not change on re-read, so no second attempt"


def strict_json(text: str):
    """json.loads without Python's extensions: NaN, Infinity and -Infinity are not JSON."""

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"access_token": "%s", "expires_in": NaN}' % TOKEN.encode(), "application/json"),
        (b'{"access_token": "%s", "expires_in": Infinity}' % TOKEN.encode(), "application/json"),
        (b'{"access_token": "%s", "scope": -Infinity}' % TOKEN.encode(), "application/json"),
        (b'{"access_token": "%s", "expires_in": 1e400}' % TOKEN.encode(), "application/json"),
        (b'{"access_token": "%s", "id_token": [NaN]}' % TOKEN.encode(), "application/json"),
        (b'{"access_token": "%s", "expires_in": NaN}' % TOKEN.encode(), "text/plain"),
        (b'{"error": "bad_verification_code", "interval": NaN}', "application/json"),
    ],
    ids=["nan", "infinity", "minus-infinity", "overflowing-float", "nested-nan", "untyped-nan", "error-with-nan"],
)
def test_answer_with_non_standard_json_numbers_is_provider_error(provider_answering, exchange_code, body, content_type):
    provider_answering(200, body, content_type)

    reply = exchange_code("some-code-0123456789")

    assert (reply.status, reply.body["error"]) == (502, "provider_error")
    strict_json(reply.raw["body"])


@pytest.mark.parametrize(
    ("expires_in", "expected"),
    [
        (3600, 3600),
        (3600.0, 3600),
        (3599.75, 3599),
        ("3600", 3600),
        (0, 0),
        (315360000, 315360000),
        (315360001, None),
        ("315360001", None),
        (-1, None),
        (-0.5, 0),
        (10**30, None),
        ("soon", None),
        ("-60", None),
        ("\u00b2", None),
        ("9" * 5000, None),
        (True, None),
        (None, None),
        ([3600], None),
        ({"seconds": 3600}, None),
    ],
    ids=[
        "int", "integral-float", "float", "digits", "zero", "ten-years", "over-ten-years", "over-ten-years-text",
        "negative", "negative-fraction", "huge", "text", "negative-text", "superscript-digit", "5000-digits",
        "bool", "null", "list", "object",
    ],
)
def test_lifetimes_pass_as_bounded_integers_or_not_at_all(provider_answering, exchange_code, expires_in, expected):
    provider_answering(200, json_answer(access_token=TOKEN, expires_in=expires_in, refresh_token_expires_in=expires_in), refresh=True)

    reply = exchange_code("some-code-0123456789")

    assert reply.status == 200
    strict_json(reply.raw["body"])
    for name in ("expires_in", "refresh_token_expires_in"):
        if expected is None:
            assert name not in reply.body
        else:
            assert (reply.body[name], type(reply.body[name])) == (expected, int)


@pytest.mark.parametrize("field", ["token_type", "scope", "id_token", "refresh_token"])
@pytest.mark.parametrize("value", [42, True, None, ["read:user", "repo"], {"value": "x"}], ids=["number", "bool", "null", "list", "object"])
def test_string_fields_of_another_type_are_dropped(provider_answering, exchange_code, field, value):
    provider_answering(200, json_answer(**{"access_token": TOKEN, "token_type": "bearer", field: value}), refresh=True)

    reply = exchange_code("some-code-0123456789")

    assert reply.status == 200
    assert reply.body == {name: text for name, text in {"access_token": TOKEN, "token_type": "bearer"}.items() if name != field}
