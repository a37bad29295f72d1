"""The demo's user journeys: sign in, profile, sign out, and what users see when it fails."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import expect

from local.stack import LocalStack
from tests.browser.conftest import Flow

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "signed-in.png"
UPDATE_SCREENSHOTS = os.environ.get("UPDATE_SCREENSHOTS") == "1"


def test_sign_in_shows_the_profile_from_the_provider(flow, page):
    flow.sign_in()

    expect(page.get_by_role("heading", name="The Octocat")).to_be_visible()
    expect(page.locator("#profile-login")).to_have_text("@octocat")
    expect(page.locator("#fact-provider")).to_have_text("GitHub")
    expect(page.locator("#fact-scope")).to_have_text("read:user")
    avatar = page.get_by_role("img", name="The Octocat's avatar")
    expect(avatar).to_be_visible()
    expect(avatar).to_have_attribute("src", flow.provider.urls["avatar"])
    # Loaded, so the CSP's img-src admits the provider's avatar origin.
    assert avatar.evaluate("img => img.complete && img.naturalWidth") > 0
    profile_calls = flow.provider.requests_to("/user")
    assert profile_calls[-1].headers["authorization"].startswith("Bearer ")

    committed = fingerprint(SCREENSHOT)
    save_screenshot(page)
    if not UPDATE_SCREENSHOTS:
        assert fingerprint(SCREENSHOT) == committed, "the committed screenshot is rewritten only with UPDATE_SCREENSHOTS=1"


def fingerprint(path: Path) -> tuple[int, bytes] | None:
    return (path.stat().st_mtime_ns, path.read_bytes()) if path.exists() else None


def save_screenshot(page) -> None:
    """The README's picture of the signed-in demo, taken only when asked (UPDATE_SCREENSHOTS=1)."""
    if UPDATE_SCREENSHOTS:
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), animations="disabled", caret="hide")


def test_sign_out_revokes_the_token_at_the_provider(flow, page):
    token = flow.sign_in()
    assert token in flow.provider.active_access_tokens()

    page.get_by_role("button", name="Sign out").click()

    expect(page.get_by_role("status")).to_have_text("Signed out. The token was revoked at GitHub.")
    assert token in flow.provider.revoked_tokens
    assert token not in flow.provider.active_access_tokens()
    expect(page.get_by_role("button", name="Sign in with GitHub")).to_be_visible()
    expect(page.locator("#signed-in")).to_be_hidden()


def test_consent_denied_shows_a_message_without_calling_the_function(flow, stack):
    before = stack.emulator.invocation_count
    flow.start_sign_in()

    flow.deny()

    flow.expect_error("access_denied", "access was not granted")
    expect(flow.page.get_by_role("heading", name="Sign-in cancelled")).to_be_visible()
    assert stack.emulator.invocation_count == before


def test_function_unreachable_shows_a_message(flow, page, stack):
    flow.start_sign_in()
    # As if the function URL were down: the browser cannot connect.
    page.route(stack.function_url + "**", lambda route: route.abort("connectionrefused"))

    flow.authorize()

    flow.expect_error("network_error", "could not be reached")
    expect(page.get_by_role("heading", name="Sign-in service unreachable")).to_be_visible()


def test_no_csp_violation_during_sign_in_and_sign_out(flow, page, console):
    flow.sign_in()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("Signed out.")

    assert console.csp_violations() == []
    assert console.page_errors == []


def test_a_nested_callback_path_still_loads_the_app_and_signs_in(page):
    """The provider returns to e.g. /auth/callback/, which the site answers with index.html:
    its scripts and styles must still load from the site root."""
    with LocalStack(config={"callbackPath": "/auth/done"}) as nested:
        flow = Flow(nested, page)
        authorize = flow.start_sign_in()
        assert authorize["redirect_uri"] == nested.site_origin + "/auth/done/github"

        flow.authorize()

        flow.wait_signed_in()
        assert urlsplit(page.url).path == "/", "back on the page the sign-in started from"
