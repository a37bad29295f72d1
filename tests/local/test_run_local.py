"""Local development of your own SPA: --site-dir, --extra-origin, --config with any provider, --verbose."""

from __future__ import annotations

import os
import signal
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from local.fake_provider import RFC6749, FakeProvider
from local.signin import Spa
from local.stack import REPO
from tests.local.conftest import Cli

PRESS_CTRL_C = "Press Ctrl-C to stop."
SPA_INDEX = "<!doctype html><html><head><title>My SPA</title></head><body><script type=module src=/main.js></script></body></html>"


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=20) as http:
        yield http


@pytest.fixture
def my_spa(tmp_path: Path) -> Path:
    """A built SPA as Vite leaves it: index.html and hashed assets."""
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(SPA_INDEX, encoding="utf-8")
    (dist / "main.js").write_text('const { default: config } = await import("/config.js");\n', encoding="utf-8")
    (dist / "assets" / "app-4f2a9c.css").write_text("body { margin: 0 }\n", encoding="utf-8")
    return dist


@pytest.fixture
def idp() -> Iterator[FakeProvider]:
    """Stands in for a real RFC 6749 provider of the developer's, running somewhere the stack does not control."""
    with FakeProvider(RFC6749, client_id="my-idp-client", client_secret="idp-secret-" + os.urandom(6).hex(), redirect_uris=()) as fake:
        yield fake


def stop(command: Cli) -> None:
    command.process.send_signal(signal.SIGINT)
    assert command.finish() == 0


def preflight(client: httpx.Client, function_url: str, origin: str) -> httpx.Response:
    headers = {"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    return client.options(function_url + "token", headers=headers)


def test_site_dir_serves_your_built_spa_with_the_generated_config(cli, client, my_spa):
    before = sorted(p.relative_to(my_spa) for p in my_spa.rglob("*"))
    command = Cli("--site-dir", str(my_spa))
    cli.append(command)
    command.wait_for(PRESS_CTRL_C)
    site, function = command.value("Open your SPA:"), command.value("Function URL:")
    assert command.value("Site folder:") == str(my_spa)

    index = client.get(site)
    assert index.status_code == 200
    assert "<title>My SPA</title>" in index.text and 'http-equiv="Content-Security-Policy"' in index.text
    assert client.get(site + "some/client/route").text == index.text
    asset = client.get(site + "assets/app-4f2a9c.css")
    assert asset.status_code == 200 and asset.headers["content-type"] == "text/css; charset=utf-8"
    config = client.get(site + "config.js")
    assert config.headers["content-type"] == "text/javascript; charset=utf-8"
    assert f'"functionUrl": "{function.rstrip("/")}"' in config.text
    with httpx.Client(timeout=20) as spa_client:
        assert Spa(spa_client, site).sign_in()["access_token"]
    stop(command)
    assert sorted(p.relative_to(my_spa) for p in my_spa.rglob("*")) == before, "nothing is written into your SPA"


def test_a_site_dir_without_index_html_is_refused(cli, tmp_path):
    command = Cli("--site-dir", str(tmp_path))
    cli.append(command)
    assert command.finish() == 2
    assert f"{tmp_path} has no index.html" in command.output


def test_relative_paths_are_relative_to_where_run_local_is_run(cli, client, my_spa):
    command = Cli("--site-dir", "dist", command=[str(REPO / "scripts" / "run-local")], cwd=my_spa.parent)
    cli.append(command)
    command.wait_for(PRESS_CTRL_C)
    assert command.value("Site folder:") == str(my_spa)
    assert "<title>My SPA</title>" in client.get(command.value("Open your SPA:")).text
    stop(command)


def test_extra_origins_are_allowed_by_cors_and_get_redirect_uris(cli, client):
    dev_server = "http://localhost:5173"
    command = Cli("--extra-origin", dev_server, "--extra-origin", "http://127.0.0.1:4173")
    cli.append(command)
    command.wait_for(PRESS_CTRL_C)
    function = command.value("Function URL:")
    assert "Extra origins:    http://localhost:5173 http://127.0.0.1:4173" in command.output

    allowed = preflight(client, function, dev_server)
    assert allowed.headers["access-control-allow-origin"] == dev_server
    assert "access-control-allow-origin" not in preflight(client, function, "http://localhost:3000").headers
    made_up = {
        "provider": "github",
        "code": "made-up-code",
        "redirect_uri": dev_server + "/callback/github",
        "code_verifier": "v" * 43,
    }
    answer = client.post(function + "token", json=made_up, headers={"Origin": dev_server})
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant", "the dev server's redirect URI is accepted; only the code is wrong"
    assert answer.headers["access-control-allow-origin"] == dev_server
    stop(command)


def test_a_malformed_extra_origin_is_refused_before_anything_starts(cli):
    command = Cli("--extra-origin", "http://localhost:5173/app")
    cli.append(command)
    assert command.finish() == 2
    assert "--extra-origin" in command.output and "is not an origin" in command.output


def stack_file(tmp_path: Path, idp: FakeProvider, **extra: str) -> Path:
    urls = idp.urls
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            config:
              aws:region: eu-west-1
              oauth-exchange:providers:
                my-idp:
                  clientId: {idp.client_id}
                  label: My IdP
                  authorizeUrl: {urls["authorize"]}
                  tokenUrl: {urls["token"]}
                  revokeUrl: {urls["revoke"]}
                  userInfoUrl: {urls["user"]}
                  scopes: [openid, profile]
              oauth-exchange:clientSecrets:
                my-idp:
                  secure: AAABAJk1yqwYnJ3Ewql1hMlRUc8y2CKNw1VWzWjl8AquRG0fHmnSxg==
              oauth-exchange:extraOrigins:
                - http://localhost:5173
              oauth-exchange:secretCacheSeconds: 0
            """
        ),
        encoding="utf-8",
    )
    return path


def test_a_custom_provider_from_the_stack_file_runs_against_that_provider(cli, client, tmp_path, idp):
    command = Cli("--config", str(stack_file(tmp_path, idp)), env={"OAUTH_CLIENT_SECRET_MY_IDP": idp.client_secret})
    cli.append(command)
    command.wait_for(PRESS_CTRL_C)
    site = command.value("Open the demo:")
    assert "against the real My IdP" in command.output and "Fake provider:" not in command.output
    callback = command.value("Callback URL to register in your My IdP OAuth app:")
    assert callback == site + "callback/my-idp"
    idp.redirect_uris = [callback]

    spa = Spa(client, site)
    assert [p["name"] for p in spa.config["providers"]] == ["my-idp"]
    assert spa.provider["authorizeUrl"] == idp.urls["authorize"] and spa.provider["scopes"] == ["openid", "profile"]
    token = spa.sign_in()
    assert token["access_token"] in idp.issued_access_tokens
    exchange = idp.requests_to("/token")[-1].form()
    assert exchange["client_id"] == idp.client_id and exchange["client_secret"] == idp.client_secret
    assert preflight(client, command.value("Function URL:"), "http://localhost:5173").headers[
        "access-control-allow-origin"
    ] == "http://localhost:5173"
    stop(command)
    assert idp.client_secret not in command.output and token["access_token"] not in command.output


def test_a_custom_provider_without_its_secret_variable_is_refused_naming_the_variable(cli, tmp_path, idp):
    command = Cli("--config", str(stack_file(tmp_path, idp)))
    cli.append(command)
    assert command.finish() == 2
    assert "OAUTH_CLIENT_SECRET_MY_IDP" in command.output
    assert "Traceback" not in command.output


def test_bad_configuration_in_the_stack_file_is_one_message_naming_the_key(cli, tmp_path):
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text("config:\n  oauth-exchange:extraOrigins: ['*']\n", encoding="utf-8")
    command = Cli("--config", str(path))
    cli.append(command)
    assert command.finish() == 2
    assert "oauth-exchange:providers" in command.output
    path.write_text("config:\n  oauth-exchange:providers: {github: {}}\n  oauth-exchange:extraOrigins: ['*']\n", encoding="utf-8")
    command = Cli("--config", str(path))
    cli.append(command)
    assert command.finish() == 2
    assert "oauth-exchange:extraOrigins[0]: a wildcard origin is never allowed" in command.output
    assert "Traceback" not in command.output


def test_the_committed_dev_stack_file_runs_with_the_fake_github(cli, client):
    command = Cli("--config", "Pulumi.dev.yaml")
    cli.append(command)
    command.wait_for(PRESS_CTRL_C)
    assert "against a fake GitHub" in command.output
    assert "http://localhost:8000" in command.value("Extra origins:")
    assert Spa(client, command.value("Open the demo:")).sign_in()["access_token"].startswith("gho_")
    stop(command)


def test_static_file_requests_and_sdk_chatter_are_shown_only_with_verbose(cli):
    outputs = {}
    for flags in ([], ["--verbose"]):
        command = Cli(*flags)
        cli.append(command)
        command.wait_for(PRESS_CTRL_C)
        with httpx.Client(timeout=20) as http:
            Spa(http, command.value("Open the demo:")).sign_in()
        command.wait_for("function POST /token 200")
        stop(command)
        outputs[bool(flags)] = command.output
    quiet, verbose = outputs[False], outputs[True]
    assert "provider POST /login/oauth/access_token" in quiet and '"logger": "oauth_exchange"' in quiet
    assert "site     GET /config.js" not in quiet and "botocore" not in quiet and "moto " not in quiet
    assert "site     GET /config.js 200" in verbose and '"logger": "botocore' in verbose and "moto " in verbose
