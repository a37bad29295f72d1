"""CMS popup mode with the real Decap CMS: its "Login with GitHub" popup signs in through the function.

The admin page is Decap's published bundle on an origin of its own (the
local stack's CMS site), configured with the function as ``base_url``; the
fake GitHub shows the consent page in the popup and serves the repository's
API, so Decap reaches its signed-in collection view exactly as against GitHub.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, expect

from cms_page import NO_ANSWER, NO_OPENER
from local.stack import LocalStack

LOGIN = "Login with GitHub"
EVIL_ORIGIN = "http://evil.localhost"


@pytest.fixture(scope="module")
def cms_stack() -> Iterator[LocalStack]:
    with LocalStack(cms=True) as running:
        yield running


@pytest.fixture
def admin(cms_stack: LocalStack, page: Page) -> Page:
    page.goto(cms_stack.cms_site.admin_url)
    expect(page.get_by_role("button", name=LOGIN)).to_be_visible(timeout=30_000)
    return page


def open_popup(admin: Page) -> Page:
    with admin.expect_popup() as opened:
        admin.get_by_role("button", name=LOGIN).click()
    popup = opened.value
    expect(popup.get_by_role("button", name="Authorize")).to_be_visible()
    return popup


def test_decap_signs_in_through_the_function_and_shows_its_collection(cms_stack, admin):
    provider = cms_stack.provider
    issued = len(provider.issued_access_tokens)
    popup = open_popup(admin)
    popup_console: list[str] = []

    def record(message: ConsoleMessage) -> None:
        # Our callback page only: the fake GitHub's consent page (its favicon, say) is not under test.
        if message.location.get("url", "").startswith(cms_stack.function_origin):
            popup_console.append(f"{message.type}: {message.text}")

    popup.on("console", record)

    popup.get_by_role("button", name="Authorize").click()

    popup.wait_for_event("close", timeout=30_000)
    expect(admin.get_by_role("heading", name="Collections")).to_be_visible(timeout=20_000)
    expect(admin.get_by_text("Hello, world")).to_be_visible()
    expect(admin.get_by_text("Signed in through the function")).to_be_visible()
    (token,) = provider.issued_access_tokens[issued:]
    repository_calls = [seen for seen in provider.requests_to("/repos/octocat/website") if seen.method == "GET"]
    assert repository_calls[-1].headers["authorization"] == f"token {token}"
    assert not [line for line in popup_console if "Content Security Policy" in line or line.startswith("error")]


def test_a_denied_consent_shows_decaps_error_with_the_functions_reason(cms_stack, admin):
    issued = len(cms_stack.provider.issued_access_tokens)
    popup = open_popup(admin)

    popup.get_by_role("button", name="Deny").click()

    popup.wait_for_event("close", timeout=30_000)
    expect(admin.get_by_text("The sign-in was not authorized at github.")).to_be_visible()
    expect(admin.get_by_role("button", name=LOGIN)).to_be_visible()
    assert cms_stack.provider.issued_access_tokens[issued:] == []


def test_an_admin_page_with_cross_origin_opener_policy_gets_the_explanation_not_a_hang(cms_stack, context: BrowserContext):
    cms_stack.cms_site.opener_policy = "same-origin"
    try:
        admin = context.new_page()
        admin.goto(cms_stack.cms_site.admin_url)
        with context.expect_page() as opened:
            admin.get_by_role("button", name=LOGIN).click(timeout=30_000)
        popup = opened.value
        popup.get_by_role("button", name="Authorize").click()

        explanation = popup.locator("#no-opener")
        expect(explanation).to_be_visible()
        for paragraph in NO_OPENER:
            expect(explanation).to_contain_text(paragraph)
        expect(popup.locator("#status")).to_have_text("Not signed in.")
        token = cms_stack.provider.issued_access_tokens[-1]
        assert token not in popup.content()
    finally:
        cms_stack.cms_site.opener_policy = None


EVIL_PAGE = """<!doctype html><meta name="referrer" content="no-referrer"><title>Evil</title>
<script>
  window.received = [];
  window.addEventListener("message", (event) => window.received.push(String(event.data)));
  window.openSignIn = (url) => { window.signIn = window.open(url, "auth", "width=600,height=600"); };
  window.answer = (popupOrigin) => window.signIn.postMessage("authorizing:github", popupOrigin);
</script>"""


def test_a_page_that_is_not_the_cms_never_receives_the_token(cms_stack, context: BrowserContext):
    """A hostile page opens the popup itself, hiding its Referer, naming the CMS's site_id."""
    context.route(EVIL_ORIGIN + "/**", lambda route: route.fulfill(body=EVIL_PAGE, content_type="text/html"))
    context.clock.install()
    evil = context.new_page()
    evil.goto(EVIL_ORIGIN + "/")
    auth = f"{cms_stack.function_origin}/auth?provider=github&site_id=127.0.0.1&scope=repo"
    with evil.expect_popup() as opened:
        evil.evaluate("(url) => window.openSignIn(url)", auth)
    popup = opened.value
    popup.get_by_role("button", name="Authorize").click()
    expect(popup.locator("#status")).to_have_text("Handing the sign-in to the CMS…")

    evil.evaluate("(origin) => window.answer(origin)", cms_stack.function_origin)
    context.clock.run_for(20_000)

    expect(popup.locator("#no-answer")).to_be_visible()
    for paragraph in NO_ANSWER:
        expect(popup.locator("#no-answer")).to_contain_text(paragraph)
    expect(popup.locator("#no-answer")).to_contain_text(f"Sign-in started for: {cms_stack.cms_site.origin}")
    assert evil.evaluate("() => window.received") == []
    token = cms_stack.provider.issued_access_tokens[-1]
    assert token not in popup.content()
