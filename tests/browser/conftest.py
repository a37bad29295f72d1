"""Browser end-to-end tests: Debian's Chromium driving the SPA against the local stack.

One LocalStack and one Chromium for the whole session; every test gets a fresh
browser context (its own storage) and page.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from local.stack import LocalStack

CHROMIUM = "/usr/bin/chromium"
# No network on CI machines: without these Chromium keeps dialling Google services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000

# Report CSP violations on the console too, so a test can see every one.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
});
"""


@dataclass
class Console:
    """Everything a page said on its console, and its uncaught errors."""

    messages: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def csp_violations(self) -> list[str]:
        return [m for m in self.messages if "Content Security Policy" in m or m.startswith("CSP violation")]


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    with LocalStack() as running:
        yield running


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    fresh = browser.new_context(viewport={"width": 960, "height": 760}, locale="en-GB", color_scheme="light")
    fresh.set_default_timeout(TIMEOUT_MS)
    fresh.add_init_script(REPORT_CSP_VIOLATIONS)
    yield fresh
    fresh.close()


@pytest.fixture
def console(context: BrowserContext) -> Console:
    return Console()


@pytest.fixture
def page(context: BrowserContext, console: Console) -> Page:
    tab = context.new_page()
    tab.on("console", lambda message: console.messages.append(f"{message.type}: {message.text}"))
    tab.on("pageerror", lambda error: console.page_errors.append(str(error)))
    return tab


def query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


class Flow:
    """The user's steps through the demo, against one stack."""

    def __init__(self, stack: LocalStack, page: Page) -> None:
        self.stack = stack
        self.page = page
        assert stack.provider is not None, "the browser tests need the fake provider"
        self.provider = stack.provider

    def open_site(self) -> None:
        self.page.goto(self.stack.site_url)
        expect(self.page.get_by_role("button", name="Sign in with GitHub")).to_be_enabled()

    def start_sign_in(self) -> dict[str, str]:
        """From the site to the provider's consent page; returns the authorize request's parameters."""
        self.open_site()
        self.page.get_by_role("button", name="Sign in with GitHub").click()
        self.page.wait_for_url(self.provider.urls["authorize"] + "?*")
        return query(self.page.url)

    def authorize(self) -> None:
        self.page.get_by_role("button", name="Authorize").click()

    def deny(self) -> None:
        self.page.get_by_role("button", name="Deny").click()

    def wait_signed_in(self) -> None:
        expect(self.page.locator("#signed-in")).to_be_visible()
        expect(self.page.get_by_role("status")).to_have_text("Signed in as The Octocat.")

    def sign_in(self) -> str:
        """The whole flow; returns the access token the provider issued for it."""
        issued = len(self.provider.issued_access_tokens)
        self.start_sign_in()
        self.authorize()
        self.wait_signed_in()
        new_tokens = self.provider.issued_access_tokens[issued:]
        assert len(new_tokens) == 1
        return new_tokens[0]

    def expect_error(self, code: str, text: str) -> None:
        notice = self.page.get_by_role("alert")
        expect(notice).to_have_attribute("data-code", code)
        expect(notice).to_contain_text(text)
        expect(self.page.get_by_role("button", name="Sign in with GitHub")).to_be_visible()
        expect(self.page.locator("#signed-in")).to_be_hidden()

    def storage(self) -> dict[str, dict[str, str]]:
        """Both web storages of the site origin (the page must be on the site)."""
        return self.page.evaluate(
            """() => Object.fromEntries(["localStorage", "sessionStorage"].map((name) => [
                 name, Object.fromEntries(Object.entries(window[name]))]))"""
        )


@pytest.fixture
def flow(stack: LocalStack, page: Page) -> Flow:
    return Flow(stack, page)
