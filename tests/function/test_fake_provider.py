"""The fake provider itself speaks the protocols the function, the SPA and the local stack rely on."""

from __future__ import annotations

import base64
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.function.conftest import REDIRECT_URI, SPA_ORIGIN, pkce_pair


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@pytest.fixture
def gh(fake_provider):
    return fake_provider("github")


@pytest.fixture
def rfc(fake_provider):
    return fake_provider("rfc6749")


def test_consent_page_shows_the_app_and_both_buttons(gh):
    page = httpx.get(gh.urls["authorize"], params={"client_id": gh.client_id, "redirect_uri": REDIRECT_URI, "state": "s1", "scope": "read:user"})

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for text in (gh.app_name, "Authorize", "Deny", "read:user", 'name="state" value="s1"'):
        assert text in page.text


def test_authorize_button_redirects_with_code_and_state(gh):
    _, challenge = pkce_pair()
    answer = httpx.post(
        gh.urls["authorize"],
        data={"client_id": gh.client_id, "redirect_uri": REDIRECT_URI, "state": "s2", "code_challenge": challenge, "code_challenge_method": "S256", "decision": "authorize"},
    )

    assert answer.status_code == 302
    assert answer.headers["location"].startswith(REDIRECT_URI + "?")
    assert query(answer.headers["location"]) == {"code": gh.issued_codes[-1], "state": "s2"}


def test_deny_button_redirects_with_access_denied(gh):
    answer = httpx.post(gh.urls["authorize"], data={"client_id": gh.client_id, "redirect_uri": REDIRECT_URI, "state": "s3", "decision": "deny"})

    params = query(answer.headers["location"])
    assert (params["error"], params["state"]) == ("access_denied", "s3")
    assert params["error_description"]
    assert gh.issued_codes == []


@pytest.mark.parametrize(
    "params",
    [{"client_id": "someone-else", "redirect_uri": REDIRECT_URI}, {"client_id": "fake-client-id", "redirect_uri": "https://evil.example/"}],
)
def test_unknown_client_or_unregistered_redirect_uri_is_an_error_page_not_a_redirect(fake_provider, params):
    provider = fake_provider("github", client_id="fake-client-id")

    page = httpx.get(provider.urls["authorize"], params=params)

    assert page.status_code == 400
    assert "location" not in page.headers


def test_rfc_authorize_needs_response_type_code_and_s256(rfc):
    wrong_type = httpx.get(rfc.urls["authorize"], params={"client_id": rfc.client_id, "redirect_uri": REDIRECT_URI, "response_type": "token", "state": "z"})
    plain = httpx.get(rfc.urls["authorize"], params={"client_id": rfc.client_id, "redirect_uri": REDIRECT_URI, "response_type": "code", "code_challenge": "x" * 43, "code_challenge_method": "plain"})

    assert query(wrong_type.headers["location"]) == {"error": "unsupported_response_type", "state": "z"}
    assert query(plain.headers["location"])["error"] == "invalid_request"


def test_github_token_endpoint_answers_form_without_json_accept_and_json_with_it(gh):
    credentials = {"client_id": gh.client_id, "client_secret": gh.client_secret}

    form = httpx.post(gh.urls["token"], data={**credentials, "code": gh.authorize(REDIRECT_URI)})
    as_json = httpx.post(gh.urls["token"], data={**credentials, "code": "nope"}, headers={"Accept": "application/json"})

    assert form.status_code == 200
    assert form.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert parse_qs(form.text)["access_token"] == [gh.issued_access_tokens[-1]]
    assert as_json.status_code == 200
    assert as_json.json()["error"] == "bad_verification_code"
    assert as_json.json()["error_uri"].startswith("https://docs.github.com/")


def test_github_token_endpoint_accepts_json_bodies(gh):
    answer = httpx.post(
        gh.urls["token"],
        json={"client_id": gh.client_id, "client_secret": gh.client_secret, "code": gh.authorize(REDIRECT_URI)},
        headers={"Accept": "application/json"},
    )

    assert answer.json()["access_token"] == gh.issued_access_tokens[-1]


def test_github_token_endpoint_rejects_wrong_client_credentials_with_http_200(gh):
    answer = httpx.post(gh.urls["token"], data={"client_id": gh.client_id, "client_secret": "wrong", "code": gh.authorize()}, headers={"Accept": "application/json"})

    assert (answer.status_code, answer.json()["error"]) == (200, "incorrect_client_credentials")


def test_rfc_token_endpoint_errors_are_400_and_401(rfc):
    bad_grant = httpx.post(rfc.urls["token"], data={"grant_type": "authorization_code", "code": "x", "client_id": rfc.client_id, "client_secret": rfc.client_secret})
    bad_client = httpx.post(rfc.urls["token"], data={"grant_type": "authorization_code", "code": "x"}, auth=(rfc.client_id, "wrong"))
    both_methods = httpx.post(rfc.urls["token"], data={"grant_type": "authorization_code", "code": "x", "client_secret": rfc.client_secret}, auth=(rfc.client_id, rfc.client_secret))

    assert (bad_grant.status_code, bad_grant.json()["error"]) == (400, "invalid_grant")
    assert (bad_client.status_code, bad_client.json()["error"]) == (401, "invalid_client")
    assert bad_client.headers["www-authenticate"].startswith("Basic")
    assert both_methods.status_code == 401


def test_user_endpoint_returns_a_profile_for_a_live_token_with_cors(gh):
    token = gh.issue_tokens()["access_token"]

    for scheme in ("Bearer", "token"):
        answer = httpx.get(gh.urls["user"], headers={"Authorization": f"{scheme} {token}", "Origin": SPA_ORIGIN})
        assert answer.status_code == 200
        assert answer.json()["login"] == gh.user["login"]
        assert answer.headers["access-control-allow-origin"] == SPA_ORIGIN
    avatar = httpx.get(answer.json()["avatar_url"])
    assert (avatar.status_code, avatar.content[:8]) == (200, b"\x89PNG\r\n\x1a\n")


def test_user_endpoint_rejects_bad_tokens_like_github(gh):
    answer = httpx.get(gh.urls["user"], headers={"Authorization": "Bearer gho_nope"})

    assert (answer.status_code, answer.json()["message"]) == (401, "Bad credentials")


def test_user_endpoint_preflight_allows_authorization_for_allowed_origins_only(gh):
    preflight = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"}

    allowed = httpx.options(gh.urls["user"], headers={**preflight, "Origin": SPA_ORIGIN})
    other = httpx.options(gh.urls["user"], headers={**preflight, "Origin": "https://evil.example"})

    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == SPA_ORIGIN
    assert "Authorization" in allowed.headers["access-control-allow-headers"]
    assert "access-control-allow-origin" not in other.headers


def test_github_revocation_needs_basic_auth_and_forgets_the_token(gh):
    token = gh.issue_tokens()["access_token"]
    url = gh.urls["revoke"].format(client_id=gh.client_id)

    unauthorised = httpx.request("DELETE", url, json={"access_token": token}, auth=(gh.client_id, "wrong"))
    revoked = httpx.request("DELETE", url, json={"access_token": token}, auth=(gh.client_id, gh.client_secret))
    again = httpx.request("DELETE", url, json={"access_token": token}, auth=(gh.client_id, gh.client_secret))
    missing = httpx.request("DELETE", url, json={}, auth=(gh.client_id, gh.client_secret))

    assert [r.status_code for r in (unauthorised, revoked, again, missing)] == [401, 204, 404, 422]
    assert httpx.get(gh.urls["user"], headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_github_authorization_deletion_ends_every_token_of_it_refresh_tokens_too(fake_provider):
    app = fake_provider("github", refresh_tokens=True)
    first, second = app.issue_tokens(), app.issue_tokens()
    url = app.urls["revoke"].format(client_id=app.client_id).removesuffix("/token") + "/grant"

    deleted = httpx.request("DELETE", url, json={"access_token": first["access_token"]}, auth=(app.client_id, app.client_secret))
    again = httpx.request("DELETE", url, json={"access_token": first["access_token"]}, auth=(app.client_id, app.client_secret))

    assert (deleted.status_code, again.status_code) == (204, 404)
    assert again.json() == {"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}
    assert app.active_access_tokens() == []
    assert set(app.revoked_tokens) == {first["access_token"], first["refresh_token"], second["access_token"], second["refresh_token"]}


def test_github_404s_have_githubs_shape(gh):
    answer = httpx.get(gh.base_url + "/no/such/path")

    assert answer.status_code == 404
    assert answer.json()["message"] == "Not Found"
    assert answer.json()["documentation_url"].startswith("https://docs.github.com/")


def test_rfc7009_revocation_answers_200_even_for_unknown_tokens(rfc):
    tokens = rfc.issue_tokens()

    known = httpx.post(rfc.urls["revoke"], data={"token": tokens["refresh_token"]}, auth=(rfc.client_id, rfc.client_secret))
    unknown = httpx.post(rfc.urls["revoke"], data={"token": "nope"}, auth=(rfc.client_id, rfc.client_secret))

    assert (known.status_code, unknown.status_code) == (200, 200)
    assert rfc.revoked_tokens == [tokens["refresh_token"]]


def test_basic_credentials_are_form_decoded_per_rfc6749(fake_provider):
    provider = fake_provider("rfc6749", client_secret="a:b+c%d")
    encoded = base64.b64encode(b"fake-client-id:a%3Ab%2Bc%25d").decode()

    answer = httpx.post(provider.urls["revoke"], data={"token": "x"}, headers={"Authorization": f"Basic {encoded}"})

    assert answer.status_code == 200


def test_idle_keepalive_connections_are_closed_after_the_timeout(fake_provider):
    provider = fake_provider("github", keepalive_timeout=0.05)
    with httpx.Client() as client:
        client.get(provider.urls["avatar"])
        client.get(provider.urls["avatar"])
        assert provider.connections_accepted == 1
        time.sleep(0.2)
        client.get(provider.urls["avatar"])

    assert provider.connections_accepted == 2


def test_stop_returns_promptly_with_open_keepalive_connections(fake_provider):
    provider = fake_provider("github")
    client = httpx.Client()
    client.get(provider.urls["avatar"])

    started = time.monotonic()
    provider.stop()

    assert time.monotonic() - started < 1
    client.close()
