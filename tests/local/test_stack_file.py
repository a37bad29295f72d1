"""Reading a Pulumi stack file for a local run, and what the command prints by default."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from local.console import console, is_chatter
from local.stack import REPO
from local.stack_file import StackFileError, read_stack_file
from oauth_exchange.settings import ConfigError
from oauth_exchange.stack_values import plaintext_secrets_error


def write(tmp_path: Path, text: str, name: str = "Pulumi.dev.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_the_projects_keys_are_taken_without_their_namespace_and_other_namespaces_are_not(tmp_path):
    path = write(
        tmp_path,
        """
        config:
          aws:region: eu-west-1
          other-project:providers: {}
          oauth-exchange:providers:
            myidp:
              clientId: my-client
              authorizeUrl: https://idp.example/authorize
              tokenUrl: https://idp.example/token
          oauth-exchange:extraOrigins: [http://localhost:5173]
          oauth-exchange:secretCacheSeconds: 0
        """,
    )
    stack_file = read_stack_file(path)
    assert stack_file.values == {
        "providers": {
            "myidp": {"clientId": "my-client", "authorizeUrl": "https://idp.example/authorize", "tokenUrl": "https://idp.example/token"}
        },
        "extraOrigins": ["http://localhost:5173"],
        "secretCacheSeconds": 0,
    }
    assert stack_file.region == "eu-west-1"


def test_of_the_encrypted_client_secrets_only_the_names_are_kept(tmp_path):
    path = write(
        tmp_path,
        """
        config:
          oauth-exchange:providers: {github: {clientId: Ov23liAbCdEfGh123456}}
          oauth-exchange:clientSecrets:
            github:
              secure: AAABAJk1yqwYnJ3Ewql1hMlRUc8y2CKNw1VWzWjl8AquRG0fHmnSxg==
        """,
    )
    stack_file = read_stack_file(path)
    assert set(stack_file.values) == {"providers"}
    assert stack_file.secret_names == {"github"}
    assert "AAAB" not in repr(stack_file)


def test_plaintext_client_secrets_are_refused_as_the_program_refuses_them(tmp_path):
    path = write(tmp_path, "config:\n  oauth-exchange:clientSecrets: {github: not-encrypted-value}\n")
    with pytest.raises(ConfigError) as raised:
        read_stack_file(path)
    assert str(raised.value) == str(plaintext_secrets_error())
    assert "not-encrypted-value" not in str(raised.value)


def test_any_other_encrypted_value_is_refused_naming_its_key(tmp_path):
    path = write(
        tmp_path,
        """
        config:
          oauth-exchange:providers:
            github:
              clientId:
                secure: AAABAJk1yqwYnJ3Ewql1hMlRUc8y2CKNw1VWzWjl8AquRG0fHmnSxg==
        """,
    )
    with pytest.raises(StackFileError, match=r"oauth-exchange:providers\.github\.clientId is encrypted"):
        read_stack_file(path)


def test_site_dir_is_relative_to_the_stack_files_folder(tmp_path):
    path = write(tmp_path, "config:\n  oauth-exchange:siteDir: ../app/dist\n", name="Pulumi.dev.yaml")
    assert read_stack_file(path).project_dir == tmp_path.resolve()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("config: [1, 2", "is not valid YAML at line"),
        ("encryptionsalt: v1:abc\n", "has no config: mapping"),
        ("- just\n- a list\n", "has no config: mapping"),
    ],
    ids=["broken-yaml", "no-config", "not-a-mapping"],
)
def test_an_unusable_file_is_named_with_what_is_wrong(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(StackFileError, match=message) as raised:
        read_stack_file(path)
    assert str(path) in str(raised.value)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(StackFileError, match="cannot be read"):
        read_stack_file(tmp_path / "Pulumi.nope.yaml")


def test_the_committed_dev_stack_file_reads():
    values = read_stack_file(REPO / "Pulumi.dev.yaml").values
    assert "github" in values["providers"]
    assert "http://localhost:8000" in values["extraOrigins"]


SDK_RECORD = {"level": "INFO", "message": "Found credentials in environment variables.", "logger": "botocore.credentials"}
OWN_RECORD = {"level": "INFO", "message": "route=/token outcome=ok status=200", "logger": "oauth_exchange"}


@pytest.mark.parametrize(
    ("line", "chatter"),
    [
        ("site     GET /app.js 200 0.4ms", True),
        (f"function[1] {json.dumps(SDK_RECORD)}", True),
        (f"function[2] {json.dumps({**SDK_RECORD, 'logger': 'urllib3.connectionpool'})}", True),
        (f"function[1] {json.dumps(OWN_RECORD)}", False),
        ("function POST /token 200 4.1ms", False),
        ("provider POST /login/oauth/access_token", False),
        ("function[1] [ERROR] RuntimeError: boom\tabc", False),
        ("function[1] {not json", False),
        ("Press Ctrl-C to stop.", False),
    ],
)
def test_static_file_requests_and_sdk_records_are_chatter(line, chatter):
    assert is_chatter(line) is chatter


def test_the_console_drops_chatter_unless_verbose():
    quiet, loud = [], []
    lines = ["site     GET / 200 1.0ms", f"function[1] {json.dumps(SDK_RECORD)}", "function POST /token 200 3.0ms"]
    for line in lines:
        console(False, quiet.append)(line)
        console(True, loud.append)(line)
    assert quiet == ["function POST /token 200 3.0ms"]
    assert loud == lines
