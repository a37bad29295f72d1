"""What the SPA guarantees to its users: state, PKCE, where codes and tokens (never) go, CORS."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from playwright.sync_api import expect

# RFC 7636, Appendix B.
RFC7636_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC7636_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def stored_strings(storage: dict[str, str]) -> list[str]:
    """Every string in a storage area, JSON values unpacked."""
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for key, raw in storage.items():
        found.append(key)
        try:
            walk(json.loads(raw))
        except ValueError:
            found.append(raw)
    return found


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    params = {name: values[0] for name, values in parse_qs(parts.query).items()}
    return urlunsplit(parts._replace(query=urlencode({**params, **changes})))


def test_pkce_challenge_matches_rfc7636_appendix_b(flow, page):
    flow.open_site()

    challenge = page.evaluate(
        "async (verifier) => (await import('/oauth.js')).computeChallenge(verifier)", RFC7636_VERIFIER
    )

    assert challenge == RFC7636_CHALLENGE


def test_state_and_verifier_are_fresh_per_attempt_and_gone_after_the_callback(flow, page):
    first = flow.start_sign_in()
    assert first["code_challenge_method"] == "S256"
    assert first["response_type"] == "code"
    assert first["redirect_uri"] == flow.stack.redirect_uri
    page.go_back()
    storage = flow.storage()
    assert storage["localStorage"] == {}
    pending = stored_strings(storage["sessionStorage"])
    assert first["state"] in pending
    verifiers = [s for s in pending if VERIFIER.fullmatch(s) and s256(s) == first["code_challenge"]]
    assert len(verifiers) == 1, "the verifier behind the challenge waits in sessionStorage"

    second = flow.start_sign_in()
    assert second["state"] != first["state"]
    assert second["code_challenge"] != first["code_challenge"]
    # At least 128 bits of base64url.
    assert BASE64URL.fullmatch(second["state"]) and len(second["state"]) >= 22

    flow.authorize()
    flow.wait_signed_in()
    storage = flow.storage()
    assert storage["localStorage"] == {}
    leftovers = stored_strings(storage["sessionStorage"])
    assert second["state"] not in leftovers
    assert not [s for s in leftovers if VERIFIER.fullmatch(s)]


def test_tampered_state_is_rejected_without_calling_the_function(flow, page, stack):
    flow.start_sign_in()
    # The consent page again, but answering with a state this tab never issued.
    page.goto(with_query(page.url, state="forged-" + "A" * 43))
    before = stack.emulator.invocation_count
    function_requests = []
    page.on("request", lambda request: request.url.startswith(stack.function_url) and function_requests.append(request))

    flow.authorize()

    flow.expect_error("state_mismatch", "did not match the sign-in started in this tab")
    assert function_requests == []
    assert stack.emulator.invocation_count == before
    assert flow.storage()["sessionStorage"] == {}, "the attempt is spent even when the state is wrong"


@pytest.mark.parametrize("pending", [True, False], ids=["attempt-pending", "no-attempt"])
def test_a_callback_without_state_is_refused_without_calling_the_function(flow, page, stack, pending):
    """Login CSRF: a link to the callback with the attacker's own code and no state."""
    if pending:
        flow.start_sign_in()
    else:
        flow.open_site()
    code, _ = flow.provider.authorize_pkce(stack.redirect_uri)
    before = stack.emulator.invocation_count

    page.goto(stack.redirect_uri + "?" + urlencode({"code": code}))

    flow.expect_error("state_mismatch", "did not match the sign-in started in this tab")
    assert stack.emulator.invocation_count == before
    assert flow.storage()["sessionStorage"] == {}
    assert "code=" not in page.url


def test_replayed_code_shows_invalid_grant(flow, page, stack):
    flow.start_sign_in()
    page.go_back()
    pending = flow.storage()["sessionStorage"]
    page.go_forward()
    callbacks = []
    page.on("request", lambda r: r.is_navigation_request() and "code=" in r.url and callbacks.append(r.url))
    flow.authorize()
    flow.wait_signed_in()
    (callback,) = callbacks

    # The same code, state and verifier again, as an attacker holding them would send.
    page.evaluate("(items) => Object.entries(items).forEach(([k, v]) => sessionStorage.setItem(k, v))", pending)
    page.goto(callback)

    flow.expect_error("invalid_grant", "expired or was already used")
    assert stack.emulator.invocations[-1].status == 400


def test_the_address_bar_and_history_never_keep_the_code(flow, page, context):
    flow.sign_in()

    assert "code=" not in page.url and "state=" not in page.url
    assert page.url == flow.stack.site_url, "back on the page the sign-in started from"
    history = context.new_cdp_session(page).send("Page.getNavigationHistory")
    urls = [entry["url"] for entry in history["entries"]]
    assert urls[-1] == flow.stack.site_url
    assert not [url for url in urls if "code=" in url]
    # Nor does the code leak through a Referer to the provider's API.
    for request in flow.provider.requests_to("/user"):
        assert "code=" not in request.headers.get("referer", "")


def test_the_access_token_is_never_stored_in_the_browser(flow, page, context):
    token = flow.sign_in()

    storage = flow.storage()
    assert not [s for s in stored_strings(storage["localStorage"]) if token in s]
    assert not [s for s in stored_strings(storage["sessionStorage"]) if token in s]
    assert not [c for c in context.cookies() if token in c["value"]]
    assert token not in page.url
    page.reload()
    expect(page.get_by_role("button", name="Sign in with GitHub")).to_be_visible()
    expect(page.locator("#signed-in")).to_be_hidden()


class _OtherOriginPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>another site</title><p>Not the SPA.</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


READ_FUNCTION_ANSWERS = """async ({url, body}) => {
  const attempts = {
    json: {method: "POST", headers: {"Content-Type": "application/json"}, body},
    simple: {method: "POST", headers: {"Content-Type": "text/plain"}, body},
  };
  const results = {};
  for (const [name, init] of Object.entries(attempts)) {
    try {
      const response = await fetch(url, init);
      results[name] = `read ${response.status} ${await response.text()}`;
    } catch (error) {
      results[name] = `${error.name}: ${error.message}`;
    }
  }
  return results;
}"""


def test_a_page_on_another_origin_cannot_read_the_function_answer(flow, page, stack):
    request = {
        "url": stack.function_url.rstrip("/") + "/token",
        "body": json.dumps(
            {"provider": "github", "code": "0" * 20, "redirect_uri": stack.redirect_uri, "code_verifier": "v" * 43}
        ),
    }
    # Control: from the SPA's own origin the same request's answer is readable.
    flow.open_site()
    own = page.evaluate(READ_FUNCTION_ANSWERS, request)
    assert own["json"].startswith("read 400 ") and "invalid_grant" in own["json"]

    other = ThreadingHTTPServer(("127.0.0.1", 0), _OtherOriginPage)
    serving = threading.Thread(target=other.serve_forever, daemon=True)
    serving.start()
    try:
        page.goto(f"http://127.0.0.1:{other.server_address[1]}/")
        before = stack.emulator.invocation_count
        foreign = page.evaluate(READ_FUNCTION_ANSWERS, request)
    finally:
        other.shutdown()
        other.server_close()
        serving.join()

    assert foreign["json"].startswith("TypeError: "), foreign
    assert foreign["simple"].startswith("TypeError: "), foreign
    # The JSON request's preflight was refused, so only the simple request reached the function.
    assert stack.emulator.invocation_count == before + 1
