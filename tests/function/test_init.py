"""Container state is built at init (the handler's import), and a broken init still answers.

Lambda runs the import on a full vCPU and each invocation on a fraction of
one, so the botocore client, the CA bundle and the httpcore pool must be ready
before the first request. These tests start the function in fresh
interpreters, as Lambda starts a container, against an HTTPS fake GitHub and
moto's Secrets Manager in a process of its own.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import botocore.session
import httpcore
import pytest

import exchange
from local.loopback_tls import LoopbackCA
from local.secrets_store import DUMMY_CREDENTIALS, SecretsStore
from tests.function.conftest import REDIRECT_URI, SPA_ORIGIN, make_event

FUNCTION_DIR = Path(__file__).resolve().parents[2] / "function"
RUN_SECONDS = 60

BUILDERS_REFUSED = """
import botocore.session, httpcore, ssl

def built_during_a_request(*args, **kwargs):
    raise AssertionError("container state built during a request")

botocore.session.Session.create_client = built_during_a_request
httpcore.ConnectionPool.__init__ = built_during_a_request
ssl.SSLContext.load_verify_locations = built_during_a_request
ssl.create_default_context = built_during_a_request
"""

CONTAINER = """
import json, sys
import handler
{after_import}
sys.stderr.write("--- init done\\n")
sys.stderr.flush()
for line in sys.stdin:
    print(json.dumps(handler.handler(json.loads(line), None)), flush=True)
"""


@pytest.fixture(scope="module")
def store() -> Iterator[SecretsStore]:
    secrets_store = SecretsStore()
    try:
        yield secrets_store
    finally:
        secrets_store.stop()


@pytest.fixture
def ca() -> LoopbackCA:
    return LoopbackCA()


@pytest.fixture
def https_github(fake_provider, ca):
    return fake_provider("github", tls=ca.server_context())


def function_environment(store: SecretsStore, provider: Any, bundle: Path) -> dict[str, str]:
    """The function's environment, as the stack sets it, plus the test CA as its only trusted one."""
    arn = store.create_secret(f"init-{os.urandom(4).hex()}", json.dumps({"github": provider.client_secret}))
    config = {"providers": {"github": provider.provider_config()}, "allowed_origins": [SPA_ORIGIN], "timeout_seconds": 5}
    return {
        "OAUTH_CONFIG": json.dumps(config),
        "OAUTH_CLIENT_SECRETS_ARN": arn,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": store.endpoint,
        "AWS_ACCESS_KEY_ID": DUMMY_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": DUMMY_CREDENTIALS["aws_secret_access_key"],
        "AWS_SESSION_TOKEN": DUMMY_CREDENTIALS["aws_session_token"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "SSL_CERT_FILE": str(bundle),
    }


def start_container(
    environment: Mapping[str, str], events: list[dict[str, Any]], after_import: str = ""
) -> tuple[list[dict[str, Any]], str, str]:
    """A fresh interpreter that imports the handler, then answers ``events``: (responses, init stderr, request stderr)."""
    result = subprocess.run(
        [sys.executable, "-c", CONTAINER.format(after_import=after_import)],
        input="".join(json.dumps(event) + "\n" for event in events),
        env={**_inherited_environment(), **environment, "PYTHONPATH": str(FUNCTION_DIR), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
        check=False,
    )
    assert result.returncode == 0, f"the container crashed:\n{result.stderr}"
    init_log, marker, request_log = result.stderr.partition("--- init done\n")
    assert marker, f"the import did not finish:\n{result.stderr}"
    return [json.loads(line) for line in result.stdout.splitlines()], init_log, request_log


def _inherited_environment() -> dict[str, str]:
    """This machine's environment without what would configure the function or Python."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "OAUTH_", "SSL_CERT_", "PYTHON"))
    }


def token_event(provider: Any, sensitive: Any) -> dict[str, Any]:
    code, verifier = provider.authorize_pkce(REDIRECT_URI)
    sensitive.add(code, verifier)
    return make_event("/token", {"provider": "github", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier})


def test_the_first_request_finds_the_container_state_built_by_the_import(
    store, https_github, ca, tmp_path, sensitive
):
    environment = function_environment(store, https_github, ca.write_bundle(tmp_path))
    events = [token_event(https_github, sensitive), token_event(https_github, sensitive)]

    responses, init_log, request_log = start_container(environment, events, after_import=BUILDERS_REFUSED)

    assert [r["statusCode"] for r in responses] == [200, 200], request_log
    assert [json.loads(r["body"])["access_token"] for r in responses] == https_github.issued_access_tokens
    assert init_log == "", "the init logs nothing"
    assert request_log.count("outcome=ok status=200") == 2
    for value in [https_github.client_secret, *https_github.issued_codes, *https_github.issued_access_tokens]:
        assert value not in init_log + request_log


def test_what_the_init_built_is_left_out_of_later_garbage_collections(store, https_github, ca, tmp_path):
    environment = function_environment(store, https_github, ca.write_bundle(tmp_path))
    probe = "import gc, json, handler; print(json.dumps([gc.get_freeze_count(), len(gc.get_objects())]))"

    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={**_inherited_environment(), **environment, "PYTHONPATH": str(FUNCTION_DIR)},
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
        check=True,
    )

    frozen, still_tracked = json.loads(result.stdout)
    assert frozen > 20_000, "botocore's client and models alone are tens of thousands of objects"
    assert still_tracked < frozen / 100


BROKEN_AT_INIT = [
    pytest.param({"OAUTH_CONFIG": "{not json"}, "configuration invalid: OAUTH_CONFIG is not valid JSON", id="config-not-json"),
    pytest.param(
        {"SSL_CERT_FILE": "/nonexistent/ca-bundle.pem"},
        "configuration invalid: SSL_CERT_FILE / SSL_CERT_DIR names a CA bundle that cannot be loaded (FileNotFoundError)",
        id="ca-bundle-missing",
    ),
    pytest.param(
        {"OAUTH_CONFIG": "[" * 100_000},
        "container state could not be built: RecursionError",
        id="unexpected-failure",
    ),
]


@pytest.mark.parametrize(("broken", "logged"), BROKEN_AT_INIT)
def test_a_broken_init_answers_server_error_and_logs_why_once(
    store, https_github, ca, tmp_path, sensitive, broken, logged
):
    environment = {**function_environment(store, https_github, ca.write_bundle(tmp_path)), **broken}
    events = [token_event(https_github, sensitive), make_event("/revoke", {"token": "x"})]

    responses, init_log, request_log = start_container(environment, events)

    assert [(r["statusCode"], json.loads(r["body"])["error"]) for r in responses] == [(500, "server_error")] * 2
    assert all(r["headers"]["Cache-Control"] == "no-store" for r in responses)
    assert init_log == "", "nothing is logged outside a request"
    lines = request_log.splitlines()
    assert [line for line in lines if " ERROR " in line] == [line for line in lines if logged in line]
    assert len([line for line in lines if logged in line]) == 1, request_log
    assert len([line for line in lines if "outcome=server_error status=500" in line]) == 2, request_log
    assert https_github.seen == []


def test_reset_rebuilds_the_container_state_before_the_next_request(
    store, https_github, ca, tmp_path, monkeypatch, invoke, sensitive
):
    """Tests (and the local runtime) rebuild with reset(); it must do what a new container's init does."""
    for name, value in function_environment(store, https_github, ca.write_bundle(tmp_path)).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    exchange.reset()

    def built_during_a_request(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("container state built during a request")

    monkeypatch.setattr(botocore.session.Session, "create_client", built_during_a_request)
    monkeypatch.setattr(httpcore.ConnectionPool, "__init__", built_during_a_request)
    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", built_during_a_request)
    monkeypatch.setattr(ssl, "create_default_context", built_during_a_request)

    reply = invoke("/token", json.loads(token_event(https_github, sensitive)["body"]))

    assert reply.status == 200
    assert reply.body["access_token"] == https_github.issued_access_tokens[-1]
