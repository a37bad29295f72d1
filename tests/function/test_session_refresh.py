"""Session mode refreshes server-side: before expiry, once under concurrency, rotated tokens stored first."""

from __future__ import annotations

import hashlib
import threading
import time
from urllib.parse import urlsplit

import pytest

import grants
import session_store
from tests.function import fault_servers
from tests.function.conftest import SESSION_REDIRECT_URI, SESSION_SITE, SessionBrowser, session_settings

CORP_REDIRECT_URI = SESSION_SITE + "/callback/corp"
CLAIM = b"SET refresh_claim = :claim"
"""What a refresh claim's UpdateItem says, as it goes over the wire."""


@pytest.fixture
def github_app(fake_provider, session_deploy):
    """A GitHub App with expiring user tokens: an hour's access token, refresh tokens that rotate on use."""
    provider = fake_provider("github", redirect_uris=[SESSION_REDIRECT_URI], refresh_tokens=True, access_token_ttl=3600)
    session_deploy({"github": provider}, expose_access_token=True)
    return provider


@pytest.fixture
def corp(fake_provider, deploy, session_table):
    """An RFC 6749 provider (rotating refresh tokens, RFC 7009 revocation token by token) and a one-second budget."""
    provider = fake_provider("rfc6749", redirect_uris=[CORP_REDIRECT_URI], access_token_ttl=3600)
    deploy({"corp": provider}, session=session_settings({"corp": provider}, expose_access_token=True), timeout_seconds=1)
    return provider


def assert_error(reply, status, error):
    assert reply.status == status, reply.body
    assert reply.body["error"] == error
    assert reply.headers["Content-Type"] == "application/json"


def refresh_grants(provider) -> list[dict[str, str]]:
    token_path = urlsplit(provider.urls["token"]).path
    return [form for seen in provider.requests_to(token_path) if (form := seen.form())["grant_type"] == "refresh_token"]


def bearer_of_last_user_call(provider) -> str:
    return provider.requests_to("/user")[-1].headers["authorization"].removeprefix("Bearer ")


def key_of(browser: SessionBrowser) -> str:
    return hashlib.sha256(browser.cookie.encode()).hexdigest()


def make_due(table, browser) -> None:
    """As if the refresh time had come: a minute before the access token expires."""
    table.set_numbers(key_of(browser), refresh_at=int(time.time()) - 1)


def test_a_fresh_token_is_used_as_it_is(github_app, browser):
    browser.sign_in(github_app)

    assert browser.request("GET", "/api/proxy/github/user").status == 200

    assert refresh_grants(github_app) == []
    assert bearer_of_last_user_call(github_app) == github_app.issued_access_tokens[0]


def test_the_refresh_time_is_a_minute_before_expiry(github_app, browser, session_table):
    browser.sign_in(github_app)

    item = session_table.only_item()
    assert int(item["access_expires_at"]["N"]) == pytest.approx(time.time() + 3600, abs=5)
    assert int(item["access_expires_at"]["N"]) - int(item["refresh_at"]["N"]) == 60


def test_a_due_token_is_refreshed_before_it_expires_and_the_new_one_is_used(github_app, browser, session_table):
    browser.sign_in(github_app)
    (first_access,) = github_app.issued_access_tokens
    (first_refresh,) = github_app.issued_refresh_tokens
    make_due(session_table, browser)

    reply = browser.request("GET", "/api/proxy/github/user")

    assert reply.status == 200
    (grant,) = refresh_grants(github_app)
    assert grant["refresh_token"] == first_refresh
    new_access = github_app.issued_access_tokens[-1]
    assert new_access != first_access
    assert bearer_of_last_user_call(github_app) == new_access
    # The old token had not expired yet: the refresh came before expiry.
    assert int(session_table.only_item()["access_expires_at"]["N"]) > time.time() + 3000


def test_the_rotated_refresh_token_is_stored_before_the_answer(github_app, browser, session_table):
    browser.sign_in(github_app)
    make_due(session_table, browser)

    browser.request("GET", "/api/proxy/github/user")

    item = session_table.only_item()
    assert item["refresh_token"] == {"S": github_app.issued_refresh_tokens[-1]}
    assert item["access_token"] == {"S": github_app.issued_access_tokens[-1]}
    assert item["version"] == {"N": "2"}
    assert "refresh_claim" not in item and "lock_until" not in item


def test_the_token_endpoint_answers_the_refreshed_token(github_app, browser, session_table):
    browser.sign_in(github_app)
    make_due(session_table, browser)

    reply = browser.request("GET", "/api/session/token")

    assert reply.body["access_token"] == github_app.issued_access_tokens[-1]
    assert len(refresh_grants(github_app)) == 1


def test_the_session_view_does_not_refresh(github_app, browser, session_table):
    browser.sign_in(github_app)
    make_due(session_table, browser)

    assert browser.request("GET", "/api/session").status == 200
    assert refresh_grants(github_app) == []


def test_two_concurrent_requests_refresh_once(github_app, browser, invoke, sensitive, session_table, monkeypatch):
    browser.sign_in(github_app)
    make_due(session_table, browser)
    both_read = threading.Barrier(2, timeout=10)
    reads = []
    # DynamoDB applies each conditional write atomically; moto's server does not lock, so the
    # test makes its writes one at a time, as DynamoDB would.
    one_write_at_a_time = threading.Lock()
    real_get, real_update = session_store.SessionStore.get, session_store.SessionStore._update

    def get_then_wait_for_the_other(self, key):
        stored = real_get(self, key)
        if len(reads) < 2:
            reads.append(stored.version)
            both_read.wait()  # both requests have seen the token due before either claims the refresh
        return stored

    def atomic_update(self, *args, **kwargs):
        with one_write_at_a_time:
            return real_update(self, *args, **kwargs)

    monkeypatch.setattr(session_store.SessionStore, "get", get_then_wait_for_the_other)
    monkeypatch.setattr(session_store.SessionStore, "_update", atomic_update)
    other_tab = SessionBrowser(invoke, sensitive)
    other_tab.cookies = dict(browser.cookies)
    replies = {}

    def call(name, tab):
        replies[name] = tab.request("GET", "/api/session/token")

    threads = [threading.Thread(target=call, args=(name, tab)) for name, tab in (("one", browser), ("two", other_tab))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert reads == [1, 1]
    assert len(refresh_grants(github_app)) == 1
    new_access = github_app.issued_access_tokens[-1]
    assert replies["one"].status == replies["two"].status == 200
    assert replies["one"].body["access_token"] == replies["two"].body["access_token"] == new_access
    assert session_table.only_item()["refresh_token"] == {"S": github_app.issued_refresh_tokens[-1]}


def test_a_revoked_refresh_token_ends_the_session(github_app, browser, session_table):
    browser.sign_in(github_app)
    (refresh,) = github_app.issued_refresh_tokens
    github_app.revoke_token(refresh)  # the user revoked the app at the provider
    make_due(session_table, browser)

    reply = browser.request("GET", "/api/proxy/github/user")

    assert reply.status == 401
    assert reply.body["error"] == "not_signed_in"
    assert browser.cookie is None
    assert session_table.items() == []


def test_an_expired_token_without_a_refresh_token_ends_the_session(fake_provider, session_deploy, browser, session_table):
    provider = fake_provider("github", redirect_uris=[SESSION_REDIRECT_URI], refresh_tokens=True, access_token_ttl=3600)
    session_deploy({"github": provider})
    browser.sign_in(provider)
    session_table.client.update_item(
        TableName=session_table.name,
        Key={"id": {"S": key_of(browser)}},
        UpdateExpression="REMOVE refresh_token SET refresh_at = :past, access_expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )

    reply = browser.request("GET", "/api/proxy/github/user")

    assert reply.status == 401
    assert reply.body["error"] == "not_signed_in"
    assert session_table.items() == []


def test_a_refresh_that_fails_in_transit_keeps_the_still_valid_token(github_app, browser, session_table, monkeypatch):
    import grants
    from exchange_errors import ExchangeError

    browser.sign_in(github_app)
    make_due(session_table, browser)

    def provider_down(call, refresh_token):
        raise ExchangeError("provider_error", log_detail="test: provider down")

    monkeypatch.setattr(grants, "refresh_tokens", provider_down)

    reply = browser.request("GET", "/api/proxy/github/user")

    assert reply.status == 200
    assert bearer_of_last_user_call(github_app) == github_app.issued_access_tokens[0]
    item = session_table.only_item()
    assert "refresh_claim" not in item and "lock_until" not in item  # the claim was released for the next request


def test_a_refresh_that_fails_after_expiry_is_the_providers_error(github_app, browser, session_table, monkeypatch):
    import grants
    from exchange_errors import ExchangeError

    browser.sign_in(github_app)
    session_table.set_numbers(key_of(browser), refresh_at=int(time.time()) - 1, access_expires_at=int(time.time()) - 1)

    def provider_too_slow(call, refresh_token):
        raise ExchangeError("provider_timeout", log_detail="test: provider too slow")

    monkeypatch.setattr(grants, "refresh_tokens", provider_too_slow)

    reply = browser.request("GET", "/api/proxy/github/user")

    assert reply.status == 504
    assert reply.body["error"] == "provider_timeout"
    assert len(session_table.items()) == 1


def test_a_claim_left_by_a_request_that_died_lapses(github_app, browser, session_table):
    browser.sign_in(github_app)
    now = int(time.time())
    session_table.client.update_item(
        TableName=session_table.name,
        Key={"id": {"S": key_of(browser)}},
        UpdateExpression="SET refresh_at = :due, refresh_claim = :claim, lock_until = :lapsed",
        ExpressionAttributeValues={":due": {"N": str(now - 1)}, ":claim": {"S": "dead"}, ":lapsed": {"N": str(now - 1)}},
    )

    reply = browser.request("GET", "/api/session/token")

    assert reply.status == 200
    assert len(refresh_grants(github_app)) == 1


# -- the refresh races, one interleaving each ------------------------------------------


def test_a_stale_read_finds_the_refresh_another_request_made_and_never_spends_the_rotated_token(
    github_app, browser, invoke, sensitive, session_table, monkeypatch
):
    browser.sign_in(github_app)
    make_due(session_table, browser)
    other_tab = SessionBrowser(invoke, sensitive)
    other_tab.cookies = dict(browser.cookies)
    claims, others = [], []
    real_claim = session_store.SessionStore.claim_refresh

    def claim_after_another_request_refreshed(self, key, version, *args, **kwargs):
        claims.append(version)
        if len(claims) == 1:  # this request read version 1; before its claim, the other tab refreshes
            others.append(other_tab.request("GET", "/api/session/token"))
        return real_claim(self, key, version, *args, **kwargs)

    monkeypatch.setattr(session_store.SessionStore, "claim_refresh", claim_after_another_request_refreshed)

    reply = browser.request("GET", "/api/session/token")

    (other,) = others
    assert claims == [1, 1]  # the other tab claimed from version 1 first; this one's claim came after, stale
    assert other.status == reply.status == 200, reply.body
    assert reply.body["access_token"] == other.body["access_token"] == github_app.issued_access_tokens[-1]
    assert len(refresh_grants(github_app)) == 1
    item = session_table.only_item()
    assert item["refresh_token"] == {"S": github_app.issued_refresh_tokens[-1]}
    assert item["version"] == {"N": "2"}


def test_tokens_refreshed_while_the_user_signs_out_are_revoked_and_never_stored(
    corp, browser, invoke, sensitive, session_table, monkeypatch
):
    browser.sign_in(corp, redirect_uri=CORP_REDIRECT_URI, name="corp")
    make_due(session_table, browser)
    other_tab = SessionBrowser(invoke, sensitive)
    other_tab.cookies = dict(browser.cookies)
    signed_out = []
    real_refresh = grants.refresh_tokens

    def answered_while_the_user_signs_out(call, refresh_token):
        tokens = real_refresh(call, refresh_token)
        signed_out.append(other_tab.request("DELETE", "/api/session"))  # the answer is still on its way
        time.sleep(1.1)  # and arrives after the refresh's whole one-second budget
        return tokens

    monkeypatch.setattr(grants, "refresh_tokens", answered_while_the_user_signs_out)

    reply = browser.request("GET", "/api/session/token")

    assert [r.status for r in signed_out] == [200]
    assert_error(reply, 401, "not_signed_in")
    assert len(refresh_grants(corp)) == 1
    new_access, new_refresh = corp.issued_access_tokens[-1], corp.issued_refresh_tokens[-1]
    assert new_access in corp.revoked_tokens
    assert new_refresh in corp.revoked_tokens
    assert corp.active_access_tokens() == []
    assert session_table.items() == []  # no item came back with live tokens and no TTL


def test_a_claim_applied_but_unanswered_is_never_sent_again(github_app, browser, session_table, dynamodb_server, monkeypatch):
    import exchange

    browser.sign_in(github_app)
    make_due(session_table, browser)
    lose_the_claims_answer = fault_servers.relay(dynamodb_server.endpoint, lambda request: CLAIM in request)
    with fault_servers.running(lose_the_claims_answer) as table:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", table.url.removesuffix("/token"))
        exchange.reset()

        reply = browser.request("GET", "/api/session/token")

    assert_error(reply, 503, "session_unavailable")
    assert sum(CLAIM in request for request in table.requests) == 1
    assert "refresh_claim" in session_table.only_item()  # it was applied: the next request waits for it to lapse
    assert refresh_grants(github_app) == []
