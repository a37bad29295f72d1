"""``python3 -m local``: starts, says what to open, logs requests without secrets, stops cleanly."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
from pathlib import Path

import httpx
import pytest

from local.signin import Spa
from local.stack import LocalStack
from tests.local.conftest import Cli


class _Urls:
    def __init__(self, command: Cli) -> None:
        self.site = command.value("Open the demo:")
        self.function = command.value("Function URL:")


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_command_prints_what_to_open_serves_and_stops_cleanly(cli, stop_signal):
    command = Cli()
    cli.append(command)
    command.wait_for("Press Ctrl-C to stop.")
    urls = _Urls(command)
    assert urls.site.startswith("http://127.0.0.1:") and urls.function.startswith("http://127.0.0.1:")
    assert "Fake provider:" in command.output and "Secrets Manager:" in command.output
    assert httpx.get(urls.site + "config.js").status_code == 200
    assert httpx.post(urls.function + "token", json={}).status_code == 400
    children = command.children()
    assert children, "the function containers and moto run as child processes"

    command.process.send_signal(stop_signal)
    assert command.finish() == 0
    assert command.lines[-1] == "Stopped."
    assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]


def test_ctrl_c_in_a_terminal_stops_everything_without_a_traceback(cli):
    """A terminal's Ctrl-C signals the whole foreground process group, children included."""
    command = Cli(own_session=True)
    cli.append(command)
    command.wait_for("Press Ctrl-C to stop.")
    httpx.post(_Urls(command).function + "token", json={})  # starts a function container
    command.wait_for("function POST /token")
    children = command.children()
    assert len(children) >= 2, "moto and a function container"

    os.killpg(command.process.pid, signal.SIGINT)
    assert command.finish() == 0
    assert command.lines[-1] == "Stopped."
    assert "Traceback" not in command.output
    assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]


def test_the_command_logs_one_line_per_request_without_query_strings(cli):
    command = Cli("--verbose")
    cli.append(command)
    command.wait_for("Press Ctrl-C to stop.")
    urls = _Urls(command)
    provider = command.value("Fake provider:")
    httpx.get(urls.site + "?code=site-c0de&state=site-st4te")
    command.wait_for("site     GET / 200")
    httpx.get(provider + "login/oauth/authorize?client_id=x&state=prov-st4te")
    command.wait_for("provider GET /login/oauth/authorize")
    httpx.post(urls.function + "token?code=fn-c0de", json={})
    command.wait_for("function POST /token 400")
    command.process.send_signal(signal.SIGINT)
    assert command.finish() == 0
    assert "c0de" not in command.output and "st4te" not in command.output


def test_real_github_mode_prints_the_callback_url_and_never_the_secret(cli):
    secret = "gh-secret-" + os.urandom(6).hex()
    command = Cli(env={"GITHUB_CLIENT_ID": "Iv1.realclientid", "GITHUB_CLIENT_SECRET": secret})
    cli.append(command)
    command.wait_for("Press Ctrl-C to stop.")
    site = command.value("Open the demo:")
    assert "the real GitHub" in command.output
    assert command.value("Callback URL to register in your GitHub OAuth app:") == site + "callback/github"
    assert "Fake provider:" not in command.output
    assert "github.com/login/oauth/authorize" in httpx.get(site + "config.js").text
    command.process.send_signal(signal.SIGINT)
    assert command.finish() == 0
    assert secret not in command.output


def test_only_one_github_variable_is_refused(cli):
    command = Cli(env={"GITHUB_CLIENT_ID": "Iv1.realclientid"})
    cli.append(command)
    assert command.finish() == 2
    assert "Set both GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET" in command.output


def test_a_busy_function_port_is_named_with_the_flag_that_moves_it(cli):
    with LocalStack() as running:
        command = Cli("--function-port", str(running.emulator.port))
        cli.append(command)
        assert command.finish() == 1
    assert f"the function URL port {running.emulator.port} is already in use" in command.output
    assert "--function-port" in command.output
    assert "Traceback" not in command.output


def test_a_busy_site_port_is_named_with_the_flag_that_moves_it(cli):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = Cli("--site-port", str(port))
        cli.append(command)
        assert command.finish() == 1
    assert f"the site port {port} is already in use" in command.output
    assert "--site-port" in command.output
    assert "Traceback" not in command.output


def test_the_command_completes_a_sign_in(cli):
    command = Cli()
    cli.append(command)
    command.wait_for("Press Ctrl-C to stop.")
    with httpx.Client(timeout=20) as client:
        spa = Spa(client, _Urls(command).site)
        token = spa.sign_in()
    assert token["access_token"].startswith("gho_")
    command.wait_for("function POST /token 200")
    command.process.send_signal(signal.SIGINT)
    assert command.finish() == 0
    assert token["access_token"] not in command.output


def test_refresh_tokens_makes_the_fake_github_issue_expiring_tokens_the_function_refreshes(cli):
    command = Cli("--refresh-tokens")
    cli.append(command)
    command.wait_for("Press Ctrl-C to stop.")
    urls = _Urls(command)
    with httpx.Client(timeout=20) as client:
        token = Spa(client, urls.site).sign_in()
        assert token["access_token"].startswith("ghu_") and token["expires_in"] == 28800
        renewed = client.post(
            urls.function + "token",
            json={"provider": "github", "grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        )
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["refresh_token"] != token["refresh_token"]
    command.process.send_signal(signal.SIGINT)
    assert command.finish() == 0
    assert token["refresh_token"] not in command.output


def _cms_sign_in(client: httpx.Client, function: str, admin: str) -> str:
    """What the Decap popup does through the CMS routes, the consent page's Authorize button included."""
    started = client.get(function + "auth", params={"provider": "github", "site_id": "127.0.0.1", "scope": "repo"}, headers={"referer": admin})
    assert started.status_code == 302, started.text
    cookie = started.headers["set-cookie"].split(";", 1)[0]
    consent = client.get(started.headers["location"])
    fields = dict(re.findall(r'<input type=hidden name="([^"]+)" value="([^"]*)">', consent.text))
    decided = client.post(started.headers["location"].split("?", 1)[0], data={**fields, "decision": "authorize"})
    callback = client.get(decided.headers["location"], headers={"cookie": cookie})
    assert callback.status_code == 200, callback.text
    message = json.loads(re.search(r'id="handshake" nonce="[^"]+">(.*?)</script>', callback.text).group(1))["message"]
    assert message.startswith("authorization:github:success:")
    return json.loads(message.split(":", 3)[3])["token"]


def test_cms_mode_serves_decap_and_signs_the_cms_in_through_the_function(cli):
    command = Cli("--cms", "--cms-port", "0")
    cli.append(command)
    command.wait_for("Press Ctrl-C to stop.")
    function, admin = _Urls(command).function, command.value("Decap CMS:")
    provider = command.value("Fake provider:")
    with httpx.Client(timeout=20) as client:
        assert '<script src="/bundle/decap-cms.js"></script>' in client.get(admin).text
        config = client.get(admin + "config.yml").text
        assert f"base_url: {function.rstrip('/')}\n" in config and "auth_endpoint: auth\n" in config
        assert client.get(admin.replace("/admin/", "/bundle/decap-cms.js")).headers["content-type"].startswith("text/javascript")
        token = _cms_sign_in(client, function, admin)
        repository = client.get(provider + "repos/octocat/website", headers={"authorization": f"token {token}"})
    assert repository.json()["permissions"]["push"] is True
    command.wait_for("function GET /callback/github 200")
    command.process.send_signal(signal.SIGINT)
    assert command.finish() == 0
    assert token not in command.output


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("--cms-repo", "a/b"), {}, "--cms-repo is owner/name, and goes with --cms."),
        (("--cms", "--cms-repo", "nope"), {}, "--cms-repo is owner/name"),
        (("--cms",), {"GITHUB_CLIENT_ID": "Iv1.x", "GITHUB_CLIENT_SECRET": "s"}, "--cms needs --cms-repo"),
    ],
)
def test_cms_options_that_cannot_work_are_refused(cli, args, env, message):
    command = Cli(*args, env=env)
    cli.append(command)
    assert command.finish() == 2
    assert message in command.output


def test_cms_sveltia_with_another_cms_origin_prints_what_each_cms_config_needs(cli):
    command = Cli("--cms", "sveltia", "--cms-port", "0", "--cms-origin", "http://localhost:1313")
    cli.append(command)
    command.wait_for("Press Ctrl-C to stop.")
    function, admin = _Urls(command).function, command.value("Sveltia CMS:")
    provider = command.value("Fake provider:").rstrip("/")
    admin_origin = admin.removesuffix("/admin/")
    assert f"  CMS origins:      {admin_origin} http://localhost:1313" in command.output
    assert f"  CMS config.yml:   base_url: {function.rstrip('/')}  auth_endpoint: auth" in command.output
    assert f"  CMS callback URL: {function}callback/github" in command.output
    with httpx.Client(timeout=20) as client:
        assert '<script src="/bundle/sveltia-cms.js"></script>' in client.get(admin).text
        config = client.get(admin + "config.yml").text
        assert f"api_root: {provider}/api/v3\n" in config and f"graphql_api_root: {provider}/graphql\n" in config
    command.process.send_signal(signal.SIGINT)
    assert command.finish() == 0


def test_cms_origin_alone_turns_cms_mode_on_for_your_own_admin_page(cli):
    command = Cli("--cms-origin", "http://localhost:1313")
    cli.append(command)
    command.wait_for("Press Ctrl-C to stop.")
    assert "  CMS origins:      http://localhost:1313" in command.output
    assert "Decap CMS:" not in command.output and "CMS config.yml:   base_url: " in command.output
    command.process.send_signal(signal.SIGINT)
    assert command.finish() == 0


@pytest.mark.parametrize("origin", ["http://localhost:1313/admin/", "*"])
def test_a_cms_origin_that_is_not_one_is_refused(cli, origin):
    command = Cli("--cms-origin", origin)
    cli.append(command)
    assert command.finish() == 2
    assert "--cms-origin" in command.output and "Traceback" not in command.output
