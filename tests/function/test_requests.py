"""Routing, the response envelope and input validation: the 4xx rows of the spec's error table."""

from __future__ import annotations

import json

import pytest

from tests.function.conftest import code_fields, REDIRECT_URI, SPA_ORIGIN, SPEC_HEADERS, make_event, pkce_pair

VALID_CODE_BODY = {
    "provider": "github",
    "code": "0123456789abcdef0123",
    "redirect_uri": REDIRECT_URI,
    "code_verifier": "v" * 43,
}


def assert_error(reply, status: int, error: str) -> None:
    assert (reply.status, reply.body["error"]) == (status, error)
    assert set(reply.body) == {"error", "error_description"}
    assert reply.body["error_description"].endswith(".")


# -- envelope ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "method", "body"),
    [
        ("/token", "POST", VALID_CODE_BODY),
        ("/token", "GET", None),
        ("/nowhere", "POST", VALID_CODE_BODY),
        ("/revoke", "POST", {"token": "x"}),
    ],
)
def test_every_response_has_status_spec_headers_json_body_and_no_cors(github, invoke, path, method, body):
    reply = invoke(path, body, method=method)

    assert isinstance(reply.raw["statusCode"], int)
    assert reply.raw["isBase64Encoded"] is False
    assert {k: v for k, v in reply.headers.items() if k != "Allow"} == SPEC_HEADERS
    assert not any(name.lower().startswith("access-control-") for name in reply.headers)
    assert isinstance(json.loads(reply.raw["body"]), dict)


# -- routing -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/tokens", "/token/", "/revoke/x", "/TOKEN", ""])
@pytest.mark.parametrize("method", ["POST", "GET"])
def test_unknown_path_is_not_found(github, invoke, path, method):
    assert_error(invoke(path, VALID_CODE_BODY, method=method), 404, "not_found")


@pytest.mark.parametrize("path", ["/token", "/revoke"])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "post"])
def test_other_methods_are_not_allowed_and_say_allow_post(github, invoke, path, method):
    reply = invoke(path, VALID_CODE_BODY, method=method)

    assert_error(reply, 405, "method_not_allowed")
    assert reply.headers["Allow"] == "POST"
    assert github.seen == []


# -- origin --------------------------------------------------------------------


@pytest.mark.parametrize("origin", ["https://evil.example", "http://127.0.0.1:8001", "null", SPA_ORIGIN + "/", "*"])
def test_origin_not_allowed_is_refused_before_anything_else(github, invoke, origin):
    assert_error(invoke("/token", VALID_CODE_BODY, origin=origin), 403, "origin_not_allowed")
    assert github.seen == []


def test_allowed_origin_and_absent_origin_are_both_accepted(github, invoke):
    with_origin = invoke("/token", {**VALID_CODE_BODY, **code_fields(github)}, origin=SPA_ORIGIN)
    without = invoke("/token", {**VALID_CODE_BODY, **code_fields(github)}, origin=None)

    assert (with_origin.status, without.status) == (200, 200)


def test_origin_comparison_ignores_case(github, invoke):
    reply = invoke("/token", {**VALID_CODE_BODY, **code_fields(github)}, origin=SPA_ORIGIN.upper())

    assert reply.status == 200


# -- body size and media type --------------------------------------------------


def padded_body(size: int) -> str:
    """A valid code request of exactly ``size`` bytes (the padding field is ignored)."""
    base = json.dumps({**VALID_CODE_BODY, "padding": ""})
    return base[:-2] + "x" * (size - len(base)) + base[-2:]


def test_body_over_16_kib_is_request_too_large(github, invoke):
    assert_error(invoke("/token", raw_body=padded_body(16 * 1024 + 1)), 413, "request_too_large")
    assert github.seen == []


def test_body_of_exactly_16_kib_is_accepted(github, invoke):
    reply = invoke("/token", raw_body=padded_body(16 * 1024))

    assert_error(reply, 400, "invalid_grant")


def test_size_limit_applies_to_the_decoded_base64_body(github, invoke):
    assert_error(invoke("/token", raw_body=padded_body(16 * 1024 + 1), base64_body=True), 413, "request_too_large")
    assert invoke("/token", raw_body=padded_body(16 * 1024), base64_body=True).body["error"] == "invalid_grant"


BASE64_OF_16_KIB = 4 * -(-16 * 1024 // 3)  # 21848 characters


@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
@pytest.mark.parametrize(
    "body",
    ["!" * (BASE64_OF_16_KIB + 1), "A" * (BASE64_OF_16_KIB + 1), "QUJD" * (BASE64_OF_16_KIB // 4) + "QUJD\n"],
    ids=["not-base64", "truncated-base64", "base64-with-newline"],
)
def test_undecodable_base64_body_over_16_kib_is_request_too_large(github, invoke, body, content_type):
    """Base64 text longer than that of 16 KiB cannot decode to 16 KiB or less: it is too large, decodable or not."""
    event = make_event("/token", content_type=content_type)
    event["body"] = body
    event["isBase64Encoded"] = True

    assert_error(invoke(event=event), 413, "request_too_large")
    assert github.seen == []


def test_undecodable_base64_body_at_the_size_of_16_kib_is_invalid_request(github, invoke):
    event = make_event("/token")
    event["body"] = "!" * BASE64_OF_16_KIB
    event["isBase64Encoded"] = True

    assert_error(invoke(event=event), 400, "invalid_request")


def test_oversized_undecodable_body_still_gets_the_earlier_errors(github, invoke):
    event = make_event("/token", method="GET")
    event["body"] = "!" * 100_000
    event["isBase64Encoded"] = True

    assert_error(invoke(event=event), 405, "method_not_allowed")


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/jsonx", "application/json; charset=latin-1", "multipart/form-data"],
)
def test_content_type_other_than_json_is_unsupported_media_type(github, invoke, content_type):
    assert_error(invoke("/token", VALID_CODE_BODY, content_type=content_type), 415, "unsupported_media_type")


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON", 'application/json;charset="UTF-8"'])
def test_json_content_type_parameters_are_allowed(github, invoke, content_type):
    assert_error(invoke("/token", VALID_CODE_BODY, content_type=content_type), 400, "invalid_grant")


def test_header_names_are_matched_case_insensitively(github, invoke):
    event = make_event("/token", VALID_CODE_BODY, content_type=None, origin=None)
    event["headers"]["Content-Type"] = "application/json"

    assert invoke(event=event).body["error"] == "invalid_grant"


# -- body syntax ---------------------------------------------------------------


@pytest.mark.parametrize(
    "raw_body",
    [
        "",
        "{",
        "not json",
        "[]",
        '"a string"',
        "42",
        "null",
        '{"code": "a", "code": "b", "redirect_uri": "%s"}' % REDIRECT_URI,
        "[" * 8000 + "]" * 8000,
        '{"a":' * 2500 + "1" + "}" * 2500,
    ],
    ids=["empty", "truncated", "text", "array", "string", "number", "null", "duplicate-key", "deep-array", "deep-object"],
)
def test_body_that_is_not_one_json_object_is_invalid_request(github, invoke, raw_body):
    assert_error(invoke("/token", raw_body=raw_body), 400, "invalid_request")
    assert github.seen == []


def test_missing_body_is_invalid_request(github, invoke):
    assert_error(invoke("/token", None), 400, "invalid_request")


def test_body_that_is_not_utf8_is_invalid_request(github, invoke):
    event = make_event("/token")
    event["body"] = "/w=="  # base64 of a lone 0xff byte
    event["isBase64Encoded"] = True

    assert_error(invoke(event=event), 400, "invalid_request")


@pytest.mark.parametrize("body", ["not base64!", "abc", "eyJ9\n\n==="])
def test_bad_base64_is_invalid_request(github, invoke, body):
    event = make_event("/token")
    event["body"] = body
    event["isBase64Encoded"] = True

    assert_error(invoke(event=event), 400, "invalid_request")


def test_base64_body_is_decoded(github, invoke):
    body = {**VALID_CODE_BODY, **code_fields(github)}

    assert invoke("/token", body, base64_body=True).status == 200


def test_unknown_fields_are_ignored(github, invoke):
    body = {**VALID_CODE_BODY, **code_fields(github), "scope": "admin", "client_secret": "nice try"}

    assert invoke("/token", body).status == 200
    assert github.requests_to("/login/oauth/access_token")[0].form()["client_secret"] == github.client_secret


# -- fields --------------------------------------------------------------------


@pytest.mark.parametrize("code", [None, "", 42, ["x"], {"a": 1}, "c" * 4097])
def test_malformed_code_is_invalid_request(github, invoke, code):
    body = {key: value for key, value in {**VALID_CODE_BODY, "code": code}.items() if value is not None}

    reply = invoke("/token", body)

    assert_error(reply, 400, "invalid_request")
    assert "code" in reply.body["error_description"]
    assert github.seen == []


def test_code_of_4096_characters_reaches_the_provider(github, invoke):
    assert_error(invoke("/token", {**VALID_CODE_BODY, "code": "c" * 4096}), 400, "invalid_grant")
    assert len(github.requests_to("/login/oauth/access_token")) == 1


@pytest.mark.parametrize(
    "verifier",
    ["a" * 42, "a" * 129, "a" * 42 + "!", "a" * 42 + " ", "a" * 42 + "é", 12345, "", ["a" * 43]],
)
def test_malformed_pkce_verifier_is_invalid_request(github, invoke, verifier):
    reply = invoke("/token", {**VALID_CODE_BODY, "code_verifier": verifier})

    assert_error(reply, 400, "invalid_request")
    assert "code_verifier" in reply.body["error_description"]


@pytest.mark.parametrize("verifier", ["a" * 43, "Az09-._~" * 16])
def test_pkce_verifier_of_43_to_128_unreserved_characters_is_accepted(github, invoke, verifier):
    assert_error(invoke("/token", {**VALID_CODE_BODY, "code_verifier": verifier}), 400, "invalid_grant")


def test_null_verifier_counts_as_absent(fake_provider, deploy, invoke):
    provider = fake_provider("github")
    deploy({"github": {**provider.provider_config(), "pkce": False}}, secrets={"github": provider.client_secret})
    body = {**VALID_CODE_BODY, "code": provider.authorize(REDIRECT_URI), "code_verifier": None}

    assert invoke("/token", body).status == 200


@pytest.mark.parametrize("redirect_uri", [None, "", 7, "http://127.0.0.1:8000", REDIRECT_URI + "x", "https://evil.example/"])
def test_redirect_uri_missing_or_not_allowed_is_invalid_request(github, invoke, redirect_uri):
    body = {key: value for key, value in {**VALID_CODE_BODY, "redirect_uri": redirect_uri}.items() if value is not None}

    reply = invoke("/token", body)

    assert_error(reply, 400, "invalid_request")
    assert "redirect_uri" in reply.body["error_description"]
    assert github.seen == []


@pytest.mark.parametrize("provider", ["GitHub", "git hub", "a" * 33, "", 5, ["github"], "gitlab"])
def test_malformed_or_unknown_provider_is_invalid_request(github, invoke, provider):
    reply = invoke("/token", {**VALID_CODE_BODY, "provider": provider})

    assert_error(reply, 400, "invalid_request")
    assert "provider" in reply.body["error_description"]


def test_provider_is_required_when_several_are_configured(fake_provider, deploy, invoke):
    deploy({"github": fake_provider("github"), "corp": fake_provider("rfc6749")})

    body = {key: value for key, value in VALID_CODE_BODY.items() if key != "provider"}
    reply = invoke("/token", body)

    assert_error(reply, 400, "invalid_request")
    assert "provider" in reply.body["error_description"]


@pytest.mark.parametrize("grant_type", ["password", "client_credentials", "implicit", "urn:ietf:params:oauth:grant-type:device_code", ""])
def test_other_grant_types_are_unsupported(github, invoke, grant_type):
    assert_error(invoke("/token", {**VALID_CODE_BODY, "grant_type": grant_type}), 400, "unsupported_grant_type")


@pytest.mark.parametrize("grant_type", [1, True, ["authorization_code"]])
def test_grant_type_that_is_not_a_string_is_invalid_request(github, invoke, grant_type):
    assert_error(invoke("/token", {**VALID_CODE_BODY, "grant_type": grant_type}), 400, "invalid_request")


def test_explicit_authorization_code_grant_type_is_the_default(github, invoke):
    verifier, challenge = pkce_pair()
    body = {
        **VALID_CODE_BODY,
        "grant_type": "authorization_code",
        "code": github.authorize(REDIRECT_URI, code_challenge=challenge, code_challenge_method="S256"),
        "code_verifier": verifier,
    }

    assert invoke("/token", body).status == 200


@pytest.mark.parametrize("refresh_token", [None, "", 3, "r" * 4097])
def test_malformed_refresh_token_is_invalid_request(fake_provider, deploy, invoke, refresh_token):
    deploy({"github": fake_provider("github", refresh_tokens=True)})
    body = {"grant_type": "refresh_token", "refresh_token": refresh_token}

    reply = invoke("/token", {key: value for key, value in body.items() if value is not None})

    assert_error(reply, 400, "invalid_request")
    assert "refresh_token" in reply.body["error_description"]


@pytest.mark.parametrize("field", ["code", "refresh_token", "token", "code_verifier", "redirect_uri", "provider", "grant_type", "ignored"])
@pytest.mark.parametrize("surrogate", ["\ud800", "\udfff", "\udc00\ud800"])
def test_lone_surrogate_escape_in_any_string_is_invalid_request(fake_provider, deploy, invoke, field, surrogate):
    """JSON can spell a lone UTF-16 surrogate (``"\\ud800"``); no UTF-8 text holds one, so no field may."""
    provider = fake_provider("github", refresh_tokens=True)
    deploy({"github": provider})
    requests = [
        ("/token", {**VALID_CODE_BODY, "code_verifier": "v" * 43}),
        ("/token", {"provider": "github", "grant_type": "refresh_token", "refresh_token": "r" * 40}),
        ("/revoke", {"provider": "github", "token": "gho_" + "t" * 36}),
    ]
    for path, body in requests:
        if field in body or field == "ignored":
            raw_body = json.dumps({**body, field: "a" + surrogate + "b"})
            assert "\\ud" in raw_body, "json.dumps spells the surrogate as an escape"

            assert_error(invoke(path, raw_body=raw_body), 400, "invalid_request")
    assert provider.seen == []


def test_surrogate_pair_escape_is_ordinary_text(github, invoke):
    """A well-formed pair (U+1F600 as ``\\ud83d\\ude00``) is valid text and reaches the provider."""
    reply = invoke("/token", raw_body=json.dumps({**VALID_CODE_BODY, "code": "code-\U0001F600"}))

    assert_error(reply, 400, "invalid_grant")
