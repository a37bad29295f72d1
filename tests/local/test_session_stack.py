"""The local stack in session mode: the site's /api/ as the distribution serves it, OAC's body hash, moto's DynamoDB."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from collections.abc import Iterator

import httpx
import pytest

from oauth_exchange.session_contract import SESSION_COOKIE
from oauth_exchange.spa_config import config_js
from local.edge_proxy import SIGNATURE_HEADER
from local.signin import Spa
from local.stack import REPO, LocalStack

CSRF = {"X-OAuth-Exchange": "1"}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(session=True) as running:
        yield running


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=20) as http:
        yield http


def signed_post(client: httpx.Client, url: str, payload: dict, **headers: str) -> httpx.Response:
    body = json.dumps(payload).encode()
    sent = {"Content-Type": "application/json", "x-amz-content-sha256": hashlib.sha256(body).hexdigest(), **CSRF, **headers}
    return client.post(url, content=body, headers=sent)


def sign_in(client: httpx.Client, stack: LocalStack) -> httpx.Response:
    spa = Spa(client, stack.site_url)
    callback = spa.consent()
    payload = {"provider": "github", "code": callback.code, "redirect_uri": spa.redirect_uri, "code_verifier": callback.verifier}
    return signed_post(client, stack.api_url + "/session", payload, Origin=stack.site_origin)


def session_cookie(response: httpx.Response) -> str:
    return response.headers["set-cookie"].split(";", 1)[0].partition("=")[2]


def test_config_js_points_the_spa_at_its_own_api(stack, client):
    response = client.get(stack.site_url + "config.js")

    assert response.text == config_js(stack.settings, stack.site_origin + "/api")
    config = json.loads(response.text[response.text.index("(") + 1 : response.text.rindex(")")])
    assert config["mode"] == "session"
    assert stack.function_origin not in response.text


def test_signing_in_on_the_sites_api_keeps_the_session_in_dynamodb(stack, client):
    reply = sign_in(client, stack)

    assert reply.status_code == 200
    assert reply.json()["user"]["login"] == "octocat"
    value = session_cookie(reply)
    items = stack.secrets.client("dynamodb").scan(TableName=stack.session_table, ConsistentRead=True)["Items"]
    assert hashlib.sha256(value.encode()).hexdigest() in {item["id"]["S"] for item in items}
    assert value not in json.dumps(items)


def test_the_api_answers_carry_the_sites_security_headers(stack, client):
    reply = client.get(stack.api_url + "/session", headers=CSRF)

    assert reply.status_code == 401
    assert reply.json()["error"] == "not_signed_in"
    assert reply.headers["cache-control"] == "no-store"
    assert "content-security-policy" in reply.headers
    assert reply.headers["x-frame-options"] == "DENY"


def test_the_session_cookie_works_through_the_site(stack, client):
    value = session_cookie(sign_in(client, stack))
    cookie = {"Cookie": f"{SESSION_COOKIE}={value}"}

    view = client.get(stack.api_url + "/session", headers={**CSRF, **cookie})
    profile = client.get(stack.api_url + "/proxy/github/user", headers={**CSRF, **cookie})

    assert view.status_code == 200
    assert profile.status_code == 200
    assert profile.json()["login"] == "octocat"


def test_the_function_url_refuses_everyone_but_the_site(stack, client):
    before = stack.emulator.invocation_count

    direct = client.get(stack.function_url + "api/session", headers=CSRF)
    forged = client.get(stack.function_url + "api/session", headers={**CSRF, SIGNATURE_HEADER: "guess"})
    preflight = client.options(
        stack.function_url + "api/session", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    )

    for answer in (direct, forged, preflight):
        assert answer.status_code == 403
        assert answer.json() == {"Message": "Forbidden"}
        assert not any(name.startswith("access-control-") for name in answer.headers)
    assert stack.emulator.invocation_count == before


@pytest.mark.parametrize("declared", [None, "0" * 64, hashlib.sha256(b"something else").hexdigest()])
def test_a_body_without_its_sha256_is_refused_before_the_function_as_oac_would(stack, client, declared):
    before = stack.emulator.invocation_count
    body = json.dumps({"provider": "github", "code": "x"}).encode()
    headers = {"Content-Type": "application/json", "Origin": stack.site_origin, **CSRF}
    if declared is not None:
        headers["x-amz-content-sha256"] = declared

    reply = client.post(stack.api_url + "/session", content=body, headers=headers)

    assert reply.status_code == 403
    assert "signature" in reply.json()["Message"]
    assert stack.emulator.invocation_count == before


def test_a_get_needs_no_body_hash(stack, client):
    assert client.get(stack.api_url + "/session", headers=CSRF).status_code == 401


def test_other_paths_are_still_the_static_site(stack, client):
    page = client.get(stack.site_url + "callback/github")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "connect-src 'self'\"" in page.text


def test_run_local_session_flag_announces_session_mode():
    process = subprocess.Popen(
        [sys.executable, "-m", "local", "--site-port", "0", "--session"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    found = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "Session mode:" in line:
                found.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert found.wait(60), "".join(lines)
    finally:
        process.terminate()
        process.wait(20)
        reader.join(5)
    output = "".join(lines)
    assert "/api/ on the site, sessions in DynamoDB table" in output
    assert "AWS_IAM" in output
