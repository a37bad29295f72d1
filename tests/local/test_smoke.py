"""scripts/smoke against the local stack: a working stack passes, a wrong client secret and a bad site fail."""

from __future__ import annotations

import functools
import json
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from local.stack import REPO, LocalStack
from scripts import deployment_check
from scripts.deployment_check import FOREIGN_ORIGIN, header_problems, main

SMOKE = REPO / "scripts" / "smoke"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(config={"secretCacheSeconds": 0}) as running:
        yield running


@pytest.fixture
def outputs_file(stack, tmp_path) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(stack.outputs()), encoding="utf-8")
    return path


def callback_args(stack: LocalStack, provider: str = "github") -> list[str]:
    """--callback-url for each of the provider's redirect URIs, as a user copies them from callbackUrls."""
    return [arg for url in stack.outputs()["callbackUrls"][provider] for arg in ("--callback-url", url)]


def smoke(capsys, *argv: str) -> tuple[int, list[str]]:
    code = main(list(argv))
    return code, capsys.readouterr().out.splitlines()


def verdicts(lines: list[str]) -> dict[str, str]:
    """Check name -> PASS/FAIL/SKIP."""
    return {line[6:].split(": ", 1)[0]: line[:4] for line in lines if line[:4] in ("PASS", "FAIL", "SKIP")}


def line_for(lines: list[str], name: str) -> str:
    return next(line for line in lines if line[6:].startswith(name + ":"))


def test_a_working_stack_passes_every_check(stack, capsys, outputs_file):
    code, lines = smoke(capsys, "--outputs", str(outputs_file))
    assert code == 0, "\n".join(lines)
    assert verdicts(lines) == {
        "site answers": "PASS",
        "site security headers": "PASS",
        "config.js": "PASS",
        f"CORS preflight from {stack.site_origin}": "PASS",
        f"CORS preflight from {FOREIGN_ORIGIN}": "PASS",
        "client secret (github)": "PASS",
    }
    assert "invalid_grant" in line_for(lines, "client secret (github)")
    assert lines[-1] == "6 passed, 0 failed"


def test_a_wrong_client_secret_is_told_apart_from_the_right_one(stack, capsys, outputs_file):
    right = stack.provider.client_secret
    stack.put_client_secret("not-the-" + os.urandom(4).hex())
    try:
        code, lines = smoke(capsys, "--outputs", str(outputs_file))
    finally:
        stack.put_client_secret(right)
    assert code == 1
    failed = {name for name, verdict in verdicts(lines).items() if verdict == "FAIL"}
    assert failed == {"client secret (github)"}
    verdict = line_for(lines, "client secret (github)")
    assert "server_misconfigured" in verdict and "pulumi config set --secret --path 'clientSecrets.github'" in verdict
    assert lines[lines.index(verdict) + 1] == "      what to do: docs/runbook.md#server-misconfigured"
    assert sum("what to do:" in line for line in lines) == 1
    assert lines[-1] == "5 passed, 1 failed"

    code, lines = smoke(capsys, "--outputs", str(outputs_file))
    assert code == 0 and verdicts(lines)["client secret (github)"] == "PASS"


def test_by_default_it_reads_pulumi_stack_output(stack, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "outputs.json").write_text(json.dumps(stack.outputs()), encoding="utf-8")
    fake_pulumi = bin_dir / "pulumi"
    fake_pulumi.write_text(
        "#!/bin/sh\n"
        '[ "$*" = "stack output --json --stack dev" ] || { echo "unexpected arguments: $*" >&2; exit 3; }\n'
        f'cat "{tmp_path / "outputs.json"}"\n',
        encoding="utf-8",
    )
    fake_pulumi.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "OAUTH_EXCHANGE_VENV": str(tmp_path / "venv"),  # its own environment, not the one the tests run in
    }
    result = subprocess.run([str(SMOKE), "--stack", "dev"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "6 passed, 0 failed"


def test_without_pulumi_or_urls_it_says_what_to_give(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main([]) == 2
    error = capsys.readouterr().err
    assert "pulumi is not on PATH" in error and "give --site-url and --function-url" in error


def test_urls_given_as_flags_are_checked_the_same_way(stack, capsys):
    code, lines = smoke(capsys, "--site-url", stack.site_url, "--function-url", stack.function_url, *callback_args(stack))
    assert code == 0, "\n".join(lines)
    assert lines[-1] == "6 passed, 0 failed"


def test_a_function_only_deployment_skips_the_site_checks(stack, capsys):
    code, lines = smoke(
        capsys,
        "--function-url", stack.function_url,
        "--origin", stack.site_origin,
        "--provider", "github",
        *callback_args(stack),
    )
    assert code == 0, "\n".join(lines)
    assert verdicts(lines)["site"] == "SKIP"
    assert lines[-1] == "3 passed, 0 failed, 1 skipped"


def test_a_function_that_lets_any_page_call_it_fails_the_foreign_preflight(capsys):
    with LocalStack(config={"extraOrigins": [FOREIGN_ORIGIN]}) as open_stack:
        argv = ["--site-url", open_stack.site_url, "--function-url", open_stack.function_url, *callback_args(open_stack)]
        code, lines = smoke(capsys, *argv)
    assert code == 1
    assert verdicts(lines)[f"CORS preflight from {FOREIGN_ORIGIN}"] == "FAIL"
    assert "any web page may call the function" in line_for(lines, f"CORS preflight from {FOREIGN_ORIGIN}")


@pytest.fixture
def plain_site(tmp_path) -> Iterator[str]:
    """A site served with no security headers and no config.js, as a misconfigured bucket would be."""
    (tmp_path / "index.html").write_text("<!doctype html><title>x</title>", encoding="utf-8")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join()


def test_a_site_without_security_headers_or_config_js_fails_those_checks(stack, capsys, plain_site):
    code, lines = smoke(
        capsys,
        "--site-url", plain_site,
        "--function-url", stack.function_url,
        "--origin", stack.site_origin,
        "--provider", "github",
        *callback_args(stack),
    )
    assert code == 1
    result = verdicts(lines)
    assert result["site answers"] == "PASS"
    assert result["site security headers"] == "FAIL" and result["config.js"] == "FAIL"
    assert "no Content-Security-Policy" in line_for(lines, "site security headers")
    assert "answered 404" in line_for(lines, "config.js")
    assert result["client secret (github)"] == "PASS"


def test_an_unreachable_function_fails_cleanly(stack, capsys):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{unused.getsockname()[1]}/"
    code, lines = smoke(capsys, "--function-url", closed, "--origin", stack.site_origin, "--provider", "github", "--callback-url", stack.redirect_uri)
    assert code == 1
    assert all(v == "FAIL" for name, v in verdicts(lines).items() if name != "site")
    assert "could not be reached (ConnectError)" in line_for(lines, "client secret (github)")


@pytest.mark.parametrize(
    ("url", "headers", "problem"),
    [
        ("https://site.example/", {"content-security-policy": "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'"}, "allows 'unsafe-inline'"),
        ("https://site.example/", {"content-security-policy": "img-src 'self'"}, "does not restrict scripts"),
        ("https://site.example/", {}, "no Strict-Transport-Security"),
        ("https://site.example/", {"strict-transport-security": "max-age=300"}, "no Strict-Transport-Security"),
        ("https://site.example/", {"referrer-policy": "unsafe-url"}, "no Referrer-Policy"),
        ("https://site.example/", {"x-frame-options": "ALLOWALL"}, "framing is not refused"),
    ],
)
def test_header_problems_are_named(url, headers, problem):
    assert any(problem in found for found in header_problems(url, httpx.Headers(headers)))


def test_the_deployed_header_set_has_no_problems():
    from oauth_exchange.settings import load_settings
    from oauth_exchange.site_headers import site_security_headers

    settings = load_settings({"providers": {"github": {"clientId": "Ov23liAbCdEfGh123456"}}}, {"github"})
    headers = site_security_headers(settings, "https://abc.lambda-url.eu-west-1.on.aws")
    assert header_problems("https://d1234.cloudfront.net/", httpx.Headers(headers)) == []
    assert deployment_check.parse_config_js('export default Object.freeze({"a": 1});\n') == {"a": 1}
