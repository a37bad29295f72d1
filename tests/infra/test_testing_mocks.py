"""``oauth_exchange.testing`` in a user's own pytest run, and what Pulumi's plain echo mocks get instead."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.stack_mocks import ROOT

EXAMPLE = Path(__file__).resolve().parent / "user_project" / "readme_example.py"
DOCS_ECHO_MOCKS = '''
import pulumi

class MyMocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return [args.name + "_id", args.inputs]

    def call(self, args):
        return {CALL_RESULT}

pulumi.runtime.set_mocks(MyMocks(), preview=False)

from oauth_exchange import OAuthExchange, OAuthExchangeArgs, SiteSettings, load_settings

@pulumi.runtime.test
def test_the_exchange():
    settings = load_settings({"providers": {"github": {"clientId": "Ov23li01"}}, "extraOrigins": EXTRA}, {"github"})
    exchange = OAuthExchange("auth", OAuthExchangeArgs(
        settings=settings, site=SiteSettings(deploy=DEPLOY), client_secrets=pulumi.Output.secret({"github": "s"})))
    return exchange.spa_config
'''
REGION_CALLS = '{"region": "us-east-1", "partition": "aws", "accountId": "123456789012"}'


def run_user_tests(project: Path, test_file: str) -> subprocess.CompletedProcess[str]:
    """pytest in the user's project, oauth_exchange importable as if installed, the function's dependencies cached."""
    (project / "test_infra.py").write_text(test_file)
    for cached in (ROOT / ".build").glob("dependencies-*"):
        shutil.copytree(cached, project / ".build" / cached.name)
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "infra")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning", "test_infra.py"],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_readme_example_passes_in_a_users_own_project(tmp_path: Path) -> None:
    result = run_user_tests(tmp_path, EXAMPLE.read_text())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_the_example_fails_when_what_it_checks_is_wrong(tmp_path: Path) -> None:
    """Its assertions run: the mocks' values are compared, not waved through."""
    wrong = EXAMPLE.read_text().replace('function_url("eu-west-1")', 'function_url("us-east-1")')
    result = run_user_tests(tmp_path, wrong)
    assert result.returncode == 1
    assert "1 failed" in result.stdout and "AssertionError" in result.stdout


@pytest.mark.parametrize(
    ("calls", "deploy", "named", "method"),
    [
        ("{}", True, "aws.get_region() region", "call"),
        (REGION_CALLS, True, "aws.cloudfront.Distribution domain_name", "new_resource"),
        (REGION_CALLS, False, "aws.lambda_.FunctionUrl function_url", "new_resource"),
    ],
    ids=["calls-echoed", "site-deployed", "function-only"],
)
def test_pulumis_docs_echo_mocks_get_an_error_naming_the_empty_output(tmp_path: Path, calls, deploy, named, method) -> None:
    test_file = (
        DOCS_ECHO_MOCKS.replace("CALL_RESULT", calls.strip("{}"))
        .replace("EXTRA", "[]" if deploy else '["https://app.example.com"]')
        .replace("DEPLOY", str(deploy))
    )
    result = run_user_tests(tmp_path, test_file)
    assert result.returncode == 1
    assert (
        f"MissingOutputError: {named} came back empty (None), and the component builds on it; under Pulumi's mocks, "
        f"return it from {method}, as oauth_exchange.testing.Mocks does"
    ) in result.stdout
    assert "https://none" not in result.stdout.lower()


def test_the_docs_show_the_example_that_is_run_here() -> None:
    docs = (ROOT / "docs" / "testing-your-program.md").read_text()
    shown = docs.split("```python\n# tests/test_infra.py\n", 1)[1].split("```", 1)[0]
    run_here = EXAMPLE.read_text().split('"""\n', 1)[1].lstrip("\n")
    assert shown == run_here
