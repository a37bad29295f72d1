"""The fake GitHub answers what the access policy asks as api.github.com does; the fake OIDC provider likewise."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture
def gh(fake_provider):
    return fake_provider("github", orgs={"octo-org": "active", "invited-org": "pending"}, teams={"octo-org/octo-team": "active"})


def get(url: str, token: str) -> httpx.Response:
    return httpx.get(url, headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"})


def test_own_org_membership_is_200_with_its_state_for_any_case_of_the_name(gh):
    token = gh.issue_tokens(scope="read:org")["access_token"]

    active = get(f"{gh.urls['api']}/user/memberships/orgs/Octo-Org", token)
    pending = get(f"{gh.urls['api']}/user/memberships/orgs/invited-org", token)

    assert active.status_code == 200
    assert active.json()["state"] == "active"
    assert active.json()["user"]["login"] == "octocat"
    assert active.json()["organization"]["login"] == "Octo-Org"
    assert (pending.status_code, pending.json()["state"]) == (200, "pending")
    assert active.headers["x-oauth-scopes"] == "read:org"


def test_an_org_the_user_is_not_in_is_404_not_found(gh):
    token = gh.issue_tokens(scope="read:org")["access_token"]

    answer = get(f"{gh.urls['api']}/user/memberships/orgs/other-org", token)

    assert answer.status_code == 404
    assert answer.json()["message"] == "Not Found"


def test_org_membership_without_read_org_is_403_naming_the_scopes_it_accepts(gh):
    token = gh.issue_tokens(scope="read:user")["access_token"]

    answer = get(f"{gh.urls['api']}/user/memberships/orgs/octo-org", token)

    assert answer.status_code == 403
    assert "read:org" in answer.json()["message"]
    assert "read:org" in answer.headers["x-accepted-oauth-scopes"]


def test_an_org_restricting_oauth_apps_answers_403(gh):
    gh.restricted_orgs.add("octo-org")
    token = gh.issue_tokens(scope="read:org")["access_token"]

    org = get(f"{gh.urls['api']}/user/memberships/orgs/octo-org", token)
    team = get(f"{gh.urls['api']}/orgs/octo-org/teams/octo-team/memberships/octocat", token)

    assert (org.status_code, team.status_code) == (403, 403)
    assert "OAuth App access restrictions" in org.json()["message"]


def test_team_membership_is_200_active_or_404_for_anyone_not_on_the_team(gh):
    token = gh.issue_tokens(scope="read:org")["access_token"]
    api = gh.urls["api"]

    member = get(f"{api}/orgs/octo-org/teams/octo-team/memberships/OctoCat", token)
    other_team = get(f"{api}/orgs/octo-org/teams/admins/memberships/octocat", token)
    other_user = get(f"{api}/orgs/octo-org/teams/octo-team/memberships/hubot", token)

    assert member.status_code == 200
    assert (member.json()["state"], member.json()["role"]) == ("active", "member")
    assert (other_team.status_code, other_user.status_code) == (404, 404)


def test_user_emails_need_the_user_email_scope_and_list_verification(fake_provider):
    gh = fake_provider("github", emails=[
        {"email": "octocat@example.com", "verified": True, "primary": True, "visibility": "private"},
        {"email": "octo@unverified.example", "verified": False, "primary": False, "visibility": None},
    ])
    with_scope = get(f"{gh.urls['api']}/user/emails", gh.issue_tokens(scope="read:user user:email")["access_token"])
    without = get(f"{gh.urls['api']}/user/emails", gh.issue_tokens(scope="read:user")["access_token"])

    assert with_scope.status_code == 200
    assert [(e["email"], e["verified"]) for e in with_scope.json()] == [
        ("octocat@example.com", True),
        ("octo@unverified.example", False),
    ]
    assert without.status_code == 404
    assert without.headers["x-accepted-oauth-scopes"] == "user, user:email"


@pytest.mark.parametrize("path", ["/user", "/user/emails", "/user/memberships/orgs/octo-org"])
def test_every_user_endpoint_says_bad_credentials_for_an_unknown_token(gh, path):
    answer = get(gh.urls["api"] + path, "gho_unknown")

    assert (answer.status_code, answer.json()["message"]) == (401, "Bad credentials")


def test_an_outage_of_the_user_api_leaves_oauth_and_revocation_working(gh):
    token = gh.issue_tokens(scope="read:org")["access_token"]
    gh.user_api_outage = 503

    user = get(gh.urls["user"], token)
    membership = get(f"{gh.urls['api']}/user/memberships/orgs/octo-org", token)
    revoked = httpx.request(
        "DELETE", gh.urls["revoke"].format(client_id=gh.client_id), json={"access_token": token}, auth=(gh.client_id, gh.client_secret)
    )

    assert (user.status_code, membership.status_code, revoked.status_code) == (503, 503, 204)


def test_oidc_userinfo_has_email_claims_only_for_the_email_scope(fake_provider):
    rfc = fake_provider("rfc6749", user={"login": "ada", "id": 7, "name": "Ada", "email": "ada@example.org", "email_verified": False})

    with_email = get(rfc.urls["user"], rfc.issue_tokens(scope="openid email")["access_token"])
    without = get(rfc.urls["user"], rfc.issue_tokens(scope="openid")["access_token"])

    assert with_email.json() | {"picture": None} == {
        "sub": "7",
        "preferred_username": "ada",
        "name": "Ada",
        "email": "ada@example.org",
        "email_verified": False,
        "picture": None,
    }
    assert "email" not in without.json() and "email_verified" not in without.json()
