"""The refresh grant through the function URL: refused by a default stack, served with ``refresh_tokens``."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from local.signin import Spa
from local.stack import LocalStack

REFRESH_FIELDS = {"refresh_token", "refresh_token_expires_in"}
TOKEN_PATH = "/login/oauth/access_token"


@pytest.fixture(scope="module")
def plain() -> Iterator[LocalStack]:
    with LocalStack() as running:
        yield running


@pytest.fixture(scope="module")
def refreshing() -> Iterator[LocalStack]:
    with LocalStack(refresh_tokens=True, access_token_ttl=600) as running:
        yield running


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=20) as http:
        yield http


def refresh(client: httpx.Client, stack: LocalStack, refresh_token: str) -> httpx.Response:
    """The POST oauth.js sends to refresh."""
    return client.post(
        stack.function_url + "token",
        json={"provider": "github", "grant_type": "refresh_token", "refresh_token": refresh_token},
        headers={"Origin": stack.site_origin},
    )


def test_a_default_stack_issues_no_refresh_token_and_refuses_the_refresh_grant(plain, client):
    spa = Spa(client, plain.site_url)
    assert spa.provider["refresh"] is False
    answer = spa.sign_in()
    assert answer["access_token"].startswith("gho_")
    assert not {"expires_in", *REFRESH_FIELDS} & set(answer)

    token_requests = len(plain.provider.requests_to(TOKEN_PATH))
    refused = refresh(client, plain, "ghr_" + "A" * 36)
    assert refused.status_code == 400
    assert refused.json()["error"] == "unsupported_grant_type"
    assert len(plain.provider.requests_to(TOKEN_PATH)) == token_requests, "refused without asking the provider"


def test_a_default_stack_drops_refresh_tokens_a_provider_hands_out_anyway(plain, client):
    plain.provider.refresh_tokens = True
    try:
        answer = Spa(client, plain.site_url).sign_in()
    finally:
        plain.provider.refresh_tokens = False
    issued = plain.provider.issued_refresh_tokens[-1]
    assert answer["expires_in"] == plain.provider.access_token_ttl
    assert not REFRESH_FIELDS & set(answer)

    refused = refresh(client, plain, issued)
    assert refused.status_code == 400
    assert refused.json()["error"] == "unsupported_grant_type"
    assert issued not in refused.text


def test_with_refresh_tokens_answers_carry_them_and_refreshing_rotates_them(refreshing, client):
    spa = Spa(client, refreshing.site_url)
    assert spa.provider["refresh"] is True
    answer = spa.sign_in()
    assert answer["access_token"].startswith("ghu_")
    assert answer["expires_in"] == 600
    assert answer["refresh_token"] == refreshing.provider.issued_refresh_tokens[-1]
    assert answer["refresh_token_expires_in"] == refreshing.provider.refresh_token_ttl

    renewed = refresh(client, refreshing, answer["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    assert renewed.headers["access-control-allow-origin"] == refreshing.site_origin
    new = renewed.json()
    assert set(new) == {"access_token", "token_type", "scope", "expires_in", *REFRESH_FIELDS}
    assert new["access_token"] == refreshing.provider.issued_access_tokens[-1] != answer["access_token"]
    assert new["refresh_token"] == refreshing.provider.issued_refresh_tokens[-1] != answer["refresh_token"]
    user = client.get(
        refreshing.settings.provider("github").userinfo_url, headers={"Authorization": f"Bearer {new['access_token']}"}
    )
    assert user.status_code == 200

    replayed = refresh(client, refreshing, answer["refresh_token"])
    assert replayed.status_code == 400
    assert replayed.json()["error"] == "invalid_grant"


def test_real_github_mode_with_refresh_tokens_configures_github_for_refresh(client):
    real = {"github_client_id": "Iv1.realclientid", "github_client_secret": "real-secret"}
    with LocalStack(**real, refresh_tokens=True) as local:
        assert local.provider is None
        assert local.settings.provider("github").refresh is True
        assert Spa(client, local.site_url).provider["refresh"] is True


@pytest.mark.parametrize(
    "options",
    [
        {"access_token_ttl": 4},
        {"refresh_tokens": True, "access_token_ttl": 4, "github_client_id": "Iv1.x", "github_client_secret": "s"},
    ],
    ids=["without-refresh-tokens", "real-github"],
)
def test_an_access_token_lifetime_needs_the_fake_provider_with_refresh_tokens(options):
    with pytest.raises(ValueError, match="access_token_ttl"):
        LocalStack(**options)
