"""``run-local --config`` refuses what ``pulumi up`` refuses, with the program's own message (tests/stack_refusals.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from local.stack import REPO
from tests.local.conftest import Cli
from tests.stack_refusals import REFUSALS, Refusal

CIPHERTEXT = {"secure": "AAABAJk1yqwYnJ3Ewql1hMlRUc8y2CKNw1VWzWjl8AquRG0fHmnSxg=="}
"""What ``pulumi config set --secret`` writes; a local run never decrypts it."""


def dev_stack_file(folder: Path, overrides: dict[str, Any]) -> Path:
    """The committed dev stack with a client id and an encrypted GitHub secret, the overrides applied."""
    config = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text())["config"]
    config["oauth-exchange:providers"]["github"]["clientId"] = "Ov23liTestClient0123"
    config["oauth-exchange:clientSecrets"] = {"github": CIPHERTEXT}
    for key, value in overrides.items():
        full_key = key if ":" in key else f"oauth-exchange:{key}"
        if key == "clientSecrets":
            value = {name: CIPHERTEXT for name in value}
        if value is None:
            config.pop(full_key, None)
        else:
            config[full_key] = value
    path = folder / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump({"config": config}), encoding="utf-8")
    return path


@pytest.mark.parametrize("refusal", REFUSALS, ids=lambda refusal: refusal.name)
def test_run_local_refuses_what_the_program_refuses_with_the_same_message(cli, tmp_path, refusal: Refusal) -> None:
    command = Cli("--config", str(dev_stack_file(tmp_path, refusal.overrides)))
    cli.append(command)
    assert command.finish() == 2
    assert command.lines == [refusal.expected(tmp_path.resolve())]


def test_the_same_file_without_the_refused_value_starts(cli, tmp_path) -> None:
    """The refusals above are the overrides' doing: the base file runs (against the fake GitHub)."""
    command = Cli("--config", str(dev_stack_file(tmp_path, {})), "--function-port", "0")
    cli.append(command)
    command.wait_for("Press Ctrl-C to stop.")
    assert "against a fake GitHub" in command.output
    command.process.terminate()
    assert command.finish() == 0


SESSION_WITH_CMS = "CMS popups open the function URL directly, which session mode makes private"


@pytest.mark.parametrize(
    ("overrides", "flags", "expected"),
    [
        (None, ["--session", "--cms"], f"--cms with --session: {SESSION_WITH_CMS}"),
        (None, ["--session", "--cms-origin", "http://127.0.0.1:9"], f"--cms-origin with --session: {SESSION_WITH_CMS}"),
        ({"session": True}, ["--cms"], f"--cms with oauth-exchange:session: {SESSION_WITH_CMS}"),
        (
            {"cms": {"origins": ["https://cms.example.com"]}},
            ["--session"],
            f"oauth-exchange:cms with --session: {SESSION_WITH_CMS}",
        ),
        (
            {"deploySite": False},
            ["--session"],
            "--session: session mode serves /api/ on the stack's own site: it needs deploySite true "
            "(the stack file sets oauth-exchange:deploySite false)",
        ),
    ],
    ids=["flags", "flags-cms-origin", "file-session-flag-cms", "file-cms-flag-session", "file-no-site-flag-session"],
)
def test_modes_a_flag_turns_on_are_refused_together_as_the_program_refuses_them(cli, tmp_path, overrides, flags, expected) -> None:
    config = ["--config", str(dev_stack_file(tmp_path, overrides))] if overrides is not None else []
    command = Cli(*config, *flags)
    cli.append(command)
    assert command.finish() == 2
    assert command.lines == [expected]
