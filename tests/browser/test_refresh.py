"""Refreshing in the browser, end to end: the SPA, the real function and a fake GitHub App.

The fake GitHub issues access tokens that expire after a few seconds, with
refresh tokens that rotate on every use, and the provider is configured with
``refresh: true``, so oauth.js refreshes through the function URL half way
through each token's lifetime.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest
from playwright.sync_api import Page, Route, expect

from local.fake_provider import SeenRequest
from local.stack import LocalStack

# oauth.js refreshes at half the lifetime of a token this short: 2 s after each token arrives.
ACCESS_TOKEN_TTL = 4
WAIT_SECONDS = 3 * ACCESS_TOKEN_TTL
POLL_MS = 50
TOKEN_PATH = "/login/oauth/access_token"

T = TypeVar("T")

# Counts how often the avatar is hidden: a redraw after a refresh must not flash the initials.
WATCH_AVATAR = """() => {
  const avatar = document.getElementById("avatar");
  window.avatarHidden = 0;
  new MutationObserver(() => { if (avatar.hidden) window.avatarHidden += 1; })
    .observe(avatar, { attributes: true, attributeFilter: ["hidden"] });
}"""


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(refresh_tokens=True, access_token_ttl=ACCESS_TOKEN_TTL) as running:
        yield running


def wait_for(page: Page, what: str, found: Callable[[], list[T]], count: int = 1) -> list[T]:
    """Poll until ``found()`` has ``count`` items, and return them; the page keeps running meanwhile."""
    deadline = time.monotonic() + WAIT_SECONDS
    while len(items := found()) < count:
        if time.monotonic() >= deadline:
            pytest.fail(f"no {what} within {WAIT_SECONDS} s")
        page.wait_for_timeout(POLL_MS)
    return items


def refreshes(seen: list[SeenRequest]) -> list[SeenRequest]:
    return [r for r in seen if r.path == TOKEN_PATH and r.form().get("grant_type") == "refresh_token"]


def user_calls(seen: list[SeenRequest]) -> list[SeenRequest]:
    return [r for r in seen if r.path == "/user" and r.method == "GET"]


def bearer(request: SeenRequest) -> str:
    scheme, _, token = request.headers["authorization"].partition(" ")
    assert scheme == "Bearer"
    return token


def test_the_spa_refreshes_through_the_function_and_uses_the_rotated_tokens(flow, page, context):
    provider = flow.provider
    seen = len(provider.seen)
    issued, issued_refresh = len(provider.issued_access_tokens), len(provider.issued_refresh_tokens)

    flow.start_sign_in()
    flow.authorize()
    flow.wait_signed_in()
    signed_in_token = provider.issued_access_tokens[issued]
    signed_in_refresh_token = provider.issued_refresh_tokens[issued_refresh]
    assert signed_in_token.startswith("ghu_")
    assert bearer(user_calls(provider.seen[seen:])[0]) == signed_in_token
    expect(page.locator("#fact-expiry")).to_contain_text("then refreshed automatically")
    page.evaluate(WATCH_AVATAR)

    # Two refreshes: the first presents the sign-in's refresh token, the second the one the first returned.
    first, second = wait_for(page, "second refresh", lambda: refreshes(provider.seen[seen:]), count=2)[:2]
    rotated = provider.issued_refresh_tokens[issued_refresh + 1]
    assert first.form()["refresh_token"] == signed_in_refresh_token
    assert second.form()["refresh_token"] == rotated != signed_in_refresh_token
    refreshed_token = provider.issued_access_tokens[issued + 1]
    assert refreshed_token != signed_in_token

    # The next user API call carries the refreshed token; the sign-in token is never used again.
    after_first = seen + provider.seen[seen:].index(first)
    calls = wait_for(page, "user API call after the refresh", lambda: user_calls(provider.seen[after_first:]))
    assert bearer(calls[0]) == refreshed_token
    assert signed_in_token not in {bearer(r) for r in user_calls(provider.seen[after_first:])}
    expect(page.get_by_role("heading", name="The Octocat")).to_be_visible()
    expect(page.get_by_role("img", name="The Octocat's avatar")).to_be_visible()
    assert page.evaluate("window.avatarHidden") == 0, "the redrawn card flashed the initials"
    expect(page.get_by_role("status")).to_have_text("Signed in as The Octocat.")
    expect(page.get_by_role("alert")).to_be_hidden()

    tokens = provider.issued_access_tokens[issued:] + provider.issued_refresh_tokens[issued_refresh:]
    stored = flow.storage()
    kept = [*stored["localStorage"].values(), *stored["sessionStorage"].values()]
    kept += [cookie["value"] for cookie in context.cookies()]
    assert not [t for t in tokens if any(t in value for value in kept)]

    page.get_by_role("button", name="Sign out").click()

    expect(page.get_by_role("status")).to_have_text("Signed out. The token was revoked at GitHub.")
    current, current_refresh = provider.issued_access_tokens[-1], provider.issued_refresh_tokens[-1]
    assert current != signed_in_token
    assert current not in provider.active_access_tokens()
    # The refresh token too: sign-out deletes the user's authorization of the app, with every token of it.
    assert {current, current_refresh} <= set(provider.revoked_tokens)
    (revocation,) = [r for r in provider.seen[seen:] if r.method == "DELETE"]
    assert revocation.path.endswith("/grant") and revocation.json() == {"access_token": current}
    expect(page.get_by_role("alert")).to_be_hidden()


def test_a_profile_the_refreshed_token_cannot_read_is_reported_and_the_card_kept(flow, page, stack):
    flow.start_sign_in()
    flow.authorize()
    flow.wait_signed_in()
    # From now on the user API rejects every token, as if the refreshed one were no good.
    page.route(
        flow.provider.urls["user"],
        lambda route: route.fulfill(
            status=401, json={"message": "Bad credentials"}, headers={"Access-Control-Allow-Origin": stack.site_origin}
        ),
    )

    notice = page.get_by_role("alert")
    expect(notice).to_have_attribute("data-code", "userinfo_failed", timeout=WAIT_SECONDS * 1000)
    expect(notice).to_contain_text("Your profile could not be loaded")
    expect(page.get_by_role("heading", name="The Octocat")).to_be_visible()
    expect(page.get_by_role("img", name="The Octocat's avatar")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_enabled()


def test_signing_out_during_a_refresh_revokes_the_token_the_refresh_brings(flow, page, stack):
    provider = flow.provider
    issued = len(provider.issued_access_tokens)
    held: list[Route] = []

    def hold_refreshes(route: Route) -> None:
        if json.loads(route.request.post_data or "{}").get("grant_type") == "refresh_token":
            held.append(route)
        else:
            route.continue_()

    page.route(stack.function_url + "token", hold_refreshes)
    flow.start_sign_in()
    flow.authorize()
    flow.wait_signed_in()
    signed_in_token = provider.issued_access_tokens[issued]
    wait_for(page, "refresh", lambda: held)

    # The refresh is on its way to the function when the user signs out.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("Signing out…")
    held[0].continue_()

    refreshed_token = wait_for(page, "refreshed token", lambda: provider.issued_access_tokens[issued + 1 :])[0]
    expect(page.get_by_role("status")).to_have_text("Signed out. The token was revoked at GitHub.")
    assert refreshed_token != signed_in_token
    assert {refreshed_token, provider.issued_refresh_tokens[-1]} <= set(provider.revoked_tokens)
    assert refreshed_token not in provider.active_access_tokens()
    expect(page.get_by_role("alert")).to_be_hidden()
    expect(page.get_by_role("button", name="Sign in with GitHub")).to_be_visible()
