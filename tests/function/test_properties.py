"""Property: whatever event arrives, the handler answers a well-formed spec response and never raises."""

from __future__ import annotations

import base64
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exchange_errors import STATUS_BY_ERROR
from tests.function.conftest import REDIRECT_URI, SPA_ORIGIN, SPEC_HEADERS

# Long, distinctive values: if one of them ever shows up in a response or a log, it was echoed.
marked = st.text(alphabet="QXZJqxzj", min_size=16, max_size=40).map(lambda s: "MARK" + s)

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=10)

# Text that may hold lone UTF-16 surrogates, which json.dumps writes as "\udxxx" escapes:
# valid JSON that no UTF-8 text (and so no provider request) can carry.
surrogate_text = st.text(st.characters(categories=["Cs"]) | st.characters(), min_size=1, max_size=20)
marked_with_surrogates = st.tuples(marked, surrogate_text).map("".join)

field_values = st.one_of(
    marked,
    marked_with_surrogates,
    json_values,
    st.just(REDIRECT_URI),
    st.just(REDIRECT_URI).map(lambda uri: uri + "\udc80"),
    st.text(alphabet="abc-._~", min_size=43, max_size=128),
)

payloads = st.fixed_dictionaries(
    {},
    optional={
        "provider": st.one_of(st.just("github"), st.just("corp"), surrogate_text, json_values),
        "grant_type": st.one_of(st.sampled_from(["authorization_code", "refresh_token", "password"]), json_values),
        "code": field_values,
        "code_verifier": field_values,
        "redirect_uri": field_values,
        "refresh_token": field_values,
        "token": field_values,
    },
)

# Valid requests, for bodies that differ from one in a field or two: those get past every check
# but the one on the drawn values, as far as the provider call.
valid_requests = [
    ("/token", {"provider": "github", "code": "code-0123456789", "redirect_uri": REDIRECT_URI, "code_verifier": "v" * 43}),
    ("/token", {"provider": "corp", "grant_type": "refresh_token", "refresh_token": "refresh-0123456789"}),
    ("/revoke", {"provider": "github", "token": "gho_0123456789"}),
]


@st.composite
def near_valid_requests(draw):
    """(path, body, is_base64) of a valid request with one or two of its fields replaced."""
    path, payload = draw(st.sampled_from(valid_requests))
    payload = dict(payload)
    for name in draw(st.sets(st.sampled_from(sorted(payload)), min_size=1, max_size=2)):
        payload[name] = draw(st.one_of(surrogate_text, field_values))
    text = json.dumps(payload)
    if draw(st.booleans()):
        return path, base64.b64encode(text.encode()).decode(), True
    return path, text, False


@st.composite
def bodies(draw):
    kind = draw(st.sampled_from(["payload", "payload-base64", "text", "bytes-base64", "none", "not-a-string"]))
    if kind == "payload":
        return json.dumps(draw(payloads)), False
    if kind == "payload-base64":
        return base64.b64encode(json.dumps(draw(payloads)).encode()).decode(), True
    if kind == "text":
        return draw(st.text(max_size=200)), draw(st.booleans())
    if kind == "bytes-base64":
        return base64.b64encode(draw(st.binary(max_size=200))).decode(), True
    if kind == "none":
        return None, draw(st.booleans())
    return draw(json_values), draw(st.booleans())


header_values = st.one_of(
    st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", SPA_ORIGIN, "https://evil.example"]),
    st.text(max_size=30),
    json_values,
)
headers = st.dictionaries(
    st.one_of(st.sampled_from(["content-type", "Content-Type", "origin", "Origin", "authorization"]), st.text(max_size=10)),
    header_values,
    max_size=4,
)


@st.composite
def events(draw):
    if draw(st.booleans()):
        # A well-formed function URL request whose body gets as far as field validation.
        path, body, is_base64 = draw(near_valid_requests())
        return {
            "rawPath": path,
            "headers": {"content-type": "application/json", "origin": SPA_ORIGIN},
            "requestContext": {"http": {"method": "POST"}, "requestId": "req-0123"},
            "isBase64Encoded": is_base64,
            "body": body,
        }
    body, is_base64 = draw(bodies())
    event = {
        "rawPath": draw(st.one_of(st.sampled_from(["/token", "/revoke", "/", "/token/"]), st.text(max_size=20), json_values)),
        "headers": draw(st.one_of(headers, json_values)),
        "requestContext": {
            "http": {"method": draw(st.one_of(st.sampled_from(["POST", "GET", "OPTIONS"]), st.text(max_size=6), json_values))},
            "requestId": draw(st.one_of(st.text(max_size=20), json_values)),
        },
        "isBase64Encoded": is_base64,
    }
    if body is not None:
        event["body"] = body
    for key in draw(st.sets(st.sampled_from(["headers", "requestContext", "rawPath", "isBase64Encoded"]), max_size=2)):
        event[key] = draw(json_values)
    return event


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(event=events())
def test_any_event_gets_a_well_formed_spec_response(fake_provider, deploy, invoke, sensitive, event):
    if not sensitive.providers:
        deploy({"github": fake_provider("github"), "corp": fake_provider("rfc6749")})

    seen_before = len(sensitive.capture.records)

    reply = invoke(event=event)

    assert reply.status in set(STATUS_BY_ERROR.values()) | {200}
    assert {k: v for k, v in reply.headers.items() if k != "Allow"} == SPEC_HEADERS
    assert ("Allow" in reply.headers) == (reply.status == 405)
    if reply.status == 200:
        assert set(reply.body) <= {"access_token", "token_type", "scope", "expires_in", "id_token", "refresh_token", "refresh_token_expires_in", "revoked"}
    else:
        assert set(reply.body) == {"error", "error_description"}
        assert STATUS_BY_ERROR[reply.body["error"]] == reply.status
        assert reply.status != 500, "only a broken deployment or a bug answers 500"
        assert "MARK" not in reply.body["error_description"]
    assert not [r for r in sensitive.capture.records[seen_before:] if "MARK" in r.getMessage()]
