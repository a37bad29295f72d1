"""``providers.<name>.allow``: validated naming the key, the scopes its check needs added, and handed to the function."""

import json

import pytest

from oauth_exchange.function_config import function_config
from oauth_exchange.settings import ConfigError, load_settings
from oauth_exchange.spa_config import config_js, spa_config
from oauth_config import parse_config

SITE = "https://d1234.cloudfront.net"
FUNCTION = "https://abc123.lambda-url.eu-west-1.on.aws/"
ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:oauth-exchange-AbCdEf"
CORP = {"clientId": "corp", "authorizeUrl": "https://sso.corp.example/authorize", "tokenUrl": "https://sso.corp.example/token"}


def provider(name: str, **entry):
    base = CORP if name == "corp" else {"clientId": "app-id"}
    return load_settings({"providers": {name: {**base, **entry}}}, {name}).provider(name)


def scopes_in_config_js(name: str, **entry) -> list[str]:
    settings = load_settings({"providers": {name: {**({"clientId": "app-id"} if name != "corp" else CORP), **entry}}}, {name})
    text = config_js(settings, FUNCTION)
    document = json.loads(text[text.index("{") : text.rindex("}") + 1])
    return document["providers"][0]["scopes"]


def test_no_allow_means_anyone_and_no_extra_scope():
    github = provider("github")
    assert not github.allow.restricts
    assert github.scopes == ("read:user",)
    assert "allow" not in function_config(load_settings({"providers": {"github": {"clientId": "x"}}}, {"github"}), SITE)["providers"]["github"]


def test_empty_lists_mean_anyone_too():
    assert not provider("github", allow={"orgs": [], "users": []}).allow.restricts


@pytest.mark.parametrize(
    ("allow", "scopes"),
    [
        ({"users": ["octocat"]}, ["read:user"]),
        ({"orgs": ["octo-org"]}, ["read:user", "read:org"]),
        ({"teams": ["octo-org/octo-team"]}, ["read:user", "read:org"]),
        ({"emailDomains": ["example.com"]}, ["read:user", "user:email"]),
        ({"orgs": ["octo-org"], "emails": ["a@example.com"]}, ["read:user", "read:org", "user:email"]),
    ],
)
def test_github_checks_add_the_scope_they_need_to_the_authorize_request(allow, scopes):
    assert scopes_in_config_js("github", allow=allow) == scopes


def test_a_scope_that_already_grants_the_check_is_not_doubled():
    assert scopes_in_config_js("github", scopes=["user", "admin:org"], allow={"orgs": ["o"], "emails": ["a@b.example"]}) == ["user", "admin:org"]


def test_oidc_email_checks_add_openid_and_email():
    assert scopes_in_config_js("gitlab", allow={"emailDomains": ["example.com"]}) == ["read_user", "openid", "email"]
    assert scopes_in_config_js("google", allow={"emails": ["ada@example.com"]}) == ["openid", "email", "profile"]


def test_names_are_lower_cased_and_deduplicated():
    allow = provider("github", allow={"users": ["OctoCat", "octocat"], "teams": ["Octo-Org/Octo-Team"], "emails": ["Ada@Example.COM"]}).allow
    assert (allow.users, allow.teams, allow.emails) == (("octocat",), ("octo-org/octo-team",), ("ada@example.com",))


@pytest.mark.parametrize(
    ("name", "allow", "key"),
    [
        ("github", ["octo-org"], "providers.github.allow"),
        ("github", {"org": ["octo-org"]}, "providers.github.allow.org"),
        ("github", {"orgs": "octo-org"}, "providers.github.allow.orgs"),
        ("github", {"orgs": ["octo org"]}, "providers.github.allow.orgs[0]"),
        ("github", {"orgs": ["ok", "-bad"]}, "providers.github.allow.orgs[1]"),
        ("github", {"users": ["a" * 40]}, "providers.github.allow.users[0]"),
        ("github", {"teams": ["octo-team"]}, "providers.github.allow.teams[0]"),
        ("github", {"teams": ["octo-org/"]}, "providers.github.allow.teams[0]"),
        ("github", {"emails": ["not-an-address"]}, "providers.github.allow.emails[0]"),
        ("github", {"emailDomains": ["@example.com"]}, "providers.github.allow.emailDomains[0]"),
        ("github", {"emailDomains": [True]}, "providers.github.allow.emailDomains[0]"),
        ("google", {"orgs": ["octo-org"]}, "providers.google.allow.orgs"),
        ("gitlab", {"teams": ["a/b"]}, "providers.gitlab.allow.teams"),
    ],
)
def test_bad_allow_names_the_key(name, allow, key):
    with pytest.raises(ConfigError) as raised:
        provider(name, allow=allow)
    assert raised.value.key == key


def test_org_checks_on_an_oidc_provider_say_what_it_can_check():
    with pytest.raises(ConfigError, match="Google can be restricted by emails or emailDomains"):
        provider("google", allow={"orgs": ["octo-org"]})


def test_a_custom_provider_needs_a_userinfo_endpoint_to_check_emails():
    with pytest.raises(ConfigError) as raised:
        provider("corp", allow={"emails": ["ada@corp.example"]})
    assert raised.value.key == "providers.corp.oidcUserInfoUrl"

    corp = provider("corp", userInfoUrl="https://sso.corp.example/userinfo", allow={"emails": ["ada@corp.example"]})
    assert corp.oidc_userinfo_url == "https://sso.corp.example/userinfo"


def test_a_numeric_org_name_read_as_a_number_is_kept():
    assert provider("github", allow={"orgs": [1234]}).allow.orgs == ("1234",)


# -- the contract with the function ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "entry", "check", "url"),
    [
        ("github", {"allow": {"users": ["OctoCat"], "orgs": ["octo-org"], "teams": ["octo-org/octo-team"], "emailDomains": ["example.com"]}}, "github", "https://api.github.com"),
        ("github", {"apiBaseUrl": "https://ghe.corp.example/api/v3/", "allow": {"orgs": ["octo-org"]}}, "github", "https://ghe.corp.example/api/v3"),
        ("gitlab", {"allow": {"emailDomains": ["example.com"]}}, "oidc", "https://gitlab.com/oauth/userinfo"),
        ("google", {"allow": {"emails": ["ada@example.com"]}}, "oidc", "https://openidconnect.googleapis.com/v1/userinfo"),
        ("corp", {"oidcUserInfoUrl": "https://sso.corp.example/oidc/userinfo", "allow": {"emails": ["ada@corp.example"]}}, "oidc", "https://sso.corp.example/oidc/userinfo"),
    ],
)
def test_the_function_accepts_the_policy_settings_produce_and_reads_the_same_lists(name, entry, check, url):
    base = CORP if name == "corp" else {"clientId": "app-id"}
    settings = load_settings({"providers": {name: {**base, **entry}}}, {name})
    deployed = settings.provider(name).allow

    allow = parse_config(json.dumps(function_config(settings, SITE)), ARN).providers[name].allow

    assert (allow.check, allow.url) == (check, url)
    assert allow.users == set(deployed.users)
    assert allow.orgs == deployed.orgs
    assert allow.teams == deployed.teams
    assert allow.emails == set(deployed.emails)
    assert allow.email_domains == set(deployed.email_domains)


def test_spa_config_carries_no_policy():
    settings = load_settings({"providers": {"github": {"clientId": "x", "allow": {"users": ["octocat"]}}}}, {"github"})
    assert "allow" not in json.dumps(spa_config(settings, FUNCTION))
