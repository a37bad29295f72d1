"""End to end: an access policy of 500 users, far over Lambda's 4 KB environment, through the local stack's real runtime."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from local.signin import Spa
from local.stack import LocalStack

USERS = [f"contributor-{n:03d}" for n in range(499)] + ["octocat"]


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(allow={"users": USERS}) as running:
        yield running


def test_the_function_reads_the_whole_policy_from_its_config_file_not_the_environment(stack):
    environment = stack.containers.environment

    assert "OAUTH_CONFIG" not in environment
    assert environment["OAUTH_CONFIG_FILE"] == str(stack.function_config_path)
    assert sum(len(k) + len(v) for k, v in environment.items() if k.startswith("OAUTH_")) < 1024
    text = stack.function_config_path.read_text()
    assert len(text.encode()) > 8192
    assert json.loads(text)["providers"]["github"]["allow"]["users"] == USERS


def test_the_last_of_500_allowed_users_signs_in(stack):
    with httpx.Client(timeout=20) as client:
        answer = Spa(client, stack.site_url).sign_in()

    assert answer["access_token"] in stack.provider.active_access_tokens()
    assert answer["token_type"].lower() == "bearer"
