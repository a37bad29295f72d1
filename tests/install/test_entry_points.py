"""Each README command works in an environment holding only what that command installs.

The scripts are run themselves, each with ``OAUTH_EXCHANGE_VENV`` pointing at a
folder of the test's own, so they build their environment from nothing exactly
as on a user's fresh machine; the Pulumi program runs on what ``pulumi up``
installs from requirements.txt.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import httpx
from local.signin import Spa
from local.stack import LocalStack
from tests.infra.stack_mocks import SECRETS_KEY, TEST_CLIENT_ID, TEST_SECRET, dev_config
from tests.install.environments import ROOT, clean_env, copy_checkout, install, new_environment, run
from tests.local.conftest import Cli, cli  # noqa: F401 - cli is the fixture that ends what a test started

RUN_LOCAL = ROOT / "scripts" / "run-local"
SMOKE = ROOT / "scripts" / "smoke"
HARNESS = ROOT / "tests" / "infra" / "run_as_pulumi.py"


def _cannot_import(python: Path, module: str) -> bool:
    probe = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True, env=clean_env(), cwd="/")
    return probe.returncode != 0


def test_run_local_installs_what_it_imports_and_signs_in(tmp_path: Path, cli: list[Cli]) -> None:
    venv = tmp_path / "venv"
    env = clean_env(OAUTH_EXCHANGE_VENV=str(venv))
    usage = run([str(RUN_LOCAL), "--help"], cwd=tmp_path, env=env)
    assert usage.startswith("usage: scripts/run-local")
    assert _cannot_import(venv / "bin" / "python", "pytest"), "the environment holds more than run-local installs"

    command = Cli(command=[str(RUN_LOCAL)], env={"OAUTH_EXCHANGE_VENV": str(venv)}, cwd=tmp_path)
    cli.append(command)
    command.wait_for("Press Ctrl-C to stop.")
    with httpx.Client(timeout=20) as client:
        token = Spa(client, command.value("Open the demo:")).sign_in()
    assert token["access_token"].startswith("gho_")
    command.process.send_signal(signal.SIGINT)
    assert command.finish() == 0
    assert command.lines[-1] == "Stopped."


def test_smoke_installs_what_it_imports_and_checks_a_running_stack(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    with LocalStack() as stack:
        callbacks = [arg for url in stack.outputs()["callbackUrls"]["github"] for arg in ("--callback-url", url)]
        result = subprocess.run(
            [str(SMOKE), "--site-url", stack.site_url, "--function-url", stack.function_url, *callbacks],
            cwd=tmp_path,
            env=clean_env(OAUTH_EXCHANGE_VENV=str(venv)),
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "6 passed, 0 failed"
    assert _cannot_import(venv / "bin" / "python", "moto"), "the environment holds more than smoke installs"


def test_the_pulumi_program_runs_on_what_pulumi_up_installs(tmp_path: Path) -> None:
    """In a copy of the checkout without .build/, so the program builds the function's zip with its own pip."""
    project = copy_checkout(tmp_path / "project")
    python = new_environment(project / "venv")
    install(python, "-r", str(project / "requirements.txt"))
    assert _cannot_import(python, "httpx"), "the environment holds more than requirements.txt"
    config = dev_config()
    env = clean_env(PULUMI_CONFIG=json.dumps(config), PULUMI_CONFIG_SECRET_KEYS=json.dumps([SECRETS_KEY]))
    harness = project / HARNESS.relative_to(ROOT)
    outputs = json.loads(run([str(python), str(harness), str(project / "__main__.py")], cwd=project, env=env))
    assert outputs["functionUrl"].endswith(".on.aws/")
    assert outputs["spaConfig"]["providers"][0]["clientId"] == TEST_CLIENT_ID
    assert TEST_SECRET not in json.dumps(outputs)
