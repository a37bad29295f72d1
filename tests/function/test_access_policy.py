"""The sign-in access policy: checked with the provider's API after the exchange, before any token leaves.

Every test here is also a leak scan (see conftest): a token may appear only in
a successful ``/token`` answer, so a refused user's token in a 403 body or a
log record fails the test even where it asserts nothing about leaks.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from oauth_config import ConfigError, parse_config
from tests.function import fault_servers
from tests.function.conftest import REDIRECT_URI

ORGS = {"octo-org": "active", "invited-org": "pending"}
TEAMS = {"octo-org/octo-team": "active", "octo-org/invited": "pending"}


@pytest.fixture
def github(fake_provider):
    return fake_provider("github", orgs=ORGS, teams=TEAMS)


@pytest.fixture
def oidc(fake_provider):
    return fake_provider(
        "rfc6749",
        refresh_tokens=True,
        user={"login": "ada", "id": 1815, "name": "Ada", "email": "Ada@Example.org", "email_verified": True},
    )


@pytest.fixture
def restrict(deploy):
    """Deploy ``provider`` (as ``github`` or, for the RFC 6749 fake, ``corp``) with an access policy."""

    def apply(provider, policy: dict[str, Any], *, settings: dict[str, Any] | None = None, **entry: Any) -> str:
        name = "github" if provider.style == "github" else "corp"
        config = {**provider.provider_config(allow=policy), **entry}
        deploy({name: config}, secrets={name: provider.client_secret}, **(settings or {}))
        return name

    return apply


def sign_in(provider, exchange_code, name: str = "github", scope: str = "read:user read:org user:email"):
    code, verifier = provider.authorize_pkce(REDIRECT_URI, scope=scope)
    return exchange_code(code, verifier, provider=name)


def issued(provider) -> str:
    assert len(provider.issued_access_tokens) == 1
    return provider.issued_access_tokens[0]


def assert_refused_and_revoked(reply, provider, error: str = "access_denied", status: int = 403) -> None:
    assert (reply.status, reply.body["error"]) == (status, error)
    assert set(reply.body) == {"error", "error_description"}
    token = issued(provider)
    assert token in provider.revoked_tokens
    assert token not in provider.active_access_tokens()


# -- GitHub ---------------------------------------------------------------------


def test_a_login_github_spells_with_capitals_matches_the_lower_case_entry(github, restrict, exchange_code):
    github.user["login"] = "Octocat"
    restrict(github, {"users": ["octocat"]})

    reply = sign_in(github, exchange_code)

    assert reply.status == 200
    assert reply.body["access_token"] == issued(github)
    assert github.revoked_tokens == []


def test_a_login_that_only_differs_by_a_suffix_is_not_the_listed_user(github, restrict, exchange_code):
    github.user["login"] = "octocat-evil"
    restrict(github, {"users": ["octocat"]})

    assert_refused_and_revoked(sign_in(github, exchange_code), github)


def test_a_listed_user_signs_in_whatever_the_case_of_the_login(github, restrict, exchange_code):
    restrict(github, {"users": ["OctoCat"]})

    reply = sign_in(github, exchange_code)

    assert reply.status == 200
    assert reply.body["access_token"] == issued(github)
    assert github.revoked_tokens == []
    user_calls = github.requests_to("/user")
    assert [r.headers["authorization"] for r in user_calls] == [f"Bearer {issued(github)}"]
    assert user_calls[0].headers["accept"] == "application/vnd.github+json"


def test_a_user_not_on_the_list_is_access_denied_and_the_token_revoked(github, restrict, exchange_code):
    restrict(github, {"users": ["hubot"]})

    reply = sign_in(github, exchange_code)

    assert_refused_and_revoked(reply, github)
    assert reply.body["error_description"] == "This account is not allowed to sign in here."
    assert reply.headers["Cache-Control"] == "no-store"


def test_an_active_org_member_signs_in_after_one_membership_request(github, restrict, exchange_code):
    restrict(github, {"orgs": ["other-org", "Octo-Org"]})

    reply = sign_in(github, exchange_code)

    assert reply.status == 200
    asked = [r.path for r in github.seen if r.path.startswith("/user/memberships/")]
    assert asked == ["/user/memberships/orgs/other-org", "/user/memberships/orgs/octo-org"]


@pytest.mark.parametrize("org", ["other-org", "invited-org"], ids=["not-a-member-404", "pending-invitation"])
def test_someone_outside_the_org_or_only_invited_is_access_denied(github, restrict, exchange_code, org):
    restrict(github, {"orgs": [org]})

    assert_refused_and_revoked(sign_in(github, exchange_code), github)


def test_an_active_team_member_signs_in(github, restrict, exchange_code):
    restrict(github, {"teams": ["octo-org/octo-team"]})

    reply = sign_in(github, exchange_code)

    assert reply.status == 200
    assert github.requests_to("/orgs/octo-org/teams/octo-team/memberships/octocat")


@pytest.mark.parametrize("team", ["octo-org/admins", "octo-org/invited"], ids=["not-on-the-team-404", "pending"])
def test_someone_not_active_on_the_team_is_access_denied(github, restrict, exchange_code, team):
    restrict(github, {"teams": [team]})

    assert_refused_and_revoked(sign_in(github, exchange_code), github)


def test_any_matching_list_is_enough(github, restrict, exchange_code):
    restrict(github, {"users": ["hubot"], "orgs": ["other-org"], "teams": ["octo-org/octo-team"]})

    assert sign_in(github, exchange_code).status == 200


def test_a_verified_github_email_in_an_allowed_domain_signs_in(fake_provider, restrict, exchange_code):
    github = fake_provider("github", emails=[
        {"email": "octo@unverified.example", "verified": False, "primary": True, "visibility": "private"},
        {"email": "octocat@Example.com", "verified": True, "primary": False, "visibility": None},
    ])
    restrict(github, {"email_domains": ["example.com"]})

    assert sign_in(github, exchange_code).status == 200


def test_an_unverified_github_email_does_not_count(fake_provider, restrict, exchange_code):
    github = fake_provider("github", emails=[
        {"email": "octocat@example.com", "verified": False, "primary": True, "visibility": "private"},
    ])
    restrict(github, {"emails": ["octocat@example.com"]})

    assert_refused_and_revoked(sign_in(github, exchange_code), github)


def test_no_policy_means_no_request_beyond_the_token_endpoint(github, deploy, exchange_code):
    deploy({"github": github})

    assert sign_in(github, exchange_code).status == 200
    assert [r.path for r in github.seen] == ["/login/oauth/access_token"]


# -- OpenID Connect -------------------------------------------------------------------


@pytest.mark.parametrize(
    "allow", [{"emails": ["ada@example.org"]}, {"email_domains": ["example.org"]}], ids=["email", "domain"]
)
def test_a_verified_oidc_email_signs_in(oidc, restrict, exchange_code, allow):
    name = restrict(oidc, allow)

    reply = sign_in(oidc, exchange_code, name, scope="openid email")

    assert reply.status == 200
    assert oidc.requests_to("/userinfo")[0].headers["authorization"] == f"Bearer {issued(oidc)}"


def test_a_subdomain_is_not_its_parent_domain(oidc, restrict, exchange_code):
    oidc.user["email"] = "ada@mail.example.org"
    name = restrict(oidc, {"email_domains": ["example.org"]})

    assert_refused_and_revoked(sign_in(oidc, exchange_code, name, scope="openid email"), oidc)


def test_an_unverified_oidc_email_is_refused_and_both_tokens_revoked(oidc, restrict, exchange_code):
    oidc.user["email_verified"] = False
    name = restrict(oidc, {"emails": ["ada@example.org"]})

    reply = sign_in(oidc, exchange_code, name, scope="openid email")

    assert_refused_and_revoked(reply, oidc)
    assert oidc.issued_refresh_tokens[0] in oidc.revoked_tokens


@pytest.mark.parametrize("claim", [1, "1", "yes", None], ids=["one", "text-one", "yes", "null"])
def test_an_email_verified_claim_other_than_true_does_not_count(oidc, restrict, exchange_code, claim):
    oidc.user["email_verified"] = claim
    name = restrict(oidc, {"emails": ["ada@example.org"]})

    assert_refused_and_revoked(sign_in(oidc, exchange_code, name, scope="openid email"), oidc)


def test_an_oidc_email_without_email_verified_does_not_count(oidc, restrict, exchange_code):
    del oidc.user["email_verified"]
    name = restrict(oidc, {"emails": ["ada@example.org"]})

    assert_refused_and_revoked(sign_in(oidc, exchange_code, name, scope="openid email"), oidc)


@pytest.mark.parametrize("claim", [True, "true"], ids=["json-true", "text-true"])
def test_email_verified_true_or_the_text_true_counts(oidc, restrict, exchange_code, claim):
    oidc.user["email_verified"] = claim
    name = restrict(oidc, {"emails": ["ada@example.org"]})

    assert sign_in(oidc, exchange_code, name, scope="openid email").status == 200


def test_without_the_email_scope_there_is_no_email_to_allow(oidc, restrict, exchange_code):
    name = restrict(oidc, {"emails": ["ada@example.org"]})

    assert_refused_and_revoked(sign_in(oidc, exchange_code, name, scope="openid"), oidc)


# -- the provider cannot answer: fail closed ----------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503])
def test_user_api_down_is_provider_error_and_the_token_revoked(github, restrict, exchange_code, status):
    github.user_api_outage = status
    restrict(github, {"orgs": ["octo-org"]})

    assert_refused_and_revoked(sign_in(github, exchange_code), github, "provider_error", 502)


def test_unreachable_api_is_provider_error_and_the_token_revoked(github, restrict, exchange_code):
    with fault_servers.refused_port() as port:
        restrict(github, {"orgs": ["octo-org"]}, allow={"check": "github", "api_url": f"http://127.0.0.1:{port}", "orgs": ["octo-org"]})

        reply = sign_in(github, exchange_code)

    assert_refused_and_revoked(reply, github, "provider_error", 502)


def test_an_org_restricting_the_app_is_provider_error_not_a_sign_in(github, restrict, exchange_code):
    github.restricted_orgs.add("octo-org")
    restrict(github, {"orgs": ["octo-org"]})

    assert_refused_and_revoked(sign_in(github, exchange_code), github, "provider_error", 502)


def test_a_token_without_read_org_cannot_be_checked_so_it_is_refused(github, restrict, exchange_code):
    restrict(github, {"orgs": ["octo-org"]})

    reply = sign_in(github, exchange_code, scope="read:user")

    assert_refused_and_revoked(reply, github, "provider_error", 502)


def test_a_check_that_outlasts_the_timeout_still_revokes_the_token(github, restrict, exchange_code):
    with fault_servers.running(fault_servers.hang()) as server:
        api = server.url.removesuffix("/token")
        restrict(github, {}, allow={"check": "github", "api_url": api, "orgs": ["octo-org"]}, settings={"timeout_seconds": 0.5})

        reply = sign_in(github, exchange_code)

    assert_refused_and_revoked(reply, github, "provider_timeout", 504)


# -- what the operator sees ------------------------------------------------------------------


def test_the_log_line_says_access_denied_and_that_the_token_was_revoked(github, restrict, exchange_code, sensitive):
    restrict(github, {"orgs": ["other-org"]})

    sign_in(github, exchange_code)

    line = sensitive.request_lines()[-1]
    assert (line.outcome, line.status, line.route, line.provider) == ("access_denied", 403, "/token", "github")
    assert line.detail == "not allowed by the access policy (github user id 583231); token revoked"


def test_a_revocation_that_fails_is_logged_and_the_user_still_refused(github, restrict, exchange_code, sensitive):
    with fault_servers.refused_port() as port:
        restrict(github, {"users": ["hubot"]}, revoke_url=f"http://127.0.0.1:{port}/applications/{{client_id}}/token")

        reply = sign_in(github, exchange_code)

    assert (reply.status, reply.body["error"]) == (403, "access_denied")
    assert sensitive.request_lines()[-1].detail.endswith("; token not revoked (provider_error)")
    assert issued(github) in github.active_access_tokens()


# -- the function's own reading of allow ---------------------------------------------------


def parsed_allow(allow: Any):
    config = {
        "providers": {"github": {"client_id": "Iv1.x", "token_url": "https://github.com/t", "redirect_uris": ["https://s.example/cb"], "allow": allow}},
    }
    return parse_config(json.dumps(config), "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x")


def test_allow_is_read_lower_cased_and_empty_lists_mean_anyone():
    policy = parsed_allow({"check": "github", "api_url": "https://api.github.com/", "users": ["OctoCat"], "teams": ["Octo-Org/Octo-Team"]})

    allow = policy.providers["github"].allow
    assert (allow.url, allow.users, allow.teams) == ("https://api.github.com", {"octocat"}, ("octo-org/octo-team",))
    assert parsed_allow({"check": "github", "api_url": "https://api.github.com", "orgs": []}).providers["github"].allow is None


@pytest.mark.parametrize(
    ("allow", "named"),
    [
        ({"check": "github", "api_url": "https://api.github.com", "org": ["octo-org"]}, "providers.github.allow has an unknown key"),
        ({"check": "ldap", "orgs": ["octo-org"]}, "providers.github.allow.check"),
        ({"check": "github", "orgs": ["octo-org"]}, "providers.github.allow.api_url"),
        ({"check": "github", "api_url": "http://api.github.com", "orgs": ["octo-org"]}, "providers.github.allow.api_url"),
        ({"check": "github", "api_url": "https://api.github.com", "orgs": "octo-org"}, "providers.github.allow.orgs"),
        ({"check": "github", "api_url": "https://api.github.com", "teams": ["octo-team"]}, r"providers.github.allow.teams\[0\]"),
        ({"check": "github", "api_url": "https://api.github.com", "orgs": ["../admin"]}, r"providers.github.allow.orgs\[0\]"),
        ({"check": "oidc", "userinfo_url": "https://o.example/userinfo", "orgs": ["octo-org"]}, "checked with GitHub's API only"),
        ({"check": "oidc", "userinfo_url": "https://o.example/userinfo", "email_domains": ["@example.com"]}, r"email_domains\[0\]"),
        (["octo-org"], "providers.github.allow must be an object"),
    ],
)
def test_a_policy_the_function_cannot_read_exactly_is_a_configuration_error(allow, named):
    """Fail closed: a misspelt or malformed restriction must never be read as "anyone"."""
    with pytest.raises(ConfigError, match=named):
        parsed_allow(allow)


# -- refresh --------------------------------------------------------------------------


def test_a_refresh_is_checked_again_and_refused_once_the_user_left_the_org(fake_provider, restrict, exchange_code, invoke, sensitive):
    github = fake_provider("github", refresh_tokens=True, orgs={"octo-org": "active"})
    restrict(github, {"orgs": ["octo-org"]})
    first = sign_in(github, exchange_code)
    assert first.status == 200
    sensitive.add_tokens(first.body["refresh_token"])

    github.orgs.clear()
    reply = invoke("/token", {"provider": "github", "grant_type": "refresh_token", "refresh_token": first.body["refresh_token"]})

    assert (reply.status, reply.body["error"]) == (403, "access_denied")
    renewed = github.issued_access_tokens[-1]
    assert renewed != first.body["access_token"]
    assert renewed in github.revoked_tokens
    assert sensitive.request_lines()[-1].detail.endswith("token revoked")
