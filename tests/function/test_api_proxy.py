"""Session mode's API proxy: the allow-list, path tricks, what passes each way, and the provider's answers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from local.http_server import LoopbackServer, QuietHandler
from tests.function.conftest import CSRF_HEADER, SESSION_COOKIE, SESSION_REDIRECT_URI, SITE_ORIGIN_HEADER, SessionBrowser

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    connection: int


class _ApiHandler(QuietHandler):
    server: ApiServer

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.seen.append(
            ApiRequest(
                self.command,
                self.path,
                {k.lower(): v for k, v in self.headers.items()},
                body,
                self.server.connection_serial(self.connection),
            )
        )
        path = self.path.split("?", 1)[0]
        base = self.server.base
        if path.startswith("/status/"):
            status = int(path.removeprefix("/status/"))
            self._answer(status, json.dumps({"message": f"status {status}"}).encode(), "application/json")
        elif path == "/binary":
            self._answer(200, b"\x89PNG\r\n\x1a\n\x00", "image/png")
        elif path == "/text":
            self._answer(200, "plain words ✓".encode(), "text/plain; charset=utf-8")
        elif path == "/big":
            self._answer(200, b'{"x":"' + b"a" * (2 * 1024 * 1024) + b'"}', "application/json")
        elif path == "/empty":
            self._answer(204, b"", None)
        else:
            echo = {"method": self.command, "path": self.path, "body": body.decode("utf-8", "replace")}
            self._answer(
                200,
                json.dumps(echo).encode(),
                "application/json; charset=utf-8",
                [
                    ("Set-Cookie", "upstream_session=abc; Path=/; HttpOnly"),
                    ("ETag", '"v1"'),
                    ("Link", f'<{base}/repos?page=2>; rel="next", <{base}/repos?page=9>; rel="last"'),
                    ("X-RateLimit-Remaining", "4999"),
                    ("X-Internal-Trace", "must-not-pass"),
                    ("Access-Control-Allow-Origin", "*"),
                ],
            )

    def _answer(self, status: int, body: bytes, media_type: str | None, extra: list[tuple[str, str]] | None = None) -> None:
        headers = [("Content-Type", media_type)] if media_type else []
        self.send_body(status, headers + (extra or []), body)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


class ApiServer(LoopbackServer):
    def __init__(self) -> None:
        super().__init__(_ApiHandler, log_name="api")
        self.seen: list[ApiRequest] = []

    @property
    def base(self) -> str:
        return self.origin


@pytest.fixture
def api() -> Iterator[ApiServer]:
    server = ApiServer()
    server.start("api")
    yield server
    server.stop()


@pytest.fixture
def github(fake_provider):
    return fake_provider("github", redirect_uris=[SESSION_REDIRECT_URI])


@pytest.fixture
def open_api(github, api, session_deploy):
    """Every method and path of the test API allowed: what is refused then is refused by the path checks."""
    session_deploy({"github": github}, api_base_url=api.base, api_paths=[{"methods": ALL_METHODS, "prefix": "/"}])
    return api


@pytest.fixture
def signed_in(browser, github):
    assert browser.sign_in(github).status == 200
    return browser


def assert_refused(reply, status=403, error="path_not_allowed"):
    assert reply.status == status, reply.body
    assert reply.body["error"] == error


# -- the allow-list -------------------------------------------------------------------


def test_the_user_info_path_is_allowed_by_default_and_carries_the_sessions_token(github, session_deploy, browser):
    session_deploy({"github": github})
    browser.sign_in(github)

    reply = browser.request("GET", "/api/proxy/github/user")

    assert reply.status == 200
    assert reply.body["login"] == "octocat"
    seen = github.requests_to("/user")[-1]
    assert seen.headers["authorization"] == f"Bearer {github.issued_access_tokens[-1]}"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/proxy/github/users"),
        ("GET", "/api/proxy/github/user-x"),
        ("GET", "/api/proxy/github/"),
        ("GET", "/api/proxy/github/applications/x/token"),
        ("POST", "/api/proxy/github/user"),
        ("DELETE", "/api/proxy/github/user"),
    ],
)
def test_outside_the_allow_list_is_path_not_allowed_and_never_reaches_the_provider(github, session_deploy, browser, method, path):
    session_deploy({"github": github})
    browser.sign_in(github)
    before = len(github.seen)

    assert_refused(browser.request(method, path, {} if method != "GET" else None))

    assert github.seen[before:] == []


def test_a_prefix_allows_what_lies_below_it_by_whole_segments(github, api, session_deploy, browser):
    session_deploy({"github": github}, api_base_url=api.base, api_paths=[{"methods": ["GET"], "prefix": "/repos/octo/"}])
    browser.sign_in(github)

    assert browser.request("GET", "/api/proxy/github/repos/octo/app/issues").status == 200
    assert browser.request("GET", "/api/proxy/github/repos/octo").status == 200
    assert_refused(browser.request("GET", "/api/proxy/github/repos/octopus/app"))
    assert [seen.path for seen in api.seen] == ["/repos/octo/app/issues", "/repos/octo"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/proxy/github/../applications",
        "/api/proxy/github/user/../../applications/x/token",
        "/api/proxy/github/./user",
        "/api/proxy/github/%2e%2e/applications",
        "/api/proxy/github/%2E./applications",
        "/api/proxy/github/user%2F..%2F..%2Fapplications",
        "/api/proxy/github/user%2fsecrets",
        "/api/proxy/github/user%5c..%5capplications",
        "/api/proxy/github/user\\..\\applications",
        "/api/proxy/github//evil.example/x",
        "/api/proxy/github/http://evil.example/x",
        "/api/proxy/github/user;/../applications",
        "/api/proxy/github/user%00",
        "/api/proxy/github/us er",
        "/api/proxy/github/usér",
    ],
)
def test_path_tricks_are_refused_even_when_every_path_is_allowed(open_api, signed_in, path):
    assert_refused(signed_in.request("GET", path))
    assert open_api.seen == []


def test_what_looks_like_another_host_stays_on_the_api_host(open_api, signed_in):
    reply = signed_in.request("GET", "/api/proxy/github/@evil.example/x")

    assert reply.status == 200
    (seen,) = open_api.seen
    assert seen.path == "/@evil.example/x"
    assert seen.headers["host"] == open_api.base.removeprefix("http://")


def test_an_unknown_provider_is_404(open_api, signed_in):
    assert_refused(signed_in.request("GET", "/api/proxy/gitlab/user"), 404, "not_found")


def test_a_provider_without_an_api_allows_nothing(github, session_deploy, browser):
    session_deploy({"github": github}, api_paths=[])
    browser.sign_in(github)

    assert_refused(browser.request("GET", "/api/proxy/github/user"))


def test_the_proxy_needs_a_session(open_api, browser):
    assert_refused(browser.request("GET", "/api/proxy/github/user"), 401, "not_signed_in")
    assert open_api.seen == []


def test_the_proxy_needs_the_csrf_header(open_api, signed_in):
    assert_refused(signed_in.request("GET", "/api/proxy/github/user", csrf=False), 403, "csrf_rejected")
    assert open_api.seen == []


# -- what passes each way ---------------------------------------------------------------


def test_only_content_negotiation_headers_and_the_token_go_upstream(open_api, signed_in, github):
    reply = signed_in.request(
        "GET",
        "/api/proxy/github/repos",
        headers={"accept": "application/vnd.github+json", "x-github-api-version": "2022-11-28", "x-custom": "no"},
    )

    assert reply.status == 200
    (seen,) = open_api.seen
    assert seen.headers["authorization"] == f"Bearer {github.issued_access_tokens[-1]}"
    assert seen.headers["accept"] == "application/vnd.github+json"
    assert seen.headers["x-github-api-version"] == "2022-11-28"
    for never in ("cookie", "origin", "sec-fetch-site", CSRF_HEADER, SITE_ORIGIN_HEADER, "x-custom"):
        assert never not in seen.headers, never


def test_a_bodiless_put_post_or_patch_goes_upstream_with_content_length_zero(open_api, signed_in):
    for method in ("PUT", "POST", "PATCH", "DELETE"):
        assert signed_in.request(method, "/api/proxy/github/user/starred/octo/hello").status == 200

    lengths = {seen.method: seen.headers.get("content-length") for seen in open_api.seen}
    assert lengths == {"PUT": "0", "POST": "0", "PATCH": "0", "DELETE": None}, "GitHub wants Content-Length: 0 to star"


def test_a_forwarded_header_that_is_not_printable_ascii_is_refused_before_anything_is_sent(open_api, signed_in):
    for value in ("application/json; q=é", "application/json\x7f"):
        reply = signed_in.request("GET", "/api/proxy/github/repos", headers={"accept": value})

        assert_refused(reply, 400, "invalid_request")
        assert "accept header" in reply.body["error_description"]
    assert open_api.seen == []


def test_the_answer_keeps_its_status_body_and_a_bounded_set_of_headers(open_api, signed_in):
    reply = signed_in.request("GET", "/api/proxy/github/repos")

    assert reply.status == 200
    assert reply.body == {"method": "GET", "path": "/repos", "body": ""}
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
    assert reply.headers["Etag"] == '"v1"'
    assert reply.headers["X-Ratelimit-Remaining"] == "4999"
    assert reply.headers["Cache-Control"] == "no-store"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    lowered = {name.lower() for name in reply.headers}
    assert "set-cookie" not in lowered and "x-internal-trace" not in lowered
    assert not any(name.startswith("access-control-") for name in lowered)
    assert reply.cookies == []


def test_pagination_links_point_back_through_the_proxy(open_api, signed_in):
    reply = signed_in.request("GET", "/api/proxy/github/repos")

    assert reply.headers["Link"] == '</api/proxy/github/repos?page=2>; rel="next", </api/proxy/github/repos?page=9>; rel="last"'


def test_the_query_goes_upstream(open_api, signed_in):
    signed_in.request("GET", "/api/proxy/github/search/issues", query="q=is%3Aopen+label%3Abug&per_page=5")

    (seen,) = open_api.seen
    assert seen.path == "/search/issues?q=is%3Aopen%20label%3Abug&per_page=5"


def test_a_body_goes_upstream_as_sent(open_api, signed_in):
    body = {"title": "Found a bug", "body": "x" * 40_000}

    reply = signed_in.request("POST", "/api/proxy/github/repos/octo/app/issues", body)

    assert reply.status == 200
    (seen,) = open_api.seen
    assert seen.method == "POST"
    assert json.loads(seen.body) == body
    assert seen.headers["content-type"] == "application/json"


def test_a_body_over_a_mebibyte_is_request_too_large(open_api, signed_in):
    reply = signed_in.request("PUT", "/api/proxy/github/files", raw_body="x" * (1024 * 1024 + 1))

    assert_refused(reply, 413, "request_too_large")
    assert open_api.seen == []


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_a_provider_client_error_passes_through(open_api, signed_in, status):
    reply = signed_in.request("GET", f"/api/proxy/github/status/{status}")

    assert reply.status == status
    assert reply.body == {"message": f"status {status}"}


def test_a_provider_server_error_is_provider_error(open_api, signed_in):
    assert_refused(signed_in.request("GET", "/api/proxy/github/status/503"), 502, "provider_error")


def test_text_passes_and_binary_is_refused(open_api, signed_in):
    text = signed_in.request("GET", "/api/proxy/github/text")
    assert text.status == 200
    assert text.body == "plain words ✓"
    assert text.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert_refused(signed_in.request("GET", "/api/proxy/github/binary"), 502, "provider_error")


def test_an_empty_answer_passes_with_its_status(open_api, signed_in):
    reply = signed_in.request("DELETE", "/api/proxy/github/empty")

    assert reply.status == 204
    assert reply.raw["body"] == ""


def test_an_answer_over_the_bound_is_provider_error(open_api, signed_in):
    assert_refused(signed_in.request("GET", "/api/proxy/github/big"), 502, "provider_error")


def test_a_session_of_another_provider_cannot_use_this_providers_api(fake_provider, api, session_deploy, invoke, sensitive):
    github = fake_provider("github", redirect_uris=[SESSION_REDIRECT_URI])
    gitlab = fake_provider("rfc6749", redirect_uris=["https://d1234abcd.cloudfront.net/callback/gitlab"])
    everything = [{"methods": ["GET"], "prefix": "/"}]
    session_deploy({"github": github, "gitlab": gitlab}, api_base_url=api.base, api_paths=everything)
    browser = SessionBrowser(invoke, sensitive)
    assert browser.sign_in(github).status == 200

    assert_refused(browser.request("GET", "/api/proxy/gitlab/user"))
    assert api.seen == []


def test_calls_reuse_one_pooled_connection(open_api, signed_in):
    for _ in range(5):
        assert signed_in.request("GET", "/api/proxy/github/repos").status == 200

    assert {seen.connection for seen in open_api.seen} == {1}
    assert open_api.connections_accepted == 1


def test_concurrent_calls_all_get_their_answers(open_api, signed_in, invoke, sensitive):
    replies = []

    def call() -> None:
        tab = SessionBrowser(invoke, sensitive)
        tab.cookies = {SESSION_COOKIE: signed_in.cookie}
        replies.append(tab.request("GET", "/api/proxy/github/repos").status)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert replies == [200] * 4
