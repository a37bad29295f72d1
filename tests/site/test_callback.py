"""The SPA's callback checks in site/oauth.js, run in Node: exact issuers, and a return path that stays on the site."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
ISSUER = "https://id.acme.example"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run site/oauth.js")


def sign_in(start_at: str = "https://app.example/", *, issuer: str | None = ISSUER, iss: str | None = ISSUER) -> dict[str, Any]:
    """One sign-in started at ``start_at``, the provider answering with ``iss``: what the client did."""
    scenario = json.dumps({"startAt": start_at, "issuer": issuer, "iss": iss})
    run = subprocess.run(
        ["node", str(HERE / "callback.mjs"), scenario], capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(run.stdout)


def test_the_configured_issuer_completes_the_sign_in():
    outcome = sign_in()

    assert outcome == {"error": None, "addressBar": ["/"], "called": ["/token"]}


@pytest.mark.parametrize(
    "iss",
    [ISSUER + ".evil", ISSUER + ".evil.example", ISSUER + "/", ISSUER + "/evil", "https://id.acme.exampl", "HTTPS://ID.ACME.EXAMPLE"],
)
def test_an_issuer_that_only_resembles_the_configured_one_is_a_mismatch(iss):
    outcome = sign_in(iss=iss)

    assert outcome["error"] == "issuer_mismatch"
    assert outcome["called"] == []  # the code was never sent


def test_a_provider_that_always_sends_iss_must_have_sent_it():
    assert sign_in(iss=None) == {"error": "issuer_missing", "addressBar": ["/"], "called": []}


def test_the_page_the_sign_in_started_on_is_where_the_user_comes_back():
    outcome = sign_in("https://app.example/notes/42?tab=2#top")

    assert outcome["error"] is None
    assert outcome["addressBar"] == ["/notes/42?tab=2#top"]


@pytest.mark.parametrize("path", ["//evil.example/phish", "//evil.example", "///evil.example", "/\\evil.example"])
def test_a_return_path_that_would_leave_the_site_comes_back_to_the_root(path):
    outcome = sign_in("https://app.example" + path)

    assert outcome["error"] is None
    assert outcome["addressBar"] == ["/"]
