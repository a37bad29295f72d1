"""Session mode in Chromium: signed in across reloads and tabs, no token within reach of page script, sign-out, CSRF."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from playwright.sync_api import BrowserContext, Page, Response, expect

from oauth_exchange.session_contract import SESSION_COOKIE
from local.http_server import LoopbackServer
from local.stack import LocalStack
from tests.browser.conftest import Flow


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(session=True, refresh_tokens=True) as running:
        yield running


@pytest.fixture
def responses(page: Page) -> list[Response]:
    """Every response the page's scripts could read (and more)."""
    seen: list[Response] = []
    page.on("response", lambda response: seen.append(response))
    return seen


def readable_texts(responses: list[Response]) -> list[str]:
    texts = []
    for response in responses:
        try:
            texts.append(response.text())
        except Exception:  # noqa: BLE001 - redirects and aborted loads have no body
            continue
    return texts


def test_sign_in_shows_the_profile_through_the_proxy_and_says_where_the_token_is(flow, page, stack):
    token = flow.sign_in()

    expect(page.get_by_role("heading", name="The Octocat")).to_be_visible()
    expect(page.locator("#fact-kept")).to_have_text("On the server")
    expect(page.locator("#fact-expiry-label")).to_have_text("Session ends")
    last_profile_call = flow.provider.requests_to("/user")[-1]
    assert last_profile_call.headers["authorization"] == f"Bearer {token}"
    assert last_profile_call.headers["user-agent"].startswith("oauth-exchange/"), "the function, not the browser, called"


def test_no_token_is_within_reach_of_page_script(flow, page, context, responses):
    token = flow.sign_in()
    refresh_token = flow.provider.issued_refresh_tokens[-1]

    assert page.evaluate("document.cookie") == ""
    for text in readable_texts(responses):
        assert token not in text
        assert refresh_token not in text
    for area in flow.storage().values():
        assert not any(token in value or refresh_token in value for value in area.values())
    (cookie,) = [c for c in context.cookies() if c["name"] == SESSION_COOKIE]
    assert cookie["httpOnly"] is True
    assert cookie["secure"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/"
    exported = page.evaluate("async () => typeof (await import('/oauth.js')).createSessionClient")
    assert exported == "function"


def test_a_reload_and_a_second_tab_stay_signed_in(flow, page, context):
    flow.sign_in()
    exchanges = len(flow.provider.requests_to("/login/oauth/access_token"))

    page.reload()
    flow.wait_signed_in()
    second = context.new_page()
    second.goto(flow.stack.site_url)
    expect(second.locator("#signed-in")).to_be_visible()
    expect(second.get_by_role("status")).to_have_text("Signed in as The Octocat.")

    assert len(flow.provider.requests_to("/login/oauth/access_token")) == exchanges, "no new sign-in was needed"


def test_sign_out_revokes_both_tokens_and_ends_the_session_in_every_tab(flow, page, context):
    token = flow.sign_in()
    refresh_token = flow.provider.issued_refresh_tokens[-1]
    second = context.new_page()
    second.goto(flow.stack.site_url)
    expect(second.locator("#signed-in")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()

    expect(page.get_by_role("status")).to_have_text("Signed out. The token was revoked at GitHub.")
    assert token in flow.provider.revoked_tokens
    assert refresh_token in flow.provider.revoked_tokens
    assert [c for c in context.cookies() if c["name"] == SESSION_COOKIE] == []
    second.reload()
    expect(second.get_by_role("button", name="Sign in with GitHub")).to_be_visible()
    expect(second.locator("#signed-in")).to_be_hidden()


def test_no_csp_violation_in_session_mode(flow, page, console):
    flow.sign_in()
    page.reload()
    flow.wait_signed_in()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("Signed out.")

    assert console.csp_violations() == []
    assert console.page_errors == []


# -- another origin ---------------------------------------------------------------------

ATTACKS = """async (site) => {
  const outcomes = {};
  try {
    await fetch(site + "/api/session", {credentials: "include", headers: {"X-OAuth-Exchange": "1"}});
    outcomes.readWithHeader = "read";
  } catch (error) { outcomes.readWithHeader = "blocked"; }
  try {
    const answer = await fetch(site + "/api/proxy/github/user", {credentials: "include", mode: "no-cors"});
    outcomes.noCors = answer.type;
  } catch (error) { outcomes.noCors = "blocked"; }
  try {
    await fetch(site + "/api/session", {method: "DELETE", credentials: "include", headers: {"X-OAuth-Exchange": "1"}});
    outcomes.signOut = "sent";
  } catch (error) { outcomes.signOut = "blocked"; }
  try {
    await fetch(site + "/api/session", {method: "POST", credentials: "include", mode: "no-cors",
                                        headers: {"Content-Type": "text/plain"}, body: "{}"});
    outcomes.simplePost = "sent";
  } catch (error) { outcomes.simplePost = "blocked"; }
  return outcomes;
}"""


class _AttackerPage(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = b"<!doctype html><title>not the site</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def attacker() -> Iterator[LoopbackServer]:
    """Another origin on the same host: same-site for cookies, which is the harder case for CSRF."""
    server = LoopbackServer(_AttackerPage)
    server.start("attacker")
    yield server
    server.stop()


def test_a_page_on_another_origin_cannot_use_the_session(flow, page, context, attacker):
    flow.sign_in()
    profile_calls = len(flow.provider.requests_to("/user"))
    revoked = len(flow.provider.revoked_tokens)
    evil = context.new_page()
    evil.goto(attacker.origin + "/")

    outcomes = evil.evaluate(ATTACKS, flow.stack.site_origin)

    assert outcomes["readWithHeader"] == "blocked"  # its preflight gets no CORS answer
    assert outcomes["signOut"] == "blocked"
    assert outcomes["noCors"] == "opaque"  # sent, but refused by the function (no CSRF header)
    assert len(flow.provider.requests_to("/user")) == profile_calls, "no proxied call was made for the other page"
    assert outcomes["simplePost"] == "sent"  # sent too, and refused the same way
    assert len(flow.provider.revoked_tokens) == revoked, "nothing was signed out"
    page.reload()
    flow.wait_signed_in()


def test_the_spa_sends_the_bodys_sha256_that_oac_needs(flow, page):
    hashes: list[str] = []
    lock = threading.Lock()

    def remember(request) -> None:
        if "/api/" in request.url and request.method == "POST":
            with lock:
                hashes.append(request.headers.get("x-amz-content-sha256", ""))

    page.on("request", remember)
    flow.sign_in()

    assert len(hashes) == 1
    assert len(hashes[0]) == 64


def test_a_body_sent_through_the_proxy_passes_the_edges_hash_check(flow, page):
    flow.sign_in()

    answer = page.evaluate(
        """async () => {
          const { createClient } = await import('/oauth.js');
          const client = createClient((await import('/config.js')).default);
          await client.getSession();
          const response = await client.fetch('/user', {method: 'PATCH', body: JSON.stringify({bio: 'héllo'}),
                                                        headers: {'Content-Type': 'application/json'}});
          return {status: response.status, body: await response.json()};
        }"""
    )

    # Past the edge (the SHA-256 matched the UTF-8 body), refused by the allow-list: only GET /user is allowed.
    assert answer == {
        "status": 403,
        "body": {"error": "path_not_allowed", "error_description": "This site does not allow that method and path at the provider's API."},
    }
