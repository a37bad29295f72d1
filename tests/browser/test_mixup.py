"""The mix-up attack (RFC 9700 §4.4) end to end, and the callback checks that stop it.

The stack has three providers: the fake GitHub, a hostile one, and "Acme",
an honest RFC 6749 provider that identifies itself with ``iss`` (RFC 9207)
and is configured with ``requireIss``. The hostile provider forwards the
user to GitHub with the SPA's own state and PKCE challenge; GitHub's code
comes back to the SPA, which must not send it (or the verifier) anywhere but
to GitHub's side of the function.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from oauth_exchange.origins import allowed_origins, redirect_uris
from local.fake_provider import FakeProvider
from local.stack import FAKE_CLIENT_ID, ExtraProvider, LocalStack
from tests.browser.conftest import Flow, query
from tests.browser.hostile_provider import HostileProvider, Victim

PENDING_KEY = "oauth-exchange:pending-sign-in"
TITLES = {"issuer_mismatch": "Sign-in answer from the wrong issuer", "issuer_missing": "Sign-in answer without its issuer"}


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileProvider]:
    provider = HostileProvider()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def acme_provider() -> Iterator[FakeProvider]:
    with FakeProvider("rfc6749", client_id="acme-client", client_secret="acme-" + secrets.token_hex(8)) as provider:
        provider.issuer = provider.base_url
        yield provider


@pytest.fixture
def acme(acme_provider: FakeProvider) -> Iterator[FakeProvider]:
    """Acme, sending its own issuer unless a test makes it lie."""
    yield acme_provider
    acme_provider.issuer = acme_provider.base_url


@pytest.fixture(scope="module")
def stack(hostile: HostileProvider, acme_provider: FakeProvider) -> Iterator[LocalStack]:
    urls = acme_provider.urls
    acme_entry = ExtraProvider(
        entry={
            "clientId": acme_provider.client_id,
            "label": "Acme",
            "authorizeUrl": urls["authorize"],
            "tokenUrl": urls["token"],
            "revokeUrl": urls["revoke"],
            "userInfoUrl": urls["user"],
            "imageOrigins": [acme_provider.base_url],
            "issuer": acme_provider.base_url,
            "requireIss": True,
        },
        client_secret=acme_provider.client_secret,
    )
    evil = ExtraProvider(
        entry={
            "clientId": "evil-client",
            "label": "Evil",
            "authorizeUrl": hostile.urls["authorize"],
            "tokenUrl": hostile.urls["token"],
        },
        client_secret="evil-" + secrets.token_hex(8),
    )
    with LocalStack(extra_providers={"evil": evil, "acme": acme_entry}) as running:
        assert running.provider is not None
        acme_provider.redirect_uris = redirect_uris(running.settings, running.site_origin, running.settings.provider("acme"))
        acme_provider.allowed_origins = allowed_origins(running.settings, running.site_origin)
        hostile.attack(
            Victim(
                authorize_url=running.provider.urls["authorize"],
                client_id=FAKE_CLIENT_ID,
                redirect_uri=running.redirect_uri,
                provider="github",
                function_url=running.function_url,
                site_origin=running.site_origin,
            )
        )
        yield running


def test_a_hostile_provider_never_receives_the_code_or_verifier_github_issued(flow, page, stack, hostile):
    github = flow.provider
    codes_before, tokens_before = len(github.issued_codes), len(github.issued_access_tokens)
    flow.open_site()
    page.get_by_role("button", name="Sign in with Evil").click()
    # The hostile provider sent the browser on to GitHub, for the SPA's GitHub app, with the SPA's parameters.
    page.wait_for_url(github.urls["authorize"] + "?*")
    forwarded = query(page.url)
    page.go_back()
    attempt = json.loads(flow.storage()["sessionStorage"][PENDING_KEY])
    assert attempt["provider"] == "evil"
    assert forwarded["state"] == attempt["state"]
    assert forwarded["code_challenge"] == s256(attempt["verifier"])
    assert forwarded["redirect_uri"] == stack.redirect_uri
    page.go_forward()
    invocations = stack.emulator.invocation_count

    flow.authorize()

    # Settled either way: refused at once, or (a vulnerable SPA) after the round trips through the hostile provider.
    expect(page.get_by_role("alert")).to_be_visible(timeout=20_000)
    (code,) = github.issued_codes[codes_before:]
    assert not hostile.received(code), "GitHub's code reached the hostile provider"
    assert not hostile.received(attempt["verifier"]), "the PKCE verifier reached the hostile provider"
    assert hostile.stolen == [], "the hostile provider redeemed GitHub's code at the function"
    assert github.issued_access_tokens[tokens_before:] == []
    assert stack.emulator.invocation_count == invocations, "the SPA must not call the function for this callback"
    flow.expect_error("wrong_callback", "came back to the address of another provider")
    expect(page.get_by_role("heading", name="Sign-in answer from the wrong provider")).to_be_visible()
    assert flow.storage()["sessionStorage"] == {}, "the attempt is spent"
    assert page.url == stack.site_url, "back where the sign-in started, without GitHub's answer"


def sign_in_with_acme(flow: Flow, acme: FakeProvider) -> list[str]:
    """From the site to Acme's consent page and back; the callback URLs the browser was sent to."""
    page = flow.page
    callbacks: list[str] = []
    page.on("request", lambda r: r.is_navigation_request() and "/callback/" in r.url and callbacks.append(r.url))
    flow.open_site()
    page.get_by_role("button", name="Sign in with Acme").click()
    page.wait_for_url(acme.urls["authorize"] + "?*")
    flow.authorize()
    expect(page.get_by_role("status")).not_to_have_text("Completing sign-in…")
    return callbacks


def test_a_provider_that_sends_its_issuer_signs_in(flow, page, acme):
    callbacks = sign_in_with_acme(flow, acme)

    flow.wait_signed_in()
    expect(page.locator("#fact-provider")).to_have_text("Acme")
    (callback,) = callbacks
    assert query(callback)["iss"] == acme.base_url
    assert page.url == flow.stack.site_url


@pytest.mark.parametrize(
    ("sent", "code", "text"),
    [
        ("https://impostor.example", "issuer_mismatch", "names another issuer"),
        (None, "issuer_missing", "does not say which provider issued it"),
    ],
    ids=["other-issuer", "no-issuer"],
)
def test_a_callback_whose_iss_is_not_the_providers_is_refused_without_calling_the_function(
    flow, page, stack, acme, sent, code, text
):
    acme.issuer = sent
    tokens, invocations = len(acme.issued_access_tokens), stack.emulator.invocation_count

    callbacks = sign_in_with_acme(flow, acme)

    assert ("iss" in query(callbacks[0])) == (sent is not None)
    expect(page.get_by_role("alert")).to_have_attribute("data-code", code)
    expect(page.get_by_role("alert")).to_contain_text(text)
    expect(page.get_by_role("heading", name=TITLES[code])).to_be_visible()
    expect(page.locator("#signed-in")).to_be_hidden()
    assert stack.emulator.invocation_count == invocations
    assert acme.issued_access_tokens[tokens:] == []
    assert "code=" not in page.url


def test_an_error_answer_is_checked_for_its_issuer_too(flow, page, acme):
    acme.issuer = "https://impostor.example"
    flow.open_site()
    page.get_by_role("button", name="Sign in with Acme").click()
    page.wait_for_url(acme.urls["authorize"] + "?*")

    flow.deny()

    expect(page.get_by_role("alert")).to_have_attribute("data-code", "issuer_mismatch")


def test_a_github_callback_naming_another_providers_issuer_is_refused(flow, page, stack, acme):
    github = flow.provider
    github.issuer = acme.base_url
    invocations = stack.emulator.invocation_count
    try:
        flow.start_sign_in()
        flow.authorize()
        flow.expect_error("issuer_mismatch", "names another issuer")
    finally:
        github.issuer = None
    assert stack.emulator.invocation_count == invocations


@pytest.mark.parametrize("name", ["github", "evil", "acme"])
def test_the_app_loads_on_every_callback_path(page: Page, stack, console, name):
    page.goto(stack.site_origin + stack.settings.callback_path + "/" + name)

    for label in ("GitHub", "Evil", "Acme"):
        expect(page.get_by_role("button", name=f"Sign in with {label}")).to_be_enabled()
    expect(page.get_by_role("status")).to_have_text("Not signed in.")
    assert console.page_errors == []
    assert console.csp_violations() == []
