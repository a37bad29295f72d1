"""POST /token against fake GitHub and RFC 6749 providers speaking their real protocols."""

from __future__ import annotations

import base64
import json
from urllib.parse import unquote_plus

import pytest

from tests.function.conftest import OTHER_REDIRECT_URI, REDIRECT_URI, SPEC_HEADERS, pkce_pair


def test_github_code_becomes_an_access_token(github, exchange_code):
    reply = exchange_code(*github.authorize_pkce(REDIRECT_URI))

    assert reply.status == 200
    assert reply.headers == SPEC_HEADERS
    assert reply.body == {"access_token": github.issued_access_tokens[-1], "token_type": "bearer", "scope": ""}


def test_the_provider_receives_a_well_formed_client_secret_post_request(github, exchange_code):
    code, verifier = github.authorize_pkce(REDIRECT_URI)
    exchange_code(code, verifier)

    (seen,) = github.requests_to("/login/oauth/access_token")
    assert seen.method == "POST"
    assert seen.headers["accept"] == "application/json"
    assert seen.headers["content-type"] == "application/x-www-form-urlencoded"
    assert seen.headers["user-agent"].startswith("oauth-exchange/")
    assert "authorization" not in seen.headers
    form = seen.form()
    assert form["client_id"] == github.client_id
    assert form["client_secret"] == github.client_secret
    assert form["grant_type"] == "authorization_code"
    assert form["redirect_uri"] == REDIRECT_URI
    assert form["code_verifier"] == verifier


def test_pkce_verifier_is_passed_on_and_checked_by_the_provider(github, exchange_code):
    verifier, challenge = pkce_pair()
    code = github.authorize(REDIRECT_URI, code_challenge=challenge, code_challenge_method="S256")

    reply = exchange_code(code, verifier)

    assert reply.status == 200
    assert github.requests_to("/login/oauth/access_token")[0].form()["code_verifier"] == verifier


def test_wrong_pkce_verifier_becomes_invalid_grant(github, exchange_code):
    _, challenge = pkce_pair()
    other_verifier, _ = pkce_pair()
    code = github.authorize(REDIRECT_URI, code_challenge=challenge, code_challenge_method="S256")

    reply = exchange_code(code, other_verifier)

    assert reply.status == 400
    assert reply.body["error"] == "invalid_grant"


def test_missing_pkce_verifier_for_a_challenged_code_becomes_invalid_grant(github, exchange_code):
    _, challenge = pkce_pair()
    code = github.authorize(REDIRECT_URI, code_challenge=challenge, code_challenge_method="S256")

    assert exchange_code(code).body["error"] == "invalid_grant"


def test_bad_verification_code_becomes_invalid_grant(github, exchange_code):
    reply = exchange_code("0123456789abcdef0123")

    assert reply.status == 400
    assert reply.body == {
        "error": "invalid_grant",
        "error_description": "The authorization code is incorrect, expired or already used.",
    }


def test_a_code_works_only_once(github, exchange_code):
    code, verifier = github.authorize_pkce(REDIRECT_URI)

    assert exchange_code(code, verifier).status == 200
    assert exchange_code(code, verifier).body["error"] == "invalid_grant"


def test_an_expired_code_becomes_invalid_grant(fake_provider, deploy, exchange_code):
    provider = fake_provider("github", code_ttl=0)
    deploy({"github": provider})

    assert exchange_code(*provider.authorize_pkce(REDIRECT_URI)).body["error"] == "invalid_grant"


def test_redirect_uri_mismatch_becomes_invalid_grant(github, exchange_code):
    reply = exchange_code(*github.authorize_pkce(OTHER_REDIRECT_URI))

    assert reply.status == 400
    assert reply.body["error"] == "invalid_grant"
    assert "redirect_uri" in reply.body["error_description"]


def test_provider_may_be_omitted_when_only_one_is_configured(github, exchange_code):
    assert exchange_code(*github.authorize_pkce(REDIRECT_URI), provider=None).status == 200


def test_two_providers_are_told_apart_by_name(fake_provider, deploy, exchange_code):
    gh = fake_provider("github")
    rfc = fake_provider("rfc6749")
    deploy({"github": gh, "corp": rfc})

    assert exchange_code(*rfc.authorize_pkce(REDIRECT_URI), provider="corp").status == 200
    assert exchange_code(*gh.authorize_pkce(REDIRECT_URI), provider="github").status == 200
    assert len(rfc.issued_access_tokens) == len(gh.issued_access_tokens) == 1


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_rfc6749_provider_gets_the_configured_client_authentication(fake_provider, deploy, exchange_code, method):
    provider = fake_provider("rfc6749", token_auth=method, refresh_tokens=False)
    deploy({"corp": provider})

    reply = exchange_code(*provider.authorize_pkce(REDIRECT_URI), provider="corp")

    assert reply.status == 200
    (seen,) = provider.requests_to("/token")
    form = seen.form()
    if method == "client_secret_basic":
        assert "client_secret" not in form and "client_id" not in form
        user, _, password = base64.b64decode(seen.headers["authorization"][6:]).decode().partition(":")
        assert (unquote_plus(user), unquote_plus(password)) == (provider.client_id, provider.client_secret)
    else:
        assert "authorization" not in seen.headers
        assert (form["client_id"], form["client_secret"]) == (provider.client_id, provider.client_secret)


def test_client_secret_basic_form_encodes_id_and_secret(fake_provider, deploy, exchange_code):
    provider = fake_provider("rfc6749", token_auth="client_secret_basic", client_secret="s3:cr%t+/=é " + "x" * 20)
    deploy({"corp": provider})

    assert exchange_code(*provider.authorize_pkce(REDIRECT_URI), provider="corp").status == 200
    encoded = base64.b64decode(provider.requests_to("/token")[0].headers["authorization"][6:]).decode()
    assert ":" not in encoded.split(":", 1)[1]


def test_rfc6749_invalid_grant_becomes_invalid_grant(fake_provider, deploy, exchange_code):
    provider = fake_provider("rfc6749")
    deploy({"corp": provider})

    reply = exchange_code("no-such-code-0123456789", provider="corp")

    assert reply.status == 400
    assert reply.body["error"] == "invalid_grant"


def test_id_token_is_passed_through(fake_provider, deploy, exchange_code):
    provider = fake_provider("rfc6749", refresh_tokens=False)
    deploy({"corp": provider})

    reply = exchange_code(*provider.authorize_pkce(REDIRECT_URI, scope="openid profile"), provider="corp")

    assert reply.status == 200
    assert set(reply.body) == {"access_token", "token_type", "scope", "expires_in", "id_token"}
    claims = reply.body["id_token"].split(".")[1]
    assert json.loads(base64.urlsafe_b64decode(claims + "==="))["aud"] == provider.client_id


def test_refresh_tokens_are_returned_only_when_refresh_is_configured(fake_provider, deploy, exchange_code):
    provider = fake_provider("github", refresh_tokens=True)
    deploy({"github": {**provider.provider_config(), "refresh": False}}, secrets={"github": provider.client_secret})

    reply = exchange_code(*provider.authorize_pkce(REDIRECT_URI))

    assert reply.status == 200
    assert provider.issued_refresh_tokens, "the provider did issue one"
    assert set(reply.body) == {"access_token", "token_type", "scope", "expires_in"}


def test_refresh_grant_is_unsupported_when_refresh_is_off(github, invoke):
    reply = invoke("/token", {"provider": "github", "grant_type": "refresh_token", "refresh_token": "ghr_whatever"})

    assert reply.status == 400
    assert reply.body["error"] == "unsupported_grant_type"
    assert github.seen == []


@pytest.fixture
def expiring_github(fake_provider, deploy):
    """A GitHub app with expiring user tokens, configured with refresh on."""
    provider = fake_provider("github", refresh_tokens=True)
    deploy({"github": provider})
    return provider


def test_expiring_github_tokens_come_with_a_refresh_token(expiring_github, exchange_code):
    reply = exchange_code(*expiring_github.authorize_pkce(REDIRECT_URI))

    assert reply.status == 200
    assert reply.body["refresh_token"] == expiring_github.issued_refresh_tokens[-1]
    assert reply.body["expires_in"] == expiring_github.access_token_ttl
    assert reply.body["refresh_token_expires_in"] == expiring_github.refresh_token_ttl


def test_refresh_grant_rotates_the_refresh_token(expiring_github, exchange_code, invoke):
    first = exchange_code(*expiring_github.authorize_pkce(REDIRECT_URI)).body

    refreshed = invoke("/token", {"provider": "github", "grant_type": "refresh_token", "refresh_token": first["refresh_token"]})

    assert refreshed.status == 200
    assert refreshed.body["access_token"] != first["access_token"]
    assert refreshed.body["refresh_token"] != first["refresh_token"]
    form = expiring_github.requests_to("/login/oauth/access_token")[-1].form()
    assert form["grant_type"] == "refresh_token"
    assert form["refresh_token"] == first["refresh_token"]
    assert form["client_secret"] == expiring_github.client_secret


def test_bad_refresh_token_becomes_invalid_grant(expiring_github, exchange_code, invoke):
    first = exchange_code(*expiring_github.authorize_pkce(REDIRECT_URI)).body
    invoke("/token", {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})

    reused = invoke("/token", {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})

    assert reused.status == 400
    assert reused.body == {"error": "invalid_grant", "error_description": "The refresh token is incorrect or expired."}


def test_rfc6749_refresh_with_rotation(fake_provider, deploy, exchange_code, invoke):
    provider = fake_provider("rfc6749", token_auth="client_secret_basic")
    deploy({"corp": provider})
    first = exchange_code(*provider.authorize_pkce(REDIRECT_URI), provider="corp").body

    refreshed = invoke("/token", {"provider": "corp", "grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    reused = invoke("/token", {"provider": "corp", "grant_type": "refresh_token", "refresh_token": first["refresh_token"]})

    assert refreshed.status == 200
    assert set(refreshed.body) == {"access_token", "token_type", "scope", "expires_in", "refresh_token", "refresh_token_expires_in"}
    assert reused.body["error"] == "invalid_grant"


def test_provider_cookies_are_never_sent_back(github, exchange_code):
    exchange_code(*github.authorize_pkce(REDIRECT_URI))
    exchange_code(*github.authorize_pkce(REDIRECT_URI))

    first, second = github.requests_to("/login/oauth/access_token")
    assert "cookie" not in first.headers and "cookie" not in second.headers


def test_warm_exchanges_reuse_one_connection(github, exchange_code):
    for _ in range(5):
        assert exchange_code(*github.authorize_pkce(REDIRECT_URI)).status == 200

    assert github.connections_accepted == 1
