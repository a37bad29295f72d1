"""The deployed function reads its configuration from a file in its zip, named by OAUTH_CONFIG_FILE."""

from __future__ import annotations

import json
import os

import pytest

from oauth_config import ConfigError, load_config
from tests.function.test_configuration import ARN, VALID, with_changes


def test_a_relative_name_is_read_from_the_task_root(tmp_path):
    (tmp_path / "oauth_config.json").write_text(json.dumps(VALID))

    config = load_config({"OAUTH_CONFIG_FILE": "oauth_config.json", "LAMBDA_TASK_ROOT": str(tmp_path), "OAUTH_CLIENT_SECRETS_ARN": ARN})

    assert set(config.providers) == {"github"}
    assert config.allowed_origins == frozenset({"https://d1234.cloudfront.net"})


def test_the_file_wins_over_a_stale_variable(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(with_changes("allowed_origins", ["https://site.example"])))
    environ = {"OAUTH_CONFIG_FILE": str(path), "OAUTH_CONFIG": json.dumps(VALID), "OAUTH_CLIENT_SECRETS_ARN": ARN}

    assert load_config(environ).allowed_origins == frozenset({"https://site.example"})


def test_a_large_access_policy_loads_from_the_file(tmp_path):
    users = [f"contributor-{n:03d}" for n in range(500)]
    document = with_changes("providers.github.allow", {"check": "github", "api_url": "https://api.github.com", "users": users})
    (tmp_path / "oauth_config.json").write_text(json.dumps(document))
    assert os.path.getsize(tmp_path / "oauth_config.json") > 4096

    config = load_config({"OAUTH_CONFIG_FILE": "oauth_config.json", "LAMBDA_TASK_ROOT": str(tmp_path), "OAUTH_CLIENT_SECRETS_ARN": ARN})

    assert config.providers["github"].allow.users == frozenset(users)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "OAUTH_CONFIG_FILE names a file that cannot be read (No such file or directory)"),
        (b"\xff\xfe{}", "OAUTH_CONFIG_FILE names a file that cannot be read (not UTF-8)"),
        (b'{"providers": {"github": {"client_secret": "s3cr3t-value"', "OAUTH_CONFIG is not valid JSON"),
    ],
    ids=["missing", "not-utf8", "not-json"],
)
def test_an_unreadable_file_is_a_config_error_that_shows_none_of_it(tmp_path, content, message):
    if content is not None:
        (tmp_path / "oauth_config.json").write_bytes(content)

    with pytest.raises(ConfigError) as raised:
        load_config({"OAUTH_CONFIG_FILE": "oauth_config.json", "LAMBDA_TASK_ROOT": str(tmp_path), "OAUTH_CLIENT_SECRETS_ARN": ARN})

    assert message in str(raised.value)
    assert "s3cr3t" not in str(raised.value)
    assert str(tmp_path) not in str(raised.value)


def test_neither_file_nor_variable_names_both(tmp_path):
    with pytest.raises(ConfigError, match=r"^OAUTH_CONFIG is not set \(nor OAUTH_CONFIG_FILE\)$"):
        load_config({"OAUTH_CLIENT_SECRETS_ARN": ARN, "LAMBDA_TASK_ROOT": str(tmp_path)})
