"""The mix-up attack (RFC 9700 §4.4) end to end, and the callback checks that stop it.

The stack has two providers: the fake GitHub and a hostile one. The hostile
provider forwards the user to GitHub with the SPA's own state and PKCE
challenge; GitHub's code comes back to the SPA, which must not send it (or
the verifier) anywhere but to GitHub's side of the function.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from local.stack import FAKE_CLIENT_ID, ExtraProvider, LocalStack
from tests.browser.conftest import query
from tests.browser.hostile_provider import HostileProvider, Victim

PENDING_KEY = "oauth-exchange:pending-sign-in"


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileProvider]:
    provider = HostileProvider()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def stack(hostile: HostileProvider) -> Iterator[LocalStack]:
    evil = ExtraProvider(
        entry={
            "clientId": "evil-client",
            "label": "Evil",
            "authorizeUrl": hostile.urls["authorize"],
            "tokenUrl": hostile.urls["token"],
        },
        client_secret="evil-" + secrets.token_hex(8),
    )
    with LocalStack(extra_providers={"evil": evil}) as running:
        assert running.provider is not None
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

    expect(page.get_by_role("alert")).to_be_visible()
    (code,) = github.issued_codes[codes_before:]
    assert not hostile.received(code), "GitHub's code reached the hostile provider"
    assert not hostile.received(attempt["verifier"]), "the PKCE verifier reached the hostile provider"
    assert hostile.stolen == [], "the hostile provider redeemed GitHub's code at the function"
    assert github.issued_access_tokens[tokens_before:] == []
    assert stack.emulator.invocation_count == invocations, "the SPA must not call the function for this callback"
    flow.expect_error("wrong_callback", "came back to the address of another provider")
    assert flow.storage()["sessionStorage"] == {}, "the attempt is spent"
