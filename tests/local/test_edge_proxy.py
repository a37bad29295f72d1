"""The local edge does what CloudFront does, in CloudFront's order: viewer function, origin request policy, origin headers, signing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import httpx
import pytest

from oauth_exchange.api_edge import API_ORIGIN_REQUEST_POLICY, OriginRequestPolicy
from oauth_exchange.session_contract import (
    API_FORWARDED_HEADERS,
    CONTENT_SHA256_HEADER,
    CSRF_HEADER_LABEL,
    EDGE_SECRET_HEADER,
    SESSION_COOKIE,
    SITE_ORIGIN_HEADER,
)
from local.edge_proxy import SIGNATURE_HEADER, SIGNATURE_MISMATCH, EdgeProxy
from local.http_server import LoopbackServer
from local.stack import LocalStack

BODY = json.dumps({"provider": "github", "code": "c0de"}).encode()
EDGE_VALUE = "edge-value-from-the-distribution"


class _Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[tuple[dict[str, str], bytes]] = []

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        type(self).seen.append(({k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)))
        answer = b'{"ok":true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST = do_PUT = _record

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[LoopbackServer]:
    _Recorder.seen = []
    server = LoopbackServer(_Recorder)
    server.start("recorder")
    yield server
    server.stop()


def forward(recorder: LoopbackServer, method: str, headers: dict[str, str], body: bytes = b"", **options) -> tuple[int, bytes]:
    proxy = EdgeProxy(recorder.origin + "/", "key-1", 5, origin_headers={EDGE_SECRET_HEADER: EDGE_VALUE}, **options)
    try:
        answer = proxy.forward(method, "/api/session", {"Host": "127.0.0.1:8000", **headers}, body, "http")
    finally:
        proxy.close()
    return answer.status, answer.body


def signed(body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", CONTENT_SHA256_HEADER: hashlib.sha256(body).hexdigest(), CSRF_HEADER_LABEL: "1"}


def without(header: str) -> OriginRequestPolicy:
    return OriginRequestPolicy(
        headers=tuple(h for h in API_ORIGIN_REQUEST_POLICY.headers if h != header), cookies=API_ORIGIN_REQUEST_POLICY.cookies
    )


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_a_body_whose_hash_header_the_policy_drops_is_refused_as_lambda_refuses_unsigned_payloads(recorder, method):
    status, body = forward(recorder, method, signed(BODY), BODY, policy=without(CONTENT_SHA256_HEADER))

    assert status == 403
    assert body == SIGNATURE_MISMATCH
    assert _Recorder.seen == []


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_the_programs_policy_lets_the_body_hash_through_to_the_signer(recorder, method):
    status, body = forward(recorder, method, signed(BODY), BODY)

    assert status == 200
    assert json.loads(body) == {"ok": True}
    ((headers, received),) = _Recorder.seen
    assert headers[CONTENT_SHA256_HEADER] == hashlib.sha256(BODY).hexdigest()
    assert received == BODY
    assert headers[SIGNATURE_HEADER] == "key-1"


def test_the_viewer_functions_site_origin_still_goes_through_the_policy(recorder):
    status, _ = forward(recorder, "GET", {CSRF_HEADER_LABEL: "1"}, policy=without(SITE_ORIGIN_HEADER))

    assert status == 200
    ((headers, _),) = _Recorder.seen
    assert SITE_ORIGIN_HEADER not in headers
    assert headers["x-oauth-exchange"] == "1"


def test_only_the_policys_headers_and_the_session_cookie_pass_and_the_site_origin_is_the_edges(recorder):
    status, _ = forward(
        recorder,
        "GET",
        {
            "Cookie": f"theme=dark; {SESSION_COOKIE}=abc; other=1",
            SITE_ORIGIN_HEADER: "https://evil.example",
            "X-OAuth-Exchange": "1",
            "Sec-Fetch-Site": "same-origin",
            "Authorization": "Bearer stolen",
            "X-Forwarded-For": "10.0.0.1",
            "User-Agent": "test",
        },
    )

    assert status == 200
    ((seen, _),) = _Recorder.seen
    assert seen["cookie"] == f"{SESSION_COOKIE}=abc"
    assert seen[SITE_ORIGIN_HEADER] == "http://127.0.0.1:8000"
    assert seen[SIGNATURE_HEADER] == "key-1"
    assert seen["x-oauth-exchange"] == "1"
    assert seen["sec-fetch-site"] == "same-origin"
    added = {SIGNATURE_HEADER, EDGE_SECRET_HEADER}
    passed = set(seen) - {"host", "content-length", "accept-encoding", "connection", "user-agent", "cookie", *added}
    assert passed <= set(API_FORWARDED_HEADERS)
    assert "authorization" not in seen and "x-forwarded-for" not in seen


@pytest.mark.parametrize("forged", ["guess", EDGE_VALUE + "x", ""])
def test_the_edge_secret_is_the_origins_whatever_the_viewer_sends(recorder, forged):
    status, _ = forward(recorder, "GET", {EDGE_SECRET_HEADER: forged, SITE_ORIGIN_HEADER: "https://evil.example"})

    assert status == 200
    ((headers, _),) = _Recorder.seen
    assert headers[EDGE_SECRET_HEADER] == EDGE_VALUE
    assert headers[SITE_ORIGIN_HEADER] == "http://127.0.0.1:8000"


# -- the whole local stack --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(session=True) as running:
        yield running


def test_a_caller_that_can_sign_but_is_not_the_distribution_is_refused_by_the_function(stack):
    """An account principal allowed lambda:InvokeFunctionUrl passes AWS_IAM, as the emulator's key does here."""
    assert stack.emulator.signing_key is not None
    forged = {
        SIGNATURE_HEADER: stack.emulator.signing_key,
        SITE_ORIGIN_HEADER: "https://attacker.example",
        CSRF_HEADER_LABEL: "1",
        "Sec-Fetch-Site": "same-origin",
    }
    with httpx.Client(timeout=20) as client:
        direct = client.get(stack.function_url + "api/session", headers=forged)
        through_the_edge = client.get(stack.api_url + "/session", headers={CSRF_HEADER_LABEL: "1"})

    assert direct.status_code == 403
    assert direct.json()["error"] == "csrf_rejected"
    assert through_the_edge.status_code == 401
    assert through_the_edge.json()["error"] == "not_signed_in"
