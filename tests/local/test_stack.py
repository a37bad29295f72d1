"""The local stack end to end over HTTP: generated site files, headers, the whole exchange, moto."""

from __future__ import annotations

import http.client
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from oauth_exchange.presets import PRESETS
from oauth_exchange.secrets_document import client_secrets_json
from oauth_exchange.site_headers import connect_policy, site_security_headers
from oauth_exchange.spa_config import config_js, render_index_html
from local.signin import Spa
from local.stack import REPO, ExtraProvider, LocalStack

SITE = REPO / "site"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack() as running:
        yield running


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=20) as http:
        yield http


def assert_site_headers(stack: LocalStack, response: httpx.Response) -> None:
    for name, value in site_security_headers(stack.settings, stack.function_origin).items():
        assert response.headers[name] == value, name


def sign_in(client: httpx.Client, stack: LocalStack) -> str:
    return Spa(client, stack.site_url).sign_in()["access_token"]


def test_config_js_is_generated_from_the_settings(stack, client):
    response = client.get(stack.site_url + "config.js")
    assert response.status_code == 200
    assert response.text == config_js(stack.settings, stack.function_url)
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert_site_headers(stack, response)
    assert f'"functionUrl": "{stack.function_origin}"' in response.text
    assert stack.provider.urls["authorize"] in response.text


def test_index_html_carries_the_exact_connect_policy_and_the_security_headers(stack, client):
    response = client.get(stack.site_url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert_site_headers(stack, response)
    html = (SITE / "index.html").read_text(encoding="utf-8")
    assert response.text == render_index_html(html, stack.settings, stack.function_origin)
    policy = connect_policy(stack.settings, stack.function_origin)
    assert f'<meta http-equiv="Content-Security-Policy" content="{policy}">' in response.text
    assert stack.function_origin in policy and stack.provider.base_url in policy
    assert client.get(stack.site_url + "index.html").text == response.text


@pytest.mark.parametrize("path", ["deep/link", "callback?code=abc&state=xyz", "missing.js", ".gitignore", "%2e%2e/pyproject.toml"])
def test_unknown_paths_answer_index_html(stack, client, path):
    response = client.get(stack.site_url + path)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"
    assert response.text == client.get(stack.site_url).text


def test_extra_providers_get_their_secret_their_config_and_a_callback_path_that_serves_the_app(client):
    corp = ExtraProvider(
        entry={"clientId": "corp-app", "authorizeUrl": "https://sso.corp.example/authorize", "tokenUrl": "https://sso.corp.example/token"},
        client_secret="corp-secret-value",
    )
    with LocalStack(extra_providers={"corp": corp}) as local:
        assert [p.name for p in local.settings.providers] == ["github", "corp"]
        assert json.loads(local.secrets.get_secret_value(local.secret_arn)) == {
            "github": local.provider.client_secret,
            "corp": "corp-secret-value",
        }
        config = client.get(local.site_url + "config.js").text
        assert '"callbackPath": "/callback/corp"' in config and "corp-secret-value" not in config
        index = client.get(local.site_url).text
        for name in ("github", "corp"):
            response = client.get(f"{local.site_origin}/callback/{name}?code=abc&state=xyz")
            assert (response.status_code, response.text) == (200, index)
            assert response.headers["content-type"] == "text/html; charset=utf-8"
        local.put_client_secret("rotated-github-secret")
        assert json.loads(local.secrets.get_secret_value(local.secret_arn))["corp"] == "corp-secret-value"


def test_the_stack_refuses_an_extra_provider_named_like_its_own():
    with pytest.raises(ValueError, match="github"):
        LocalStack(extra_providers={"github": ExtraProvider(entry={"clientId": "x"}, client_secret="y")})


def test_a_path_escaping_the_site_directory_is_not_served(stack):
    connection = http.client.HTTPConnection("127.0.0.1", stack.site.port, timeout=10)
    connection.request("GET", "/../pyproject.toml")
    response = connection.getresponse()
    body = response.read().decode()
    connection.close()
    assert "[tool.pytest" not in body
    assert "<!doctype html>" in body.lower()


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("app.js", "text/javascript; charset=utf-8"), ("oauth.js", "text/javascript; charset=utf-8"),
     ("style.css", "text/css; charset=utf-8"), ("favicon.svg", "image/svg+xml")],
)
def test_site_files_are_served_with_their_content_type_and_the_security_headers(stack, client, name, content_type):
    response = client.get(stack.site_url + name)
    assert response.status_code == 200
    assert response.content == (SITE / name).read_bytes()
    assert response.headers["content-type"] == content_type
    assert_site_headers(stack, response)


@pytest.mark.parametrize("name", ["oauth.d.ts", "package.json"])
def test_the_npm_package_files_are_not_served_the_app_is(stack, client, name):
    assert (SITE / name).is_file()

    response = client.get(stack.site_url + name)

    assert response.status_code == 200  # what the distribution answers for a key the bucket does not hold
    assert response.content != (SITE / name).read_bytes()
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<!doctype html>" in response.text.lower()
    assert_site_headers(stack, response)


def test_the_site_sends_hsts_for_its_own_host_only_by_default(stack, client):
    response = client.get(stack.site_url)

    assert response.headers["strict-transport-security"] == "max-age=31536000"


def test_the_site_sends_hsts_for_every_subdomain_when_the_stack_opts_in(client):
    with LocalStack(config={"hstsIncludeSubdomains": True}) as opted_in:
        response = client.get(opted_in.site_url + "app.js")

    assert response.status_code == 200
    assert response.headers["strict-transport-security"] == "max-age=63072000; includeSubDomains"


def test_the_site_refuses_other_methods_with_its_headers(stack, client):
    response = client.post(stack.site_url + "index.html", content=b"x")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert_site_headers(stack, response)


def test_config_js_is_never_written_into_the_site_directory(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_text("<!doctype html><html><head><title>t</title></head></html>", encoding="utf-8")
    with LocalStack(site_root=root) as local, httpx.Client() as http:
        assert http.get(local.site_url + "config.js").status_code == 200
        assert "Content-Security-Policy" in http.get(local.site_url).text
    assert sorted(p.name for p in root.iterdir()) == ["index.html"]


def test_the_whole_code_exchange_works_through_the_fake_provider(stack, client):
    before = stack.emulator.invocation_count
    spa = Spa(client, stack.site_url)
    assert spa.redirect_uri == stack.redirect_uri
    callback = spa.consent()
    assert set(callback.params) == {"code", "state"}
    response = spa.exchange(callback.code, callback.verifier)
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == stack.site_origin
    assert response.headers["cache-control"] == "no-store"
    token = response.json()
    assert token["token_type"] == "bearer"
    assert token["scope"] == "read:user"
    assert token["access_token"] in stack.provider.issued_access_tokens
    assert stack.emulator.invocation_count == before + 1

    user = client.get(
        stack.settings.provider("github").userinfo_url,
        headers={"Authorization": f"Bearer {token['access_token']}", "Origin": stack.site_origin},
    )
    assert user.status_code == 200
    assert user.headers["access-control-allow-origin"] == stack.site_origin
    assert user.json()["login"] == "octocat"


def test_a_replayed_code_is_invalid_grant(stack, client):
    spa = Spa(client, stack.site_url)
    callback = spa.consent()
    assert spa.exchange(callback.code, callback.verifier).status_code == 200
    replay = spa.exchange(callback.code, callback.verifier)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"


def test_denied_consent_comes_back_as_access_denied_without_a_code(stack, client):
    before = stack.emulator.invocation_count
    callback = Spa(client, stack.site_url).consent(decision="deny")
    assert callback.params["error"] == "access_denied"
    assert "code" not in callback.params
    assert stack.emulator.invocation_count == before


def test_sign_out_revokes_the_token_at_the_provider(stack, client):
    token = sign_in(client, stack)
    response = client.post(
        stack.function_url + "revoke", json={"provider": "github", "token": token}, headers={"Origin": stack.site_origin}
    )
    assert response.status_code == 200
    assert response.json() == {"revoked": True}
    assert token in stack.provider.revoked_tokens
    user = client.get(stack.settings.provider("github").userinfo_url, headers={"Authorization": f"Bearer {token}"})
    assert user.status_code == 401


def test_the_function_url_allows_exactly_the_site_origin(stack, client):
    before = stack.emulator.invocation_count
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = client.options(stack.function_url + "token", headers={"Origin": stack.site_origin, **preflight})
    assert allowed.headers["access-control-allow-origin"] == stack.site_origin
    foreign = client.options(stack.function_url + "token", headers={"Origin": stack.provider.base_url, **preflight})
    assert "access-control-allow-origin" not in foreign.headers
    assert stack.emulator.invocation_count == before


def test_a_request_from_a_foreign_origin_is_refused_by_the_function_and_unreadable(stack, client):
    callback = Spa(client, stack.site_url).consent()
    response = client.post(
        stack.function_url + "token",
        json={"code": callback.code, "redirect_uri": stack.redirect_uri, "code_verifier": callback.verifier},
        headers={"Origin": "http://127.0.0.1:1"},
    )
    assert response.status_code == 403
    assert response.json()["error"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in response.headers


def test_the_secret_lives_only_in_moto_and_the_provider(stack):
    environment = stack.containers.environment
    secret = stack.provider.client_secret
    assert environment["OAUTH_CLIENT_SECRETS_ARN"] == stack.secret_arn
    assert environment["AWS_ENDPOINT_URL_SECRETS_MANAGER"] == stack.secrets.endpoint
    assert secret not in "".join(environment.values())
    assert json.loads(stack.secrets.get_secret_value(stack.secret_arn)) == {"github": secret}


def test_the_function_reads_its_secret_from_moto_on_every_request_when_not_cached(client):
    with LocalStack(config={"secretCacheSeconds": 0}) as local:
        original = local.provider.client_secret
        assert sign_in(client, local)

        local.put_client_secret("not-the-secret")
        spa = Spa(client, local.site_url)
        callback = spa.consent()
        broken = spa.exchange(callback.code, callback.verifier)
        assert broken.status_code == 502
        assert broken.json()["error"] == "server_misconfigured"

        local.put_client_secret(original)
        assert sign_in(client, local)


def test_a_rotated_secret_is_re_read_from_moto_when_the_provider_rejects_the_cached_one(client):
    with LocalStack() as local:
        assert sign_in(client, local)
        rotated = "rotated-" + os.urandom(8).hex()
        local.provider.client_secret = rotated
        local.put_client_secret(rotated)
        token = sign_in(client, local)
        assert token in local.provider.issued_access_tokens
        assert local.secrets.get_secret_value(local.secret_arn) == client_secrets_json(local.settings, {"github": rotated})


def test_the_function_runs_in_warm_containers_that_are_reused(stack, client):
    sign_in(client, stack)
    started = stack.containers.cold_starts
    for _ in range(3):
        sign_in(client, stack)
    assert stack.containers.cold_starts == started


def test_real_github_mode_uses_the_presets_and_no_fake_provider(client):
    with LocalStack(github_client_id="Iv1.realclientid", github_client_secret="real-secret-value") as local:
        assert local.provider is None
        github = local.settings.provider("github")
        assert github.token_url == PRESETS["github"].token_url
        assert github.authorize_url == PRESETS["github"].authorize_url
        config = client.get(local.site_url + "config.js").text
        assert PRESETS["github"].authorize_url in config and "Iv1.realclientid" in config
        assert "real-secret-value" not in config
        csp = client.get(local.site_url).headers["content-security-policy"]
        assert "https://api.github.com" in csp and "https://avatars.githubusercontent.com" in csp
        assert json.loads(local.secrets.get_secret_value(local.secret_arn)) == {"github": "real-secret-value"}
        assert local.redirect_uri == local.site_url + "callback/github"


def test_the_stack_binds_loopback_on_given_or_free_ports_and_stops_by_itself():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        site_port = probe.getsockname()[1]
    with LocalStack(site_port=site_port) as local, httpx.Client() as http:
        assert local.site_url == f"http://127.0.0.1:{site_port}/"
        urls = [local.site_url, local.function_url, local.provider.base_url + "/", local.secrets.endpoint + "/"]
        assert all(url.startswith("http://127.0.0.1:") for url in urls)
        assert len({url.rsplit(":", 1)[1] for url in urls}) == 4
        assert http.get(local.site_url).status_code == 200
        assert sign_in(http, local)
        assert local.containers.pids
        pids = [*local.containers.pids, local.secrets.pid]
    for url in urls:
        with pytest.raises(httpx.TransportError):
            httpx.get(url, timeout=2)
    deadline = time.monotonic() + 5
    while any(Path(f"/proc/{pid}").exists() for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()]
