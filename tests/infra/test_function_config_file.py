"""The function's configuration travels in its zip, so no size of access policy can hit Lambda's 4 KB environment limit."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from oauth_exchange.packaging import PackagingError, build_archive, with_files
from oauth_exchange.function_config import FUNCTION_CONFIG_FILE, function_config_json
from oauth_exchange.settings import load_settings
from oauth_config import parse_config
from tests.infra.stack_mocks import DISTRIBUTION_DOMAIN, Deployment, function_config_text

LAMBDA_ENVIRONMENT_LIMIT = 4096
"""Lambda: "Maximum size of environment variables set: 4 KB" (docs/aws-behaviours.md)."""
USERS = [f"contributor-{n:03d}" for n in range(499)] + ["octocat"]


def environment_bytes(deployment: Deployment) -> int:
    variables = deployment.one("aws:lambda/function:Function").plain_inputs["environment"]["variables"]
    return sum(len(name.encode()) + len(value.encode()) for name, value in variables.items())


@pytest.fixture(scope="module")
def org_wide(deploy: Callable[..., Deployment]) -> Deployment:
    return deploy(session=True, providers={"github": {"clientId": "Iv1.0123456789", "allow": {"users": USERS}}})


def test_500_allowed_users_deploy_with_a_small_environment_and_the_whole_list_in_the_zip(org_wide):
    text = function_config_text(org_wide)

    assert len(text.encode()) > 2 * LAMBDA_ENVIRONMENT_LIMIT
    assert environment_bytes(org_wide) < LAMBDA_ENVIRONMENT_LIMIT // 4
    allow = parse_config(text, "arn:aws:secretsmanager:us-east-1:123456789012:secret:x", "table").providers["github"].allow
    assert allow is not None and allow.users == frozenset(USERS)


def test_the_zip_holds_exactly_what_the_settings_compute(deploy):
    entries = {"github": {"clientId": "Iv1.0123456789", "allow": {"users": USERS}}}
    deployment = deploy(providers=entries)

    settings = load_settings({"providers": entries, "extraOrigins": ["http://localhost:8000"]}, {"github"})
    assert function_config_text(deployment) == function_config_json(settings, f"https://{DISTRIBUTION_DOMAIN}")


def test_the_same_config_deploys_the_same_zip_and_another_config_another(deploy, org_wide):
    again = deploy(session=True, providers={"github": {"clientId": "Iv1.0123456789", "allow": {"users": USERS}}})
    fewer = deploy(session=True, providers={"github": {"clientId": "Iv1.0123456789", "allow": {"users": USERS[:-1]}}})

    def code(deployment: Deployment) -> tuple[str, str]:
        function = deployment.one("aws:lambda/function:Function").plain_inputs
        return function["code"].path, function["sourceCodeHash"]

    assert code(again) == code(org_wide)
    assert code(fewer)[1] != code(org_wide)[1]


# -- with_files itself, on a small archive built without pip ---------------------------------


@pytest.fixture
def base(tmp_path: Path):
    function = tmp_path / "function"
    function.mkdir()
    (function / "handler.py").write_text("def handler(event, context):\n    return {}\n")
    (function / "helper.py").write_text("VALUE = 1\n")
    return build_archive(function, tmp_path / "build")


def test_adding_a_file_twice_from_scratch_gives_identical_bytes(base, tmp_path):
    config = b'{"providers": {}}'
    first = with_files(base, {FUNCTION_CONFIG_FILE: config})
    copy_dir = tmp_path / "elsewhere"
    copy_dir.mkdir()
    copied = type(base)(copy_dir / base.path.name, base.sha256)
    copied.path.write_bytes(base.path.read_bytes())
    second = with_files(copied, {FUNCTION_CONFIG_FILE: config})

    assert first.path != second.path
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.sha256 == second.sha256


def test_the_added_file_sits_at_the_root_beside_the_unchanged_code(base):
    added = with_files(base, {FUNCTION_CONFIG_FILE: b"{}"})

    with zipfile.ZipFile(added.path) as result, zipfile.ZipFile(base.path) as original:
        assert result.namelist() == sorted([*original.namelist(), FUNCTION_CONFIG_FILE])
        assert all(result.read(name) == original.read(name) for name in original.namelist())
        assert result.read(FUNCTION_CONFIG_FILE) == b"{}"
        assert {info.date_time for info in result.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert with_files(base, {FUNCTION_CONFIG_FILE: b"{ }"}).sha256 != added.sha256


def test_a_file_that_would_replace_code_is_refused(base):
    with pytest.raises(PackagingError, match="already has handler.py"):
        with_files(base, {"handler.py": b"print('not the handler')"})
