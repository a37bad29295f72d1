"""The README's Vite + React app signs in: built and served by the local stack, and under Vite's dev server.

The app (tests/typescript/vite-app) installs site/ as the npm package
``@oauth-exchange/client`` and loads the generated ``config.js`` at run time,
so this is what a new user's own SPA does, in production and in development.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from local.stack import REPO, LocalStack
from tests.browser.conftest import REPORT_CSP_VIOLATIONS, TIMEOUT_MS

PACKAGES = REPO / "tests" / "typescript"
APP = PACKAGES / "vite-app"
VITE = PACKAGES / "node_modules" / ".bin" / "vite"
BUILD_TIMEOUT_SECONDS = 120
DEV_SERVER_START_SECONDS = 30


def vite() -> Path:
    if not VITE.exists():
        pytest.fail(f"{VITE.relative_to(REPO)} is missing: scripts/test installs it (npm ci --prefix tests/typescript)")
    return VITE


@pytest.fixture(scope="module")
def built_app(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("vite") / "dist"
    result = subprocess.run(
        [str(vite()), "build", str(APP), "--outDir", str(dist), "--emptyOutDir", "--logLevel", "warn"],
        cwd=PACKAGES,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_SECONDS,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == "", "the build warns about nothing (config.js is left to run time)"
    return dist


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def open_page(browser: Browser, messages: list[str]) -> Page:
    context = browser.new_context()
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on("console", lambda message: messages.append(message.text))
    page.on("pageerror", lambda error: messages.append(f"page error: {error}"))
    return page


def sign_in_and_out(page: Page, url: str) -> None:
    page.goto(url)
    page.click("#sign-in-github")
    page.click("#authorize")
    expect(page.locator("#user")).to_have_text("Signed in as octocat (read:user)")
    assert "code=" not in page.url and "state=" not in page.url
    page.click("#sign-out")
    expect(page.locator("#sign-in-github")).to_be_visible()


def test_the_built_app_signs_in_served_by_the_local_stack_under_the_sites_csp(browser, built_app):
    messages: list[str] = []
    with LocalStack(site_root=built_app) as stack:
        page = open_page(browser, messages)
        sign_in_and_out(page, stack.site_url)
        assert stack.provider.revoked_tokens, "sign-out revoked the token"
        page.context.close()
    assert [m for m in messages if "CSP violation" in m or "Content Security Policy" in m or "page error" in m] == []


@pytest.fixture
def dev_server() -> Iterator[tuple[str, LocalStack]]:
    """``vite`` on 127.0.0.1 with config.js proxied to a local stack that allows its origin."""
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    with LocalStack(config={"extraOrigins": [origin]}) as stack:
        process = subprocess.Popen(
            [str(vite()), str(APP), "--host", "127.0.0.1", "--port", str(port), "--strictPort"],
            cwd=PACKAGES,
            env={**os.environ, "OAUTH_EXCHANGE_SITE": stack.site_origin},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + DEV_SERVER_START_SECONDS
            while True:
                try:
                    if httpx.get(origin + "/config.js", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert process.poll() is None and time.monotonic() < deadline, "vite's dev server did not start"
                time.sleep(0.2)
            yield origin, stack
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(10)


def test_the_app_signs_in_from_vites_dev_server_as_an_extra_origin(browser, dev_server):
    origin, stack = dev_server
    messages: list[str] = []
    page = open_page(browser, messages)
    sign_in_and_out(page, origin + "/")
    page.context.close()
    assert [m for m in messages if "page error" in m] == []
    assert stack.provider.requests_to("/login/oauth/access_token")[-1].form()["redirect_uri"].startswith(origin + "/")
