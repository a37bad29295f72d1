"""Network faults at the provider: timeouts, refusals, huge or dripping answers, dropped connections."""

from __future__ import annotations

import gzip
import json
import time
import tracemalloc

import httpcore
import pytest

import provider_http
from tests.function import fault_servers
from tests.function.conftest import REDIRECT_URI, lambda_context

TOKEN = "gho_" + "F" * 36


@pytest.fixture
def deploy_token_url(deploy, sensitive):
    """Deploy one provider whose token endpoint is ``url``."""
    sensitive.add_tokens(TOKEN)

    def apply(url: str, **settings):
        deploy({"github": {"client_id": "cid", "token_url": url}}, secrets={"github": "fault-test-client-secret"}, **settings)

    return apply


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_provider_that_never_answers_is_provider_timeout(deploy_token_url, exchange_code):
    with fault_servers.running(fault_servers.hang()) as server:
        deploy_token_url(server.url, timeout_seconds=0.3)

        reply, elapsed = timed(lambda: exchange_code("code-0123456789"))

    assert (reply.status, reply.body["error"]) == (504, "provider_timeout")
    assert 0.25 < elapsed < 1.5
    assert len(server.requests) == 1, "a read timeout is never retried"


def test_provider_that_drips_its_answer_is_cut_off_at_the_deadline(deploy_token_url, exchange_code):
    body = fault_servers.token_answer(TOKEN) + b" " * 200
    with fault_servers.running(fault_servers.drip(body, interval=0.02)) as server:
        deploy_token_url(server.url, timeout_seconds=0.4)

        reply, elapsed = timed(lambda: exchange_code("code-0123456789"))

    assert (reply.status, reply.body["error"]) == (504, "provider_timeout")
    assert elapsed < 1.5, "each byte arrives well within the read timeout, so only the overall deadline stops it"


def test_provider_that_drips_its_answers_head_is_cut_off_at_the_deadline(deploy_token_url, exchange_code):
    with fault_servers.running(fault_servers.drip_head(interval=0.1, seconds=4)) as server:
        deploy_token_url(server.url, timeout_seconds=0.5)

        reply, elapsed = timed(lambda: exchange_code("code-0123456789"))

    assert (reply.status, reply.body["error"]) == (504, "provider_timeout")
    assert elapsed < 1.2, "each header line arrives within the read timeout; only the deadline stops the head"


def test_answer_completed_just_after_the_deadline_is_still_used(deploy_token_url, exchange_code):
    pieces = fault_servers.late_tail(fault_servers.token_answer(TOKEN), pauses=[0.2, 0.2])
    with fault_servers.running(pieces) as server:
        deploy_token_url(server.url, timeout_seconds=0.3)

        reply = exchange_code("code-0123456789")

    assert reply.status == 200, "the provider already spent the code on this answer"


def test_platform_deadline_shortens_the_provider_timeout(deploy_token_url, invoke):
    with fault_servers.running(fault_servers.hang()) as server:
        deploy_token_url(server.url, timeout_seconds=10)

        body = {"code": "code-0123456789", "redirect_uri": REDIRECT_URI, "code_verifier": "v" * 43}
        reply, elapsed = timed(lambda: invoke("/token", body, context=lambda_context(seconds_left=0.75)))

    assert reply.body["error"] == "provider_timeout"
    assert elapsed < 1.0, "the answer must beat Lambda's own timeout"


def test_connection_refused_is_provider_error(deploy_token_url, exchange_code):
    with fault_servers.refused_port() as port:
        deploy_token_url(f"http://127.0.0.1:{port}/token")

        reply = exchange_code("code-0123456789")

    assert (reply.status, reply.body["error"]) == (502, "provider_error")


def test_unresolvable_host_is_provider_error(deploy_token_url, exchange_code):
    deploy_token_url("https://provider.invalid/token")

    assert exchange_code("code-0123456789").body["error"] == "provider_error"


def test_huge_answer_is_provider_error_without_reading_it_all(deploy_token_url, exchange_code):
    with fault_servers.running(fault_servers.answer(200, b"{" + b" " * 5_000_000 + b"}")) as server:
        deploy_token_url(server.url)

        reply, elapsed = timed(lambda: exchange_code("code-0123456789"))

    assert (reply.status, reply.body["error"]) == (502, "provider_error")
    assert elapsed < 1.0


def test_endless_chunked_answer_is_cut_off_at_64_kib(deploy_token_url, exchange_code):
    with fault_servers.running(fault_servers.endless_chunks(b" " * 4096)) as server:
        deploy_token_url(server.url)

        reply = exchange_code("code-0123456789")

    assert (reply.status, reply.body["error"]) == (502, "provider_error")


def test_answer_just_under_the_cap_is_read(deploy_token_url, exchange_code):
    answer = fault_servers.token_answer(TOKEN)
    padded = answer[:-1] + b" " * (64 * 1024 - len(answer)) + b"}"
    with fault_servers.running(fault_servers.answer(200, padded)) as server:
        deploy_token_url(server.url)

        assert exchange_code("code-0123456789").body["access_token"] == TOKEN


def test_connection_closed_without_answer_is_provider_error_and_not_retried(deploy_token_url, exchange_code):
    with fault_servers.running(fault_servers.close_without_answer()) as server:
        deploy_token_url(server.url)

        reply = exchange_code("code-0123456789")

    assert (reply.status, reply.body["error"]) == (502, "provider_error")
    assert len(server.requests) == 1, "the request reached the provider on a fresh connection: a code is single-use"


@pytest.fixture
def attempt_events(monkeypatch):
    """The httpcore trace events each provider call attempt saw, one list per attempt."""
    attempts: list[list[str]] = []
    original_init = provider_http._AttemptTrace.__init__
    original_call = provider_http._AttemptTrace.__call__

    def init(self, deadline):
        original_init(self, deadline)
        self.seen_events = []
        attempts.append(self.seen_events)

    def call(self, event, info):
        self.seen_events.append(event)
        original_call(self, event, info)

    monkeypatch.setattr(provider_http._AttemptTrace, "__init__", init)
    monkeypatch.setattr(provider_http._AttemptTrace, "__call__", call)
    return attempts


@pytest.fixture
def reset_seen_late(monkeypatch):
    """The pool's check for a closed idle connection runs before the provider's reset is visible.

    httpcore drops an idle connection whose close it can already see (the
    socket is readable) before sending on it. In a container thawed while the
    provider's close was still in flight, that check passes and the request is
    written to a connection that is already gone: this makes the check pass.
    """
    monkeypatch.setattr(httpcore.HTTP11Connection, "has_expired", lambda self: False)


def test_pooled_connection_reset_before_the_request_was_sent_is_retried_on_a_new_one(
    deploy_token_url, exchange_code, reset_seen_late, attempt_events
):
    with fault_servers.running(fault_servers.answer_once_then_reset_idle(fault_servers.token_answer(TOKEN))) as server:
        deploy_token_url(server.url)
        assert exchange_code("code-0123456789").status == 200
        time.sleep(0.3)

        reply = exchange_code("code-9876543210")

    assert reply.status == 200
    assert server.connections_accepted == 2
    assert [b"code-9876543210" in request for request in server.requests] == [False, True], (
        "the reset connection never carried the request; the retry on a new one did"
    )
    first, dropped, retried = attempt_events
    assert "connection.connect_tcp.complete" not in dropped, "the failed attempt used the pooled connection"
    assert "http11.send_request_body.complete" not in dropped
    assert "connection.connect_tcp.complete" in retried


def test_request_that_reached_the_provider_on_a_pooled_connection_is_not_resent(
    deploy_token_url, exchange_code, attempt_events
):
    """The provider read the whole request, then closed without answering: the code may be spent."""
    with fault_servers.running(fault_servers.answer_once_then_read_and_close(fault_servers.token_answer(TOKEN))) as server:
        deploy_token_url(server.url)
        assert exchange_code("code-0123456789").status == 200

        reply = exchange_code("code-9876543210")

    assert (reply.status, reply.body["error"]) == (502, "provider_error")
    assert sum(b"code-9876543210" in request for request in server.requests) == 1, "a code is single-use"
    assert server.connections_accepted == 1
    assert "http11.send_request_body.complete" in attempt_events[1]


def test_provider_closing_idle_keepalive_connections_does_not_fail_requests(fake_provider, deploy, exchange_code):
    provider = fake_provider("github", keepalive_timeout=0.1)
    deploy({"github": provider})
    assert exchange_code(*provider.authorize_pkce(REDIRECT_URI)).status == 200
    time.sleep(0.3)

    reply = exchange_code(*provider.authorize_pkce(REDIRECT_URI))

    assert reply.status == 200
    assert provider.connections_accepted == 2


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


@pytest.mark.parametrize("encoding", ["gzip", "GZIP", "deflate", "br", "x-custom"])
def test_compressed_answer_is_provider_error(deploy_token_url, exchange_code, encoding):
    """The function asks for identity; an answer encoded anyway is not read, whatever the encoding."""
    body = gzipped(fault_servers.token_answer(TOKEN))
    with fault_servers.running(fault_servers.answer(200, body, **{"Content-Encoding": encoding})) as server:
        deploy_token_url(server.url)

        reply = exchange_code("code-0123456789")

    assert (reply.status, reply.body["error"]) == (502, "provider_error")
    assert b"\r\naccept-encoding: identity\r\n" in server.requests[0].lower()


def test_answer_with_identity_content_encoding_is_read(deploy_token_url, exchange_code):
    answer = fault_servers.answer(200, fault_servers.token_answer(TOKEN), **{"Content-Encoding": "Identity"})
    with fault_servers.running(answer) as server:
        deploy_token_url(server.url)

        assert exchange_code("code-0123456789").body["access_token"] == TOKEN


def test_gzip_bomb_is_never_inflated(deploy_token_url, exchange_code):
    """48 KiB on the wire, 48 MiB inflated: the 64 KiB cap counts wire bytes, and nothing is inflated."""
    bomb = gzipped(b'{"access_token": "' + b"0" * (48 * 1024 * 1024) + b'"}')
    assert len(bomb) < 64 * 1024
    with fault_servers.running(fault_servers.answer(200, bomb, **{"Content-Encoding": "gzip"})) as server:
        deploy_token_url(server.url)
        tracemalloc.start()
        try:
            reply = exchange_code("code-0123456789")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    assert (reply.status, reply.body["error"]) == (502, "provider_error")
    assert peak < 4 * 1024 * 1024


def test_an_answer_that_came_with_another_behind_it_never_lends_that_one_to_the_next_user():
    """The extra answer is read with the first, into h11's buffer: the socket itself shows nothing waiting."""

    def answer_with_a_stray_one_behind(server, connection, serial):
        n = 0
        while server.read_request(connection) is not None:
            n += 1
            mine = json.dumps({"login": f"user-of-connection-{serial}-request-{n}"}).encode()
            stray = json.dumps({"login": "someone-else"}).encode()
            connection.sendall(fault_servers.http_response(200, mine) + fault_servers.http_response(200, stray))

    client = provider_http.ProviderClient(provider_http.tls_context({}))
    with fault_servers.running(answer_with_a_stray_one_behind) as server:
        first = client.send_raw("GET", server.url, timeout=2)
        second = client.send_raw("GET", server.url, timeout=2)
    client.close()

    assert (first.status, json.loads(first.body)) == (200, {"login": "user-of-connection-1-request-1"})
    assert (second.status, json.loads(second.body)) == (200, {"login": "user-of-connection-2-request-1"})
    assert first.headers["content-length"] == str(len(first.body))
    assert server.connections_accepted == 2
