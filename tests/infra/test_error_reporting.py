"""What the user sees when the program stops: one line naming the key, as ``pulumi up`` prints it, no traceback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.infra.stack_mocks import PROJECT, ROOT, SECRETS_KEY, TEST_SECRET, committed_config, config_text, dev_config
from tests.stack_refusals import REFUSALS, Refusal

HARNESS = Path(__file__).resolve().parent / "run_as_pulumi.py"
MAIN = ROOT / "__main__.py"


def run_as_pulumi(
    program: Path,
    config: dict[str, str],
    secret_keys: tuple[str, ...] = (SECRETS_KEY,),
    project: str = PROJECT,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    variables = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_CONFIG")}
    variables |= {"PULUMI_CONFIG": json.dumps(config), "PULUMI_CONFIG_SECRET_KEYS": json.dumps(list(secret_keys)), **env}
    return subprocess.run(
        [sys.executable, str(HARNESS), str(program), project],
        capture_output=True,
        text=True,
        env=variables,
        cwd=ROOT,
        timeout=180,
        check=False,
    )


def _the_one_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert TEST_SECRET not in result.stderr + result.stdout
    return lines[0].removeprefix("error: ")


def test_a_good_config_deploys_and_prints_its_outputs() -> None:
    result = run_as_pulumi(MAIN, dev_config())
    assert result.returncode == 0, result.stderr
    assert "error:" not in result.stderr
    outputs = json.loads(result.stdout)
    assert outputs["functionUrl"].endswith(".lambda-url.us-east-1.on.aws/")
    assert outputs["spaConfig"]["functionUrl"] == outputs["functionUrl"].rstrip("/")


def test_the_committed_placeholder_client_id_is_refused_saying_what_to_set() -> None:
    config = committed_config() | {SECRETS_KEY: config_text({"github": TEST_SECRET})}
    assert _the_one_error(run_as_pulumi(MAIN, config)) == (
        "oauth-exchange:providers.github.clientId: is still the placeholder 'Iv1.replace-with-your-client-id'; "
        "set your OAuth app's client id with pulumi config set --path 'providers.github.clientId' <client id>"
    )


def program_overrides(refusal: Refusal) -> dict[str, Any]:
    """The refusal's overrides as ``pulumi config`` holds them: client secrets set with --secret."""
    overrides = dict(refusal.overrides)
    if "clientSecrets" in overrides:
        overrides["clientSecrets"] = {name: TEST_SECRET for name in overrides["clientSecrets"]}
    return overrides


@pytest.mark.parametrize("refusal", REFUSALS, ids=lambda refusal: refusal.name)
def test_each_refusal_is_one_clean_message_naming_the_key(refusal: Refusal) -> None:
    """The same table drives tests/local/test_stack_refusals.py: run-local --config refuses alike."""
    assert _the_one_error(run_as_pulumi(MAIN, dev_config(**program_overrides(refusal)))) == refusal.expected(ROOT)


def test_a_provider_without_a_client_secret_is_named_with_the_command_that_sets_it() -> None:
    assert _the_one_error(run_as_pulumi(MAIN, dev_config(clientSecrets=None))) == (
        "oauth-exchange:clientSecrets.github: no client secret for provider 'github'; set it with "
        "pulumi config set --secret --path 'clientSecrets.github' <secret>"
    )


def test_an_unexpected_failure_would_show_its_traceback(tmp_path: Path) -> None:
    """The harness reports like the CLI: the clean messages above are the program's doing, not the harness's."""
    program = tmp_path / "__main__.py"
    program.write_text("raise ValueError('not a config problem')\n")
    result = run_as_pulumi(program, {})
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "ValueError: not a config problem" in result.stderr


def test_an_unreachable_package_index_without_a_cached_build_is_one_clean_message(tmp_path: Path) -> None:
    program = tmp_path / "__main__.py"
    program.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT / 'infra')!r})\n"
        "import pulumi\n"
        "from pathlib import Path\n"
        "from oauth_exchange import OAuthExchange, OAuthExchangeArgs, load_settings\n"
        "settings = load_settings({'providers': {'github': {'clientId': 'Ov23li01'}}, "
        "'extraOrigins': ['https://app.example.com']}, {'github'})\n"
        "OAuthExchange('auth', OAuthExchangeArgs(settings=settings, client_secrets=pulumi.Output.secret("
        f"{{'github': 's'}}), build_dir=Path({str(tmp_path / 'build')!r})))\n"
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_as_pulumi(
        program,
        {"aws:region": "us-east-1"},
        (),
        PIP_INDEX_URL=f"http://127.0.0.1:{port}/simple",
        PIP_RETRIES="1",
        PIP_CONFIG_FILE=os.devnull,
        PIP_FIND_LINKS="",
    )
    message = _the_one_error(result)
    assert message.startswith("pip could not reach the package index")
    assert "PIP_INDEX_URL" in message
