"""A script driving the local stack: ``--json`` once ready, ``--moto-port``, ``rotate-secret`` while it runs."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.secrets_store import client as moto_client
from local.signin import Spa
from local.stack import REPO
from tests.local.test_run_local import idp, stack_file  # noqa: F401 - the fixture and its stack file

START_TIMEOUT_SECONDS = 60


class JsonRun:
    """``python3 -m local --json``, stdout and stderr read apart."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "OAUTH_CLIENT_SECRET_"))}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local", "--site-port", "0", "--json", *args],
            cwd=REPO,
            env={**base, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stderr: list[str] = []
        self._reader = threading.Thread(target=lambda: self.stderr.extend(self.process.stderr), daemon=True)
        self._reader.start()

    def ready(self) -> dict[str, Any]:
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(START_TIMEOUT_SECONDS)
        assert line and line[0], "no JSON on stdout:\n" + "".join(self.stderr)
        return json.loads(line[0])

    def stop(self) -> str:
        """Ctrl-C; what else stdout carried."""
        self.process.send_signal(signal.SIGINT)
        rest = self.process.stdout.read()
        assert self.process.wait(20) == 0
        self._reader.join(5)
        return rest


@pytest.fixture
def runs() -> Iterator[list[JsonRun]]:
    started: list[JsonRun] = []
    yield started
    for run in started:
        if run.process.poll() is None:
            run.process.kill()
            run.process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_json_is_one_object_on_stdout_with_every_url_port_and_the_secrets_arn(runs) -> None:
    moto_port = free_port()
    run = JsonRun("--moto-port", str(moto_port))
    runs.append(run)
    ready = run.ready()
    site, function = ready["siteUrl"], ready["functionUrl"]
    assert ready["ports"]["moto"] == moto_port and ready["motoEndpoint"] == f"http://127.0.0.1:{moto_port}"
    assert site == f"http://127.0.0.1:{ready['ports']['site']}/"
    assert function == f"http://127.0.0.1:{ready['ports']['function']}/"
    assert ready["fakeProvider"]["url"] == f"http://127.0.0.1:{ready['ports']['provider']}"
    assert ready["callbackUrls"] == {"github": [site + "callback/github"]}
    assert ready["spaConfig"]["functionUrl"] == function.rstrip("/")
    secrets = moto_client(ready["motoEndpoint"], "secretsmanager")
    assert set(json.loads(secrets.get_secret_value(SecretId=ready["secretArn"])["SecretString"])) == {"github"}
    with httpx.Client(timeout=20) as http:
        token = Spa(http, site).sign_in()
    assert token["access_token"].startswith("gho_")
    human = "".join(run.stderr)
    assert "Press Ctrl-C to stop." in human and "Open 127.0.0.1, not localhost" in human
    assert run.stop() == "", "stdout carries the one object only"
    assert token["access_token"] not in "".join(run.stderr)


def test_json_names_the_cms_origins_a_cms_origin_flag_adds(runs) -> None:
    """A script that serves its own CMS admin page reads back the origins the function lets sign in."""
    run = JsonRun("--cms-origin", "http://localhost:1313", "--cms-origin", "http://127.0.0.1:4000")
    runs.append(run)
    ready = run.ready()
    assert ready["cmsOrigins"] == ["http://localhost:1313", "http://127.0.0.1:4000"]
    assert ready["cmsCallbackUrls"] == {"github": ready["functionUrl"] + "callback/github"}
    assert ready["origins"] == [ready["siteUrl"].rstrip("/")]
    run.stop()


def test_the_localhost_hint_is_left_out_when_localhost_is_an_allowed_origin(runs) -> None:
    port = free_port()
    run = JsonRun("--site-port", str(port), "--extra-origin", f"http://localhost:{port}")
    runs.append(run)
    assert f"http://localhost:{port}" in run.ready()["origins"]
    run.stop()
    assert "not localhost" not in "".join(run.stderr)


def test_a_taken_moto_port_is_refused_naming_the_flag(runs) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        run = JsonRun("--moto-port", str(taken.getsockname()[1]))
        runs.append(run)
        assert run.process.wait(30) == 1
    run._reader.join(5)
    assert run.process.stdout.read() == ""
    assert "moto (Secrets Manager) port" in "".join(run.stderr) and "--moto-port" in "".join(run.stderr)


def rotate(ready: dict[str, Any], provider: str, value: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OAUTH_CLIENT_SECRET_")}
    if value is not None:
        env["OAUTH_CLIENT_SECRET_" + provider.upper().replace("-", "_")] = value
    command = [sys.executable, "-m", "local", "rotate-secret", provider]
    command += ["--moto-endpoint", ready["motoEndpoint"], "--secret-arn", ready["secretArn"]]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_a_secret_rotated_at_the_provider_and_in_the_running_stack_keeps_sign_in_working(runs, tmp_path: Path, idp) -> None:  # noqa: F811
    """The function caches the old secret (secretCacheSeconds 300); the provider's rejection makes it re-read."""
    path = stack_file(tmp_path, idp)
    path.write_text(path.read_text().replace("secretCacheSeconds: 0", "secretCacheSeconds: 300"))
    run = JsonRun("--config", str(path), env={"OAUTH_CLIENT_SECRET_MY_IDP": idp.client_secret})
    runs.append(run)
    ready = run.ready()
    idp.redirect_uris = ready["callbackUrls"]["my-idp"]
    with httpx.Client(timeout=20) as http:
        assert Spa(http, ready["siteUrl"]).sign_in()["access_token"] in idp.issued_access_tokens

        old, new = idp.client_secret, "idp-rotated-" + os.urandom(6).hex()
        idp.client_secret = new
        rotated = rotate(ready, "my-idp", new)
        assert rotated.returncode == 0, rotated.stderr
        assert rotated.stdout.startswith("Rotated the client secret of my-idp (version ")
        assert new not in rotated.stdout + rotated.stderr

        token = Spa(http, ready["siteUrl"]).sign_in()
    assert token["access_token"] in idp.issued_access_tokens
    exchanges = [r.form()["client_secret"] for r in idp.requests_to("/token")]
    assert exchanges[-2:] == [old, new], "the cached secret was tried, rejected, and the rotated one read"
    run.stop()
    assert new not in "".join(run.stderr) and old not in "".join(run.stderr)


@pytest.mark.parametrize(
    ("provider", "value", "code", "message"),
    [
        ("my-idp", None, 2, "Set OAUTH_CLIENT_SECRET_MY_IDP to the new client secret"),
        ("My-idp", "x", 1, "Could not rotate: the secret holds no provider named 'My-idp'; it holds github"),
    ],
    ids=["no-value", "unknown-provider"],
)
def test_a_rotation_that_cannot_apply_says_why(runs, provider, value, code, message) -> None:
    run = JsonRun()
    runs.append(run)
    ready = run.ready()
    refused = rotate(ready, provider, value)
    assert (refused.returncode, refused.stdout) == (code, "")
    assert message in refused.stderr
    run.stop()
