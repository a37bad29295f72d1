"""Session mode's edge secret: a caller that is not the distribution cannot name the site origin.

An ``AWS_IAM`` function URL also admits any principal of the account allowed
``lambda:InvokeFunctionUrl``; before the edge secret, such a caller could sign
users in (or read their sessions) on any site origin it cared to write.
"""

from __future__ import annotations

import secrets

import pytest

from tests.function.conftest import SESSION_REDIRECT_URI, SessionBrowser, session_settings

EDGE_HEADER = "x-oauth-exchange-edge"
CURRENT = secrets.token_urlsafe(48)
PREVIOUS = secrets.token_urlsafe(48)


@pytest.fixture
def github(fake_provider, deploy, sensitive, session_table):
    """Deployed as the program deploys session mode: the edge header named, both values in the document."""
    provider = fake_provider("github", redirect_uris=[SESSION_REDIRECT_URI])
    sensitive.add(CURRENT, PREVIOUS)
    deploy(
        {"github": provider},
        secrets={"github": provider.client_secret, "_edge_secrets": f"{CURRENT} {PREVIOUS}"},
        session=session_settings({"github": provider}, edge_header=EDGE_HEADER),
    )
    return provider


def assert_refused(reply, provider) -> None:
    assert reply.status == 403, reply.body
    assert reply.body["error"] == "csrf_rejected"
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.cookies == []
    assert provider.requests_to("/login/oauth/access_token") == []


def test_a_direct_call_with_a_forged_site_origin_and_no_edge_secret_signs_no_one_in(github, browser):
    reply = browser.sign_in(github, site_origin="https://attacker.example")

    assert_refused(reply, github)


@pytest.mark.parametrize(
    "sent",
    [
        "",
        CURRENT[:-1],
        CURRENT + "x",
        CURRENT.swapcase(),
        f"{CURRENT} {PREVIOUS}",
        " " + CURRENT,
        PREVIOUS[: len(PREVIOUS) // 2],
    ],
    ids=["empty", "one-short", "one-long", "other-case", "the-whole-entry", "leading-space", "half"],
)
def test_a_near_miss_edge_secret_is_refused(github, browser, sent):
    reply = browser.sign_in(github, headers={EDGE_HEADER: sent})

    assert_refused(reply, github)


@pytest.mark.parametrize("value", [CURRENT, PREVIOUS], ids=["current", "previous"])
def test_the_distribution_signs_in_with_the_current_or_the_previous_secret(github, browser, value):
    reply = browser.sign_in(github, headers={EDGE_HEADER: value})

    assert reply.status == 200, reply.body
    assert reply.body["user"]["login"] == "octocat"
    assert browser.request("GET", "/api/session", headers={EDGE_HEADER: value}).status == 200


def test_a_signed_in_session_cannot_be_read_without_the_edge_secret(github, browser):
    assert browser.sign_in(github, headers={EDGE_HEADER: CURRENT}).status == 200

    reply = browser.request("GET", "/api/session")

    assert reply.status == 403
    assert reply.body["error"] == "csrf_rejected"
    assert "user" not in reply.body


def test_a_rotated_secret_is_picked_up_from_the_store_without_waiting_for_the_cache(github, browser, secret_store, sensitive):
    assert browser.sign_in(github, headers={EDGE_HEADER: CURRENT}).status == 200
    rotated = secrets.token_urlsafe(48)
    sensitive.add(rotated)
    secret_store.put({"github": github.client_secret, "_edge_secrets": f"{rotated} {CURRENT}"})

    assert browser.request("GET", "/api/session", headers={EDGE_HEADER: rotated}).status == 200
    assert browser.request("GET", "/api/session", headers={EDGE_HEADER: CURRENT}).status == 200
    refused = browser.request("GET", "/api/session", headers={EDGE_HEADER: PREVIOUS})
    assert refused.status == 403


def test_a_document_without_edge_secrets_fails_closed(fake_provider, deploy, browser, session_table):
    provider = fake_provider("github", redirect_uris=[SESSION_REDIRECT_URI])
    deploy(
        {"github": provider},
        secrets={"github": provider.client_secret},
        session=session_settings({"github": provider}, edge_header=EDGE_HEADER),
    )

    reply = browser.sign_in(provider, headers={EDGE_HEADER: CURRENT})

    assert reply.status == 503
    assert reply.body["error"] == "secret_unavailable"
    assert provider.requests_to("/login/oauth/access_token") == []


def test_browser_without_a_site_origin_header_still_needs_the_secret_first(github, invoke, sensitive):
    reply = SessionBrowser(invoke, sensitive).request("GET", "/api/session", site_origin=None)

    assert reply.status == 403
    assert reply.body["error"] == "csrf_rejected"
