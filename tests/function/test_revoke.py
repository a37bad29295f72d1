"""POST /revoke: GitHub's DELETE /applications/{client_id}/token and RFC 7009."""

from __future__ import annotations

import base64
import json

import pytest

from tests.function import fault_servers


def issue_token(provider) -> str:
    return provider.issue_tokens()["access_token"]


def test_github_token_is_revoked(github, invoke):
    token = issue_token(github)

    reply = invoke("/revoke", {"provider": "github", "token": token})

    assert (reply.status, reply.body) == (200, {"revoked": True})
    assert github.revoked_tokens == [token]
    assert token not in github.active_access_tokens()


def test_github_revocation_request_is_what_the_github_api_expects(github, invoke):
    token = issue_token(github)
    invoke("/revoke", {"provider": "github", "token": token})

    (seen,) = [r for r in github.seen if r.method == "DELETE"]
    assert seen.path == f"/applications/{github.client_id}/token"
    assert seen.headers["accept"] == "application/vnd.github+json"
    assert seen.headers["x-github-api-version"] == "2022-11-28"
    assert seen.headers["content-type"] == "application/json"
    assert seen.json() == {"access_token": token}
    scheme, _, credentials = seen.headers["authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(credentials).decode() == f"{github.client_id}:{github.client_secret}"


def test_revoking_an_unknown_or_already_revoked_github_token_still_says_revoked(github, invoke):
    token = issue_token(github)
    first = invoke("/revoke", {"provider": "github", "token": token})

    again = invoke("/revoke", {"provider": "github", "token": token})

    assert first.body == again.body == {"revoked": True}
    assert [r.method for r in github.seen] == ["DELETE", "DELETE"]


def test_github_revocation_with_wrong_credentials_is_server_misconfigured(fake_provider, deploy, invoke):
    provider = fake_provider("github")
    deploy({"github": provider}, secrets={"github": "not-the-right-secret"})

    reply = invoke("/revoke", {"provider": "github", "token": issue_token(provider)})

    assert (reply.status, reply.body["error"]) == (502, "server_misconfigured")
    assert provider.revoked_tokens == []


@pytest.mark.parametrize("token_auth", ["client_secret_basic", "client_secret_post"])
def test_rfc7009_token_is_revoked_with_the_configured_client_authentication(fake_provider, deploy, invoke, token_auth):
    provider = fake_provider("rfc6749", token_auth=token_auth)
    deploy({"corp": provider})
    token = issue_token(provider)

    reply = invoke("/revoke", {"provider": "corp", "token": token})

    assert (reply.status, reply.body) == (200, {"revoked": True})
    assert provider.revoked_tokens == [token]
    (seen,) = provider.requests_to("/revoke")
    form = seen.form()
    assert (form["token"], form["token_type_hint"]) == (token, "access_token")
    assert ("authorization" in seen.headers) == (token_auth == "client_secret_basic")
    assert ("client_secret" in form) == (token_auth == "client_secret_post")


def test_rfc7009_unknown_token_is_revoked_too(fake_provider, deploy, invoke):
    provider = fake_provider("rfc6749")
    deploy({"corp": provider})

    reply = invoke("/revoke", {"provider": "corp", "token": "at_unknown_token_000000"})

    assert (reply.status, reply.body) == (200, {"revoked": True})


def test_rfc7009_invalid_client_is_server_misconfigured(fake_provider, deploy, invoke):
    provider = fake_provider("rfc6749")
    deploy({"corp": provider}, secrets={"corp": "wrong-secret-for-corp"})

    reply = invoke("/revoke", {"provider": "corp", "token": "at_whatever_00000000"})

    assert (reply.status, reply.body["error"]) == (502, "server_misconfigured")


def test_provider_without_revocation_endpoint_is_unsupported_operation(fake_provider, deploy, invoke):
    provider = fake_provider("github")
    deploy({"github": {**provider.provider_config(), "revoke_url": None}}, secrets={"github": provider.client_secret})

    reply = invoke("/revoke", {"provider": "github", "token": "gho_whatever"})

    assert (reply.status, reply.body["error"]) == (400, "unsupported_operation")
    assert provider.seen == []


@pytest.mark.parametrize("token", [None, "", 17, "t" * 4097])
def test_malformed_token_is_invalid_request(github, invoke, token):
    body = {"provider": "github"} if token is None else {"provider": "github", "token": token}

    reply = invoke("/revoke", body)

    assert (reply.status, reply.body["error"]) == (400, "invalid_request")
    assert "token" in reply.body["error_description"]
    assert github.seen == []


@pytest.mark.parametrize(
    ("style", "status", "body", "expected"),
    [
        ("github", 500, b"", (502, "provider_error")),
        ("github", 403, json.dumps({"message": "API rate limit exceeded"}).encode(), (502, "provider_error")),
        ("github", 422, json.dumps({"message": "Validation Failed"}).encode(), (502, "provider_error")),
        ("rfc7009", 503, json.dumps({"error": "temporarily_unavailable"}).encode(), (502, "provider_error")),
        ("rfc7009", 400, json.dumps({"error": "unsupported_token_type"}).encode(), (400, "unsupported_operation")),
        ("rfc7009", 400, json.dumps({"error": "invalid_request"}).encode(), (400, "invalid_request")),
    ],
)
def test_revocation_failures_map_to_the_spec_table(deploy, invoke, style, status, body, expected):
    with fault_servers.running(fault_servers.answer(status, body)) as server:
        entry = {"client_id": "cid", "token_url": server.url, "revoke_url": server.url, "revoke_style": style}
        deploy({"p": entry}, secrets={"p": "revocation-fault-secret"})

        reply = invoke("/revoke", {"token": "some-token-000000000"})

    assert (reply.status, reply.body["error"]) == expected


# -- refresh tokens: sign-out leaves nothing usable behind ----------------------------


@pytest.fixture
def github_app(fake_provider, deploy):
    """A GitHub App with expiring user tokens: refresh tokens, deployed with refresh on."""
    provider = fake_provider("github", refresh_tokens=True)
    deploy({"github": provider})
    return provider


def refresh_still_works(invoke, provider_name: str, refresh_token: str) -> bool:
    reply = invoke("/token", {"provider": provider_name, "grant_type": "refresh_token", "refresh_token": refresh_token})
    return reply.status == 200


def test_github_sign_out_with_a_refresh_token_deletes_the_authorization(github_app, invoke):
    tokens = github_app.issue_tokens()

    reply = invoke("/revoke", {"provider": "github", "token": tokens["access_token"], "refresh_token": tokens["refresh_token"]})

    assert (reply.status, reply.body) == (200, {"revoked": True})
    (seen,) = [r for r in github_app.seen if r.method == "DELETE"]
    assert seen.path == f"/applications/{github_app.client_id}/grant"
    assert seen.json() == {"access_token": tokens["access_token"]}
    assert github_app.active_access_tokens() == []
    assert not refresh_still_works(invoke, "github", tokens["refresh_token"])


def test_github_sign_out_with_an_expired_access_token_still_ends_its_refresh_token(github_app, invoke):
    tokens = github_app.issue_tokens()
    github_app.revoke_token(tokens["access_token"])  # expired or revoked meanwhile: it no longer names the authorization

    reply = invoke("/revoke", {"provider": "github", "token": tokens["access_token"], "refresh_token": tokens["refresh_token"]})

    assert (reply.status, reply.body) == (200, {"revoked": True})
    steps = [(r.method, r.path.rsplit("/", 1)[-1]) for r in github_app.seen]
    assert steps == [("DELETE", "grant"), ("POST", "access_token"), ("DELETE", "grant")]
    assert github_app.active_access_tokens() == []
    assert not refresh_still_works(invoke, "github", tokens["refresh_token"])
    assert not refresh_still_works(invoke, "github", github_app.issued_refresh_tokens[-1]), "nor the one it was traded for"


def test_github_sign_out_when_both_tokens_are_already_dead_says_revoked(github_app, invoke):
    tokens = github_app.issue_tokens()
    github_app.revoke_token(tokens["access_token"])
    github_app.revoke_token(tokens["refresh_token"])

    reply = invoke("/revoke", {"provider": "github", "token": tokens["access_token"], "refresh_token": tokens["refresh_token"]})

    assert (reply.status, reply.body) == (200, {"revoked": True})


@pytest.mark.parametrize("token_auth", ["client_secret_basic", "client_secret_post"])
def test_rfc7009_sign_out_revokes_the_refresh_token_then_the_access_token(fake_provider, deploy, invoke, token_auth):
    provider = fake_provider("rfc6749", token_auth=token_auth)
    deploy({"corp": provider})
    tokens = provider.issue_tokens()

    reply = invoke("/revoke", {"provider": "corp", "token": tokens["access_token"], "refresh_token": tokens["refresh_token"]})

    assert (reply.status, reply.body) == (200, {"revoked": True})
    hints = [(r.form()["token"], r.form()["token_type_hint"]) for r in provider.requests_to("/revoke")]
    assert hints == [(tokens["refresh_token"], "refresh_token"), (tokens["access_token"], "access_token")]
    assert provider.revoked_tokens == [tokens["refresh_token"], tokens["access_token"]]
    assert not refresh_still_works(invoke, "corp", tokens["refresh_token"])


def test_a_refresh_token_for_a_provider_without_refresh_is_invalid_request(github, invoke):
    reply = invoke("/revoke", {"provider": "github", "token": issue_token(github), "refresh_token": "ghr_" + "R" * 36})

    assert (reply.status, reply.body["error"]) == (400, "invalid_request")
    assert "refresh" in reply.body["error_description"]
    assert github.seen == []


@pytest.mark.parametrize("refresh_token", ["", 17, ["ghr_x"], "r" * 4097])
def test_malformed_refresh_token_in_revoke_is_invalid_request(github_app, invoke, refresh_token):
    reply = invoke("/revoke", {"provider": "github", "token": "ghu_" + "A" * 36, "refresh_token": refresh_token})

    assert (reply.status, reply.body["error"]) == (400, "invalid_request")
    assert "refresh_token" in reply.body["error_description"]
    assert github_app.seen == []


# -- a GitHub 404 is "revoked" only when it is GitHub's own ---------------------------------

GITHUB_404 = json.dumps(
    {"message": "Not Found", "documentation_url": "https://docs.github.com/rest/apps/oauth-applications#delete-an-app-token", "status": "404"}
).encode()


NOT_GITHUBS_404 = [
    (b"<html><body><h1>404 Not Found</h1></body></html>", "text/html"),
    (b"", "text/plain"),
    (json.dumps({"message": "Not Found"}).encode(), "application/json"),
    (json.dumps({"message": "Not Found", "documentation_url": "https://proxy.example/docs"}).encode(), "application/json"),
    (json.dumps({"error": "not_found"}).encode(), "application/json"),
]
NOT_GITHUBS_404_IDS = ["html", "empty", "no-documentation-url", "other-documentation", "other-json"]


def deploy_github_style(deploy, server, refresh: bool = False) -> None:
    entry = {"client_id": "cid", "token_url": server.url, "revoke_url": server.url, "revoke_style": "github", "refresh": refresh}
    deploy({"p": entry}, secrets={"p": "revocation-404-secret"})


def test_githubs_own_404_counts_as_revoked(deploy, invoke):
    with fault_servers.running(fault_servers.answer(404, GITHUB_404, "application/json; charset=utf-8")) as server:
        deploy_github_style(deploy, server)

        reply = invoke("/revoke", {"token": "gho_" + "A" * 36})

    assert (reply.status, reply.body) == (200, {"revoked": True})


@pytest.mark.parametrize(("body", "content_type"), NOT_GITHUBS_404, ids=NOT_GITHUBS_404_IDS)
@pytest.mark.parametrize("refresh_token", [None, "ghr_" + "R" * 36], ids=["token", "authorization"])
def test_a_404_in_any_other_shape_is_provider_error(deploy, invoke, body, content_type, refresh_token):
    with fault_servers.running(fault_servers.answer(404, body, content_type)) as server:
        deploy_github_style(deploy, server, refresh=refresh_token is not None)
        request = {"token": "ghu_" + "A" * 36} if refresh_token is None else {"token": "ghu_" + "A" * 36, "refresh_token": refresh_token}

        reply = invoke("/revoke", request)

        assert len(server.requests) == 1, "nothing else is tried after a 404 that is not GitHub's"
    assert (reply.status, reply.body["error"]) == (502, "provider_error")
