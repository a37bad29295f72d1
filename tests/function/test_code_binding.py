"""What keeps a code to the provider and the browser it was issued for: redirect URIs per provider, PKCE."""

from __future__ import annotations

import secrets

import pytest

from tests.function.conftest import REDIRECT_URI

GITHUB_CALLBACK = "http://localhost:8000/callback/github"
CORP_CALLBACK = "http://localhost:8000/callback/corp"


@pytest.fixture
def two_providers(fake_provider, deploy):
    github = fake_provider("github", redirect_uris=[GITHUB_CALLBACK])
    corp = fake_provider("rfc6749", redirect_uris=[CORP_CALLBACK])
    deploy({"github": github, "corp": corp})
    return github, corp


@pytest.mark.parametrize("verifier", [None, "json-null"], ids=["absent", "null"])
def test_a_missing_verifier_is_invalid_request_before_the_provider_sees_anything(github, invoke, verifier):
    code, _ = github.authorize_pkce(REDIRECT_URI)
    body = {"provider": "github", "code": code, "redirect_uri": REDIRECT_URI}
    if verifier == "json-null":
        body["code_verifier"] = None

    reply = invoke("/token", body)

    assert (reply.status, reply.body) == (
        400,
        {"error": "invalid_request", "error_description": "code_verifier is required (PKCE)."},
    )
    assert github.seen == []


def test_a_leaked_code_alone_is_worthless_at_the_function(github, exchange_code):
    """Someone who read the code (a log, a Referer, a browser extension) but not the verifier gets no token."""
    code, _ = github.authorize_pkce(REDIRECT_URI)

    without_verifier = exchange_code(code, None)
    guessed = exchange_code(code, secrets.token_urlsafe(48))

    assert (without_verifier.status, without_verifier.body["error"]) == (400, "invalid_request")
    assert (guessed.status, guessed.body["error"]) == (400, "invalid_grant")
    assert github.issued_access_tokens == []
    assert len(github.requests_to("/login/oauth/access_token")) == 1, "only the guess reached GitHub"


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://localhost:8000/callback/GitHub",
        "http://localhost:8000/Callback/github",
        "http://LOCALHOST:8000/callback/github",
        "HTTP://localhost:8000/callback/github",
    ],
)
def test_a_redirect_uri_differing_only_in_letter_case_is_refused_before_the_provider_sees_anything(
    fake_provider, deploy, exchange_code, redirect_uri
):
    github = fake_provider("github", redirect_uris=[GITHUB_CALLBACK])
    deploy({"github": github})
    code, verifier = github.authorize_pkce(GITHUB_CALLBACK)

    reply = exchange_code(code, verifier, redirect_uri=redirect_uri)

    assert (reply.status, reply.body["error"]) == (400, "invalid_request")
    assert "redirect_uri" in reply.body["error_description"]
    assert github.seen == []
    assert exchange_code(code, verifier, redirect_uri=GITHUB_CALLBACK).status == 200, "the exact URI still works"


def test_a_code_is_never_sent_to_another_providers_token_endpoint(two_providers, exchange_code):
    """The mix-up attack at the function: GitHub's code posted for corp, with GitHub's or corp's callback URL."""
    github, corp = two_providers
    code, verifier = github.authorize_pkce(GITHUB_CALLBACK)

    with_github_uri = exchange_code(code, verifier, provider="corp", redirect_uri=GITHUB_CALLBACK)

    assert (with_github_uri.status, with_github_uri.body["error"]) == (400, "invalid_request")
    assert corp.seen == [] and github.seen == []
    assert exchange_code(code, verifier, provider="github", redirect_uri=GITHUB_CALLBACK).status == 200
