"""The Lambda adapter, the request log line, unexpected failures and concurrent calls."""

from __future__ import annotations

import importlib.machinery
import logging
import pathlib
import sys
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

import exchange
import grants
import handler
from tests.function.conftest import code_fields, REDIRECT_URI, SPEC_HEADERS, make_event, pkce_pair


def test_one_info_line_per_request_with_id_route_provider_outcome_status_and_upstream_time(github, invoke, sensitive):
    context = SimpleNamespace(aws_request_id="8f5a2c1e-0000-4000-8000-000000000001")
    invoke("/token", {"provider": "github", **code_fields(github), "redirect_uri": REDIRECT_URI}, context=context)
    bad = {"provider": "github", "code": "bad-code-000000000000", "redirect_uri": REDIRECT_URI, "code_verifier": "v" * 43}
    invoke("/token", bad, context=context)

    ok, bad = sensitive.request_lines()
    assert ok.levelno == logging.INFO
    assert (ok.request_id, ok.route, ok.provider, ok.outcome, ok.status) == (context.aws_request_id, "/token", "github", "ok", 200)
    assert (bad.outcome, bad.status) == ("invalid_grant", 400)
    assert isinstance(ok.upstream_ms, int) and ok.upstream_ms >= 0
    for field in ("request_id=8f5a2c1e", "route=/token", "provider=github", "outcome=ok", "status=200", "upstream_ms="):
        assert field in ok.getMessage(), "the text log format only shows the message"


def test_request_id_falls_back_to_the_function_url_request_id(github, invoke, sensitive):
    event = make_event("/nowhere")
    event["requestContext"]["requestId"] = "abc-123"

    invoke(event=event, context=SimpleNamespace())

    assert sensitive.request_lines()[0].request_id == "abc-123"


def test_request_id_that_could_forge_log_lines_is_not_used(github, invoke, sensitive):
    event = make_event("/nowhere")
    event["requestContext"]["requestId"] = "x\nrequest_id=forged"

    invoke(event=event, context=SimpleNamespace())

    assert sensitive.request_lines()[0].request_id == "-"


def test_httpx_does_not_add_a_second_line_per_request(github, invoke, sensitive):
    invoke("/token", {**code_fields(github), "redirect_uri": REDIRECT_URI})

    info_lines = [r.name for r in sensitive.records() if r.levelno >= logging.INFO]
    assert info_lines.count("oauth_exchange") == 1
    assert not [name for name in info_lines if name.startswith(("httpx", "httpcore"))]


def test_unknown_routes_and_failures_log_without_a_provider(github, invoke, sensitive):
    invoke("/x", {}, method="GET")

    (line,) = sensitive.request_lines()
    assert (line.route, line.provider, line.outcome, line.status) == ("other", "-", "not_found", 404)


@pytest.mark.parametrize(
    "event",
    [None, [], "POST /token", 42, {}, {"rawPath": "/token"}, {"requestContext": "x", "rawPath": "/token"}],
    ids=["none", "list", "string", "number", "empty", "no-method", "bad-context"],
)
def test_events_that_are_not_function_url_events_still_get_a_well_formed_answer(github, invoke, event):
    reply = invoke(event=event)

    assert reply.status in (404, 405)
    assert {k: v for k, v in reply.headers.items() if k != "Allow"} == SPEC_HEADERS


def test_body_that_is_not_a_string_is_invalid_request(github, invoke):
    event = make_event("/token")
    event["body"] = {"code": "x"}

    assert invoke(event=event).body["error"] == "invalid_request"


def test_headers_that_are_not_strings_are_ignored(github, invoke):
    event = make_event("/token", {"code": "c-0123456789", "redirect_uri": REDIRECT_URI, "code_verifier": "v" * 43}, origin=None)
    event["headers"]["origin"] = ["https://evil.example"]
    event["headers"][7] = "x"

    assert invoke(event=event).body["error"] == "invalid_grant"


def test_unexpected_failure_in_the_core_is_a_bare_server_error(github, invoke, monkeypatch, sensitive):
    verifier, _ = pkce_pair()
    sensitive.add(verifier)

    def explode(*args):
        raise RuntimeError(f"boom with {verifier}")

    monkeypatch.setattr(grants, "authorization_code_form", explode)

    reply = invoke("/token", {"code": "c-0123456789", "redirect_uri": REDIRECT_URI, "code_verifier": verifier})

    assert (reply.status, reply.body) == (500, {"error": "server_error", "error_description": "An unexpected error occurred."})
    (line,) = sensitive.request_lines()
    assert "RuntimeError" in line.getMessage() and "test_handler.py" in line.getMessage()


def test_unexpected_failure_in_the_adapter_is_a_bare_server_error(github, invoke, monkeypatch, sensitive):
    def explode(request):
        raise MemoryError("secret detail")

    monkeypatch.setattr(exchange, "handle", explode)

    reply = invoke("/token", {})

    assert (reply.status, reply.body["error"]) == (500, "server_error")
    line = sensitive.request_lines()[0]
    assert "secret detail" not in line.getMessage()
    assert (line.outcome, line.detail) == ("server_error", "adapter failed (MemoryError)")


def test_concurrent_calls_from_many_threads_all_succeed(github, invoke):
    bodies = [{**code_fields(github), "redirect_uri": REDIRECT_URI} for _ in range(48)]

    with ThreadPoolExecutor(12) as pool:
        replies = list(pool.map(lambda body: invoke("/token", body), bodies))

    assert [r.status for r in replies] == [200] * 48
    assert len({r.body["access_token"] for r in replies}) == 48
    assert github.connections_accepted <= 12, "at most one pooled connection per concurrent caller"


def test_handler_module_names_do_not_shadow_installed_packages():
    function_dir = pathlib.Path(handler.__file__).parent
    for module in function_dir.glob("*.py"):
        name = module.stem
        assert name not in sys.stdlib_module_names, f"function/{module.name} shadows the standard library"
        others = [p for p in sys.path if p and pathlib.Path(p).resolve() != function_dir.resolve()]
        spec = importlib.machinery.PathFinder.find_spec(name, others)
        assert spec is None, f"function/{module.name} shadows an installed module"
