"""Session mode's /api/session: sign-in, the session view, sign-out, lifetimes, CSRF, a table that fails."""

from __future__ import annotations

import hashlib
import logging
import re
import socket
import time
from types import SimpleNamespace

import pytest

from tests.function import fault_servers
from tests.function.conftest import (
    SESSION_COOKIE,
    SESSION_REDIRECT_URI,
    SESSION_SITE,
    SPEC_HEADERS,
    SessionBrowser,
    session_settings,
)

MAX_SECONDS = 30 * 24 * 3600
IDLE_SECONDS = 8 * 3600
COOKIE = re.compile(rf"{SESSION_COOKIE}=([A-Za-z0-9_-]{{43}}); (.*)")


@pytest.fixture
def github(fake_provider, session_deploy):
    provider = fake_provider("github", redirect_uris=[SESSION_REDIRECT_URI])
    session_deploy({"github": provider})
    return provider


@pytest.fixture
def github_app(fake_provider, session_deploy):
    """A GitHub App with expiring user tokens: refresh on, rotating refresh tokens."""
    provider = fake_provider("github", redirect_uris=[SESSION_REDIRECT_URI], refresh_tokens=True)
    session_deploy({"github": provider})
    return provider


def key_of(browser: SessionBrowser) -> str:
    assert browser.cookie is not None
    return hashlib.sha256(browser.cookie.encode()).hexdigest()


def assert_error(reply, status, error):
    assert reply.status == status, reply.body
    assert reply.body["error"] == error
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.headers["Cache-Control"] == "no-store"


# -- signing in ---------------------------------------------------------------------


def test_sign_in_answers_the_session_view_and_a_host_only_http_only_cookie(github, browser):
    reply = browser.sign_in(github)

    assert reply.status == 200
    assert reply.headers == SPEC_HEADERS
    assert set(reply.body) == {"provider", "scope", "expiresAt", "user"}
    assert reply.body["provider"] == "github"
    assert reply.body["user"]["login"] == "octocat"
    assert reply.body["user"]["name"] == "The Octocat"
    assert abs(reply.body["expiresAt"] - (time.time() + IDLE_SECONDS) * 1000) < 5000
    (cookie,) = reply.cookies
    match = COOKIE.fullmatch(cookie)
    assert match is not None, cookie
    attributes = match.group(2).split("; ")
    assert sorted(attributes) == sorted(["Path=/", f"Max-Age={MAX_SECONDS}", "Secure", "HttpOnly", "SameSite=Strict"])
    assert "domain" not in cookie.lower()


def test_no_token_reaches_the_browser_only_the_cookie(github, browser):
    reply = browser.sign_in(github)

    (token,) = github.issued_access_tokens
    assert token not in reply.raw["body"]
    assert token not in " ".join(reply.cookies)
    assert "access_token" not in reply.body


def test_the_table_keys_the_session_by_a_hash_of_the_cookie_and_never_holds_the_cookie(github, browser, session_table):
    browser.sign_in(github)

    item = session_table.only_item()
    assert item["id"] == {"S": key_of(browser)}
    assert browser.cookie not in str(item)
    assert item["access_token"] == {"S": github.issued_access_tokens[-1]}
    assert int(item["expires_at"]["N"]) == pytest.approx(time.time() + IDLE_SECONDS, abs=5)


def test_each_sign_in_gets_a_fresh_256_bit_cookie(github, browser, invoke, sensitive):
    browser.sign_in(github)
    other = SessionBrowser(invoke, sensitive)
    other.sign_in(github)

    assert browser.cookie != other.cookie
    assert len(browser.cookie) == 43  # 32 random bytes, base64url


def test_the_code_is_redeemed_for_this_sites_callback_with_pkce(github, browser):
    browser.sign_in(github)

    (seen,) = github.requests_to("/login/oauth/access_token")
    form = seen.form()
    assert form["redirect_uri"] == SESSION_REDIRECT_URI
    assert form["client_secret"] == github.client_secret
    assert len(form["code_verifier"]) >= 43


def test_a_redirect_uri_of_another_site_is_refused(github, browser):
    elsewhere = "https://elsewhere.example/callback/github"
    github.redirect_uris.append(elsewhere)

    assert_error(browser.sign_in(github, redirect_uri=elsewhere), 400, "invalid_request")
    assert github.requests_to("/login/oauth/access_token") == []


def test_another_providers_callback_path_is_refused(github, browser):
    gitlab_path = SESSION_SITE + "/callback/gitlab"
    github.redirect_uris.append(gitlab_path)

    assert_error(browser.sign_in(github, redirect_uri=gitlab_path), 400, "invalid_request")
    assert github.requests_to("/login/oauth/access_token") == []


def test_a_rejected_code_is_invalid_grant_and_sets_no_cookie(github, browser):
    body = {"provider": "github", "code": "0123456789abcdef", "redirect_uri": SESSION_REDIRECT_URI, "code_verifier": "v" * 43}

    reply = browser.request("POST", "/api/session", body)

    assert_error(reply, 400, "invalid_grant")
    assert reply.cookies == []


def test_a_missing_verifier_is_refused_before_the_provider_is_asked(github, browser):
    code = github.authorize(SESSION_REDIRECT_URI)
    reply = browser.request("POST", "/api/session", {"provider": "github", "code": code, "redirect_uri": SESSION_REDIRECT_URI})

    assert_error(reply, 400, "invalid_request")
    assert github.requests_to("/login/oauth/access_token") == []


def test_signing_in_again_replaces_the_previous_session(github, browser, session_table):
    browser.sign_in(github)
    first_key = key_of(browser)

    browser.sign_in(github)

    assert [item["id"]["S"] for item in session_table.items()] == [key_of(browser)]
    assert key_of(browser) != first_key


def test_a_provider_without_user_info_signs_in_with_user_null(fake_provider, deploy, session_table, browser):
    from tests.function.conftest import session_settings

    provider = fake_provider("github", redirect_uris=[SESSION_REDIRECT_URI])
    session = session_settings({"github": provider})
    session["providers"]["github"]["userinfo_url"] = None
    deploy({"github": provider}, session=session)

    reply = browser.sign_in(provider)

    assert reply.status == 200
    assert reply.body["user"] is None


# -- the session view, reloads and tabs --------------------------------------------------


def test_a_reload_or_another_tab_sees_the_same_session(github, browser, invoke, sensitive):
    signed_in = browser.sign_in(github).body
    other_tab = SessionBrowser(invoke, sensitive)
    other_tab.cookies = dict(browser.cookies)

    reloaded = browser.request("GET", "/api/session")
    seen_elsewhere = other_tab.request("GET", "/api/session")

    assert reloaded.status == seen_elsewhere.status == 200
    assert reloaded.body == seen_elsewhere.body == signed_in
    assert reloaded.headers == SPEC_HEADERS
    assert reloaded.cookies == []


def test_without_a_cookie_the_answer_is_not_signed_in_and_sets_nothing(github, browser):
    reply = browser.request("GET", "/api/session")

    assert_error(reply, 401, "not_signed_in")
    assert reply.cookies == []


@pytest.mark.parametrize("value", ["A" * 43, "short", "x" * 200, "%2e%2e" + "a" * 37])
def test_an_unknown_or_malformed_cookie_is_not_signed_in_and_is_cleared(github, browser, value):
    browser.cookies[SESSION_COOKIE] = value

    reply = browser.request("GET", "/api/session")

    assert_error(reply, 401, "not_signed_in")
    assert reply.cookies == [f"{SESSION_COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict"]


def test_a_cookie_name_behind_a_unicode_space_is_not_the_session_cookie(github, browser):
    browser.sign_in(github)
    value = browser.cookies.pop(SESSION_COOKIE)
    browser.cookies["\u2000" + SESSION_COOKIE] = value  # not a __Host- cookie: any subdomain could have set it

    reply = browser.request("GET", "/api/session")

    assert_error(reply, 401, "not_signed_in")
    assert reply.cookies == []


def test_spaces_and_tabs_around_the_cookie_name_are_trimmed_as_rfc_6265_says(github, browser):
    browser.sign_in(github)
    value = browser.cookies.pop(SESSION_COOKIE)
    browser.cookies[" \t" + SESSION_COOKIE] = value

    reply = browser.request("GET", "/api/session")

    assert reply.status == 200
    assert reply.body["provider"] == "github"


def test_use_restarts_the_idle_limit(github, browser, session_table):
    browser.sign_in(github)
    an_hour_ago = int(time.time()) - 3600
    session_table.set_numbers(key_of(browser), last_seen_at=an_hour_ago, expires_at=an_hour_ago + IDLE_SECONDS)

    reply = browser.request("GET", "/api/session")

    assert reply.status == 200
    item = session_table.only_item()
    assert int(item["last_seen_at"]["N"]) == pytest.approx(time.time(), abs=5)
    assert int(item["expires_at"]["N"]) == pytest.approx(time.time() + IDLE_SECONDS, abs=5)
    assert reply.body["expiresAt"] == int(item["expires_at"]["N"]) * 1000


def test_an_idle_session_ends(github, browser, session_table):
    browser.sign_in(github)
    session_table.set_numbers(key_of(browser), last_seen_at=int(time.time()) - IDLE_SECONDS - 1)

    assert_error(browser.request("GET", "/api/session"), 401, "not_signed_in")
    assert session_table.items() == []
    assert browser.cookie is None


def frozen_clock(monkeypatch, at: int) -> None:
    """The session code's clock stopped at ``at`` (everything else keeps real time)."""
    import sessions

    monkeypatch.setattr(sessions, "time", SimpleNamespace(time=lambda: float(at), monotonic=time.monotonic, sleep=time.sleep))


def test_a_session_ends_at_the_exact_second_its_idle_limit_is_reached(github, browser, session_table, monkeypatch):
    browser.sign_in(github)
    now = int(time.time())
    session_table.set_numbers(key_of(browser), last_seen_at=now - IDLE_SECONDS)
    frozen_clock(monkeypatch, now)

    assert_error(browser.request("GET", "/api/session"), 401, "not_signed_in")
    assert session_table.items() == []


def test_a_session_is_live_one_second_before_its_idle_limit(github, browser, session_table, monkeypatch):
    browser.sign_in(github)
    now = int(time.time())
    session_table.set_numbers(key_of(browser), last_seen_at=now - IDLE_SECONDS + 1)
    frozen_clock(monkeypatch, now)

    reply = browser.request("GET", "/api/session")

    assert reply.status == 200
    assert reply.body["expiresAt"] == (now + IDLE_SECONDS) * 1000


def test_use_near_the_absolute_limit_never_extends_the_session_past_it(github, browser, session_table):
    browser.sign_in(github)
    now = int(time.time())
    created = now - MAX_SECONDS + 100  # 100 s of the absolute limit left, far less than the idle limit
    session_table.set_numbers(key_of(browser), created_at=created, last_seen_at=now - 3600)

    reply = browser.request("GET", "/api/session")

    assert reply.status == 200
    item = session_table.only_item()
    assert int(item["last_seen_at"]["N"]) == pytest.approx(now, abs=5)
    assert int(item["expires_at"]["N"]) == created + MAX_SECONDS  # the TTL
    assert reply.body["expiresAt"] == (created + MAX_SECONDS) * 1000


def test_a_session_ends_at_its_absolute_limit_however_busy(github, browser, session_table):
    browser.sign_in(github)
    session_table.set_numbers(key_of(browser), created_at=int(time.time()) - MAX_SECONDS - 1)

    assert_error(browser.request("GET", "/api/session"), 401, "not_signed_in")
    assert session_table.items() == []


def test_lifetimes_come_from_the_configuration(fake_provider, session_deploy, browser, session_table):
    provider = fake_provider("github", redirect_uris=[SESSION_REDIRECT_URI])
    session_deploy({"github": provider}, idle_seconds=600, max_seconds=3600)

    reply = browser.sign_in(provider)

    assert "Max-Age=3600" in reply.cookies[0]
    assert reply.body["expiresAt"] == pytest.approx((time.time() + 600) * 1000, abs=5000)
    session_table.set_numbers(key_of(browser), last_seen_at=int(time.time()) - 601)
    assert_error(browser.request("GET", "/api/session"), 401, "not_signed_in")


# -- signing out -------------------------------------------------------------------


def test_sign_out_revokes_the_token_deletes_the_session_and_clears_the_cookie(github, browser, session_table):
    browser.sign_in(github)
    (token,) = github.issued_access_tokens

    reply = browser.request("DELETE", "/api/session")

    assert reply.status == 200
    assert reply.body == {"signedOut": True, "revoked": True}
    assert reply.cookies == [f"{SESSION_COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict"]
    assert token in github.revoked_tokens
    assert session_table.items() == []
    assert_error(browser.request("GET", "/api/session"), 401, "not_signed_in")


def test_sign_out_revokes_the_refresh_token_too(github_app, browser):
    browser.sign_in(github_app)
    (access,) = github_app.issued_access_tokens
    (refresh,) = github_app.issued_refresh_tokens

    assert browser.request("DELETE", "/api/session").body == {"signedOut": True, "revoked": True}

    assert sorted(github_app.revoked_tokens) == sorted([refresh, access]), "GitHub: the whole authorization ends"
    (ended,) = github_app.requests_to(f"/applications/{github_app.client_id}/grant")
    assert ended.method == "DELETE"


def test_a_stolen_cookie_is_useless_after_sign_out(github, browser, invoke, sensitive):
    browser.sign_in(github)
    thief = SessionBrowser(invoke, sensitive)
    thief.cookies = dict(browser.cookies)

    browser.request("DELETE", "/api/session")

    assert_error(thief.request("GET", "/api/session"), 401, "not_signed_in")


def test_sign_out_without_a_session_is_not_signed_in(github, browser):
    assert_error(browser.request("DELETE", "/api/session"), 401, "not_signed_in")


def test_sign_out_still_ends_the_session_when_the_provider_cannot_revoke(github, browser, session_table):
    browser.sign_in(github)
    github.stop()

    reply = browser.request("DELETE", "/api/session")

    assert reply.status == 200
    assert reply.body == {"signedOut": True, "revoked": False}
    assert session_table.items() == []
    assert browser.cookie is None


# -- the token, for the token-mediating variant -----------------------------------------


def test_the_access_token_is_not_exposed_by_default(github, browser):
    browser.sign_in(github)

    assert_error(browser.request("GET", "/api/session/token"), 404, "not_found")


def test_expose_access_token_answers_the_current_token(fake_provider, session_deploy, browser):
    provider = fake_provider("github", redirect_uris=[SESSION_REDIRECT_URI], refresh_tokens=True)
    session_deploy({"github": provider}, expose_access_token=True)
    browser.sign_in(provider)

    reply = browser.request("GET", "/api/session/token")

    assert reply.status == 200
    assert reply.headers == SPEC_HEADERS
    assert reply.body["access_token"] == provider.issued_access_tokens[-1]
    assert reply.body["token_type"] == "bearer"
    assert 0 < reply.body["expires_in"] <= provider.access_token_ttl
    assert "refresh_token" not in reply.body
    assert_error(browser.request("POST", "/api/session/token"), 405, "method_not_allowed")


# -- CSRF -----------------------------------------------------------------------------


def test_a_request_without_the_csrf_header_is_refused(github, browser):
    browser.sign_in(github)

    assert_error(browser.request("GET", "/api/session", csrf=False), 403, "csrf_rejected")


@pytest.mark.parametrize("fetch_site", ["cross-site", "same-site", "none"])
def test_a_request_from_another_site_is_refused_by_its_fetch_metadata(github, browser, fetch_site):
    browser.sign_in(github)

    assert_error(browser.request("GET", "/api/session", fetch_site=fetch_site), 403, "csrf_rejected")
    assert_error(browser.request("DELETE", "/api/session", fetch_site=fetch_site), 403, "csrf_rejected")
    assert github.revoked_tokens == []


def test_a_request_with_another_origin_is_refused(github, browser):
    browser.sign_in(github)

    reply = browser.request("DELETE", "/api/session", origin="https://evil.example")

    assert_error(reply, 403, "csrf_rejected")
    assert github.revoked_tokens == []


def test_an_origin_that_only_starts_like_the_site_is_refused(github, browser):
    browser.sign_in(github)

    reply = browser.request("DELETE", "/api/session", origin=SESSION_SITE + ".evil.example")

    assert_error(reply, 403, "csrf_rejected")
    assert github.revoked_tokens == []
    assert browser.request("GET", "/api/session").status == 200


def test_a_cross_site_sign_in_spends_no_code(github, browser):
    code, verifier = github.authorize_pkce(SESSION_REDIRECT_URI)
    body = {"provider": "github", "code": code, "redirect_uri": SESSION_REDIRECT_URI, "code_verifier": verifier}

    reply = browser.request("POST", "/api/session", body, fetch_site="cross-site", origin="https://evil.example")

    assert_error(reply, 403, "csrf_rejected")
    assert github.requests_to("/login/oauth/access_token") == []


def test_a_browser_without_fetch_metadata_is_served_with_the_header(github, browser):
    browser.sign_in(github, fetch_site=None)

    assert browser.request("GET", "/api/session", fetch_site=None).status == 200


# -- the site's origin, from the distribution ---------------------------------------------


def test_without_the_distributions_site_origin_the_function_refuses_to_guess(github, browser):
    reply = browser.request("GET", "/api/session", site_origin=None)

    assert_error(reply, 500, "server_error")


def test_plain_http_is_accepted_only_for_a_loopback_site(github, browser):
    assert_error(browser.request("GET", "/api/session", site_origin="http://site.example"), 500, "server_error")
    reply = browser.request("GET", "/api/session", site_origin="http://127.0.0.1:8000", origin="http://127.0.0.1:8000")
    assert_error(reply, 401, "not_signed_in")


def test_configured_origins_limit_what_the_distribution_may_name(fake_provider, session_deploy, browser):
    provider = fake_provider("github", redirect_uris=[SESSION_REDIRECT_URI])
    session_deploy({"github": provider}, origins=[SESSION_SITE])

    assert browser.sign_in(provider).status == 200
    other = "https://other.example"
    assert_error(browser.request("GET", "/api/session", site_origin=other, origin=other), 403, "csrf_rejected")
    near = SESSION_SITE + ".evil.example"
    assert_error(browser.request("GET", "/api/session", site_origin=near, origin=near), 403, "csrf_rejected")


# -- routes -----------------------------------------------------------------------------


def test_other_methods_on_the_session_are_405_with_allow(github, browser):
    reply = browser.request("PUT", "/api/session", {})

    assert_error(reply, 405, "method_not_allowed")
    assert reply.headers["Allow"] == "GET, POST, DELETE"


def test_unknown_api_paths_are_404(github, browser):
    assert_error(browser.request("GET", "/api/sessions"), 404, "not_found")
    assert_error(browser.request("GET", "/api/session/"), 404, "not_found")


def test_without_session_mode_api_paths_do_not_exist(github_browser_mode, browser):
    assert_error(browser.request("GET", "/api/session"), 404, "not_found")


@pytest.fixture
def github_browser_mode(fake_provider, deploy):
    provider = fake_provider("github")
    deploy({"github": provider})
    return provider


def test_the_request_log_names_fixed_routes_and_never_the_cookie(github, browser, sensitive):
    browser.sign_in(github)
    browser.request("GET", "/api/session")
    browser.request("GET", "/api/proxy/github/user")

    routes = [line.route for line in sensitive.request_lines()]
    assert routes == ["/api/session", "/api/session", "/api/proxy"]
    assert [line.outcome for line in sensitive.request_lines()] == ["ok", "ok", "ok"]


# -- the table failing -------------------------------------------------------------------


def test_a_table_that_is_gone_is_503_and_nothing_crashes(github, browser, session_table):
    browser.sign_in(github)
    session_table.drop()

    assert_error(browser.request("GET", "/api/session"), 503, "session_unavailable")
    assert_error(browser.request("DELETE", "/api/session"), 503, "session_unavailable")
    assert_error(browser.request("GET", "/api/proxy/github/user"), 503, "session_unavailable")


def test_a_sign_in_that_cannot_be_stored_revokes_the_new_token(github, browser, session_table):
    session_table.drop()

    reply = browser.sign_in(github)

    assert_error(reply, 503, "session_unavailable")
    assert reply.cookies == []
    assert github.revoked_tokens == github.issued_access_tokens != []


def test_a_sign_in_whose_session_write_stalls_past_the_deadline_still_revokes_its_token(
    fake_provider, deploy, session_table, browser, monkeypatch
):
    import exchange

    provider = fake_provider("github", redirect_uris=[SESSION_REDIRECT_URI])
    deploy({"github": provider}, session=session_settings({"github": provider}), timeout_seconds=1)
    with fault_servers.running(fault_servers.hang()) as stalling_table:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", stalling_table.url.removesuffix("/token"))
        exchange.reset()
        started = time.monotonic()

        reply = browser.sign_in(provider)

        stalled = time.monotonic() - started
    assert stalled > 1, "the write outlasted the one-second provider budget"
    assert_error(reply, 503, "session_unavailable")
    assert reply.cookies == []
    assert [b"PutItem" in request for request in stalling_table.requests] == [True]
    assert provider.revoked_tokens == provider.issued_access_tokens != []
    assert provider.active_access_tokens() == []


def test_an_unreachable_table_is_503_within_its_time_bound(github, browser, monkeypatch):
    import exchange

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{port}")
    exchange.reset()
    browser.cookies[SESSION_COOKIE] = "A" * 43

    started = time.monotonic()
    reply = browser.request("GET", "/api/session")

    assert_error(reply, 503, "session_unavailable")
    assert time.monotonic() - started < 5


def test_session_mode_without_aws_credentials_is_a_configuration_error_that_names_them(
    github, session_deploy, browser, sensitive, monkeypatch
):
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    session_deploy({"github": github})

    replies = [browser.request("GET", "/api/session") for _ in range(2)]

    assert [(r.status, r.body["error"]) for r in replies] == [(500, "server_error")] * 2
    errors = [r.getMessage() for r in sensitive.records() if r.levelno >= logging.ERROR and r.name == "oauth_exchange"]
    assert errors == [
        "configuration invalid: session mode's DynamoDB client: "
        "the AWS credentials could not be loaded (Partial credentials found in env, missing: AWS_SECRET_ACCESS_KEY)"
    ]

