"""The client secret is encrypted with its own rotating key and never appears in plaintext."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.infra.stack_mocks import TEST_SECRET, Deployment, is_secret, plain_parts

KMS_USAGE = {"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:GenerateDataKey", "kms:*"}


def _statements(policy: str) -> list[dict]:
    return json.loads(policy)["Statement"]


def _actions(statement: dict) -> set[str]:
    actions = statement["Action"]
    return {actions} if isinstance(actions, str) else set(actions)


def test_kms_key_rotates(dev: Deployment) -> None:
    key = dev.one("aws:kms/key:Key").plain_inputs
    assert key["enableKeyRotation"] is True


def test_key_is_used_only_through_secrets_manager(dev: Deployment) -> None:
    policy = dev.one("aws:kms/key:Key").plain_inputs["policy"]
    for statement in _statements(policy):
        uses_key = _actions(statement) & KMS_USAGE
        if statement["Effect"] == "Allow" and uses_key:
            condition = statement["Condition"]["StringEquals"]
            assert condition["kms:ViaService"] == "secretsmanager.us-east-1.amazonaws.com", statement
            assert condition["kms:CallerAccount"] == "123456789012", statement
        assert statement["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}, statement


def test_secret_is_encrypted_with_that_key(dev: Deployment) -> None:
    key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    assert dev.one("aws:secretsmanager/secret:Secret").plain_inputs["kmsKeyId"] == key_arn


def test_secret_version_value_is_a_pulumi_secret_holding_the_client_secrets(dev: Deployment) -> None:
    version = dev.one("aws:secretsmanager/secretVersion:SecretVersion")
    assert is_secret(version.inputs["secretString"])
    assert json.loads(version.plain_inputs["secretString"]) == {"github": TEST_SECRET}


def test_client_secret_is_in_no_plaintext_resource_input(dev: Deployment) -> None:
    leaks = [
        resource.name
        for resource in dev.resources
        if any(TEST_SECRET in str(part) for part in plain_parts(resource.inputs))
    ]
    assert leaks == []


def test_client_secret_is_not_in_the_function_environment(dev: Deployment) -> None:
    variables = dev.one("aws:lambda/function:Function").plain_inputs["environment"]["variables"]
    assert set(variables) == {"OAUTH_CONFIG_FILE", "OAUTH_CLIENT_SECRETS_ARN", "OAUTH_METRICS_NAMESPACE"}
    assert all(TEST_SECRET not in value for value in variables.values())
    assert variables["OAUTH_CLIENT_SECRETS_ARN"].startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:")


def test_client_secret_is_in_no_stack_output(dev: Deployment) -> None:
    assert dev.outputs
    for name, (value, secret) in dev.outputs.items():
        assert TEST_SECRET not in json.dumps(value), name
        assert not secret, f"{name} is needlessly secret"


def test_client_secret_is_never_logged(dev: Deployment) -> None:
    assert all(TEST_SECRET not in message for message in dev.logs)


ROTATED_SECRET = "gh-client-secret-rotated-fedcba9876543210"


def test_rotation_is_the_config_secret_then_up_and_touches_only_the_secret_version(
    dev: Deployment, deploy: Callable[..., Deployment]
) -> None:
    """The stack's secret config is the one source of the value: a later ``up`` writes what config holds."""
    rotated = deploy(clientSecrets={"github": ROTATED_SECRET})
    version = rotated.one("aws:secretsmanager/secretVersion:SecretVersion")
    assert is_secret(version.inputs["secretString"])
    assert json.loads(version.plain_inputs["secretString"]) == {"github": ROTATED_SECRET}
    assert version.plain_inputs["secretId"] == dev.one("aws:secretsmanager/secretVersion:SecretVersion").plain_inputs["secretId"]
    unchanged = (
        "aws:lambda/function:Function",
        "aws:secretsmanager/secret:Secret",
        "aws:kms/key:Key",
        "aws:iam/rolePolicy:RolePolicy",
    )
    for resource_type in unchanged:
        before, after = dev.one(resource_type).plain_inputs, rotated.one(resource_type).plain_inputs
        if "code" in before:
            assert after.pop("code").path == before.pop("code").path
        assert after == before, resource_type


def test_the_secret_version_is_written_only_through_config(dev: Deployment) -> None:
    """No write-only value or ignore_changes: nothing can drift from config without the next up showing it."""
    version = dev.one("aws:secretsmanager/secretVersion:SecretVersion").plain_inputs
    assert set(version) == {"secretId", "secretString"}
