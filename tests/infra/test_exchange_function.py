"""The exchange function: least privilege, exact CORS, public only through its function URL."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

from oauth_exchange.packaging import sha256_base64
from tests.infra.stack_mocks import AUTONAME_SUFFIX, DISTRIBUTION_DOMAIN, TEST_CLIENT_ID, Deployment, function_config

SITE_ORIGIN = f"https://{DISTRIBUTION_DOMAIN}"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:oauth-client-secret-secret-AbCdEf"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
FUNCTION_NAME = "oauth-function-function" + AUTONAME_SUFFIX


def _function(deployment: Deployment) -> dict:
    return deployment.one("aws:lambda/function:Function").plain_inputs


def _role_statements(deployment: Deployment) -> list[dict]:
    return json.loads(deployment.one("aws:iam/rolePolicy:RolePolicy").plain_inputs["policy"])["Statement"]


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def test_cors_allows_exactly_the_site_and_the_extra_origins(dev: Deployment) -> None:
    cors = dev.one("aws:lambda/functionUrl:FunctionUrl").plain_inputs["cors"]
    assert cors["allowOrigins"] == [SITE_ORIGIN, "http://localhost:8000"]
    assert not any("*" in origin for origin in cors["allowOrigins"])
    assert cors["allowMethods"] == ["POST"]
    assert cors["allowHeaders"] == ["content-type"]
    assert cors["allowCredentials"] is False
    assert cors["maxAge"] > 0
    assert "exposeHeaders" not in cors


def test_cors_and_the_function_agree_on_the_allowed_origins(dev: Deployment) -> None:
    cors = dev.one("aws:lambda/functionUrl:FunctionUrl").plain_inputs["cors"]
    config = function_config(dev)
    assert config["allowed_origins"] == cors["allowOrigins"]
    assert config["providers"]["github"]["redirect_uris"] == [
        SITE_ORIGIN + "/callback/github",
        "http://localhost:8000/callback/github",
    ]


def test_function_url_is_public_and_invocable_only_through_it(dev: Deployment) -> None:
    assert dev.one("aws:lambda/functionUrl:FunctionUrl").plain_inputs["authorizationType"] == "NONE"
    permissions = sorted(
        (p.plain_inputs for p in dev.of_type("aws:lambda/permission:Permission")), key=lambda p: p["action"]
    )
    assert [p["action"] for p in permissions] == ["lambda:InvokeFunction", "lambda:InvokeFunctionUrl"]
    invoke, invoke_url = permissions
    assert invoke["invokedViaFunctionUrl"] is True
    assert invoke_url["functionUrlAuthType"] == "NONE"
    for permission in permissions:
        assert permission["principal"] == "*"
        assert permission["function"] == FUNCTION_NAME


def test_role_may_only_be_assumed_by_lambda(dev: Deployment) -> None:
    role = dev.one("aws:iam/role:Role").plain_inputs
    (statement,) = json.loads(role["assumeRolePolicy"])["Statement"]
    assert statement == {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    assert not dev.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert not role.get("managedPolicyArns")


def test_role_policy_names_only_its_own_log_group_secret_and_key(dev: Deployment) -> None:
    log_group = dev.one("aws:cloudwatch/logGroup:LogGroup").plain_inputs
    log_group_name = log_group["namePrefix"].rstrip("-") + AUTONAME_SUFFIX
    log_group_arn = f"arn:aws:logs:us-east-1:123456789012:log-group:{log_group_name}"
    grants = {
        action: _as_list(statement["Resource"])
        for statement in _role_statements(dev)
        for action in _as_list(statement["Action"])
    }
    assert grants == {
        "logs:CreateLogStream": [f"{log_group_arn}:*"],
        "logs:PutLogEvents": [f"{log_group_arn}:*"],
        "secretsmanager:GetSecretValue": [SECRET_ARN],
        "kms:Decrypt": [KEY_ARN],
    }
    assert all(statement["Effect"] == "Allow" for statement in _role_statements(dev))


def test_role_decrypts_only_through_secrets_manager_for_its_secret(dev: Deployment) -> None:
    (decrypt,) = [s for s in _role_statements(dev) if "kms:Decrypt" in _as_list(s["Action"])]
    assert decrypt["Condition"] == {
        "StringEquals": {
            "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com",
            "kms:EncryptionContext:SecretARN": SECRET_ARN,
        }
    }


def test_environment_holds_only_the_config_file_name_the_secret_arn_and_the_metrics_namespace(dev: Deployment) -> None:
    variables = _function(dev)["environment"]["variables"]
    assert variables["OAUTH_CLIENT_SECRETS_ARN"] == SECRET_ARN
    assert variables["OAUTH_CONFIG_FILE"] == "oauth_config.json"
    config = function_config(dev)
    assert config["providers"]["github"]["client_id"] == TEST_CLIENT_ID
    assert variables["OAUTH_METRICS_NAMESPACE"] == "OAuthExchange/oauth-exchange/dev"
    assert set(variables) == {"OAUTH_CONFIG_FILE", "OAUTH_CLIENT_SECRETS_ARN", "OAUTH_METRICS_NAMESPACE"}


def test_runtime_is_python_3_13_or_newer_on_arm64(dev: Deployment) -> None:
    function = _function(dev)
    major, minor = (int(part) for part in function["runtime"].removeprefix("python").split("."))
    assert (major, minor) >= (3, 13)
    assert function["architectures"] == ["arm64"]
    assert function["handler"] == "handler.handler"


def test_logs_are_json_in_a_log_group_with_retention(dev: Deployment, deploy: Callable[..., Deployment]) -> None:
    log_group = dev.one("aws:cloudwatch/logGroup:LogGroup").plain_inputs
    assert log_group["namePrefix"].startswith("/aws/lambda/")
    assert log_group["retentionInDays"] == 30
    log_group_name = log_group["namePrefix"].rstrip("-") + AUTONAME_SUFFIX
    assert _function(dev)["loggingConfig"] == {"logFormat": "JSON", "applicationLogLevel": "INFO", "logGroup": log_group_name}
    longer = deploy(logRetentionDays=90).one("aws:cloudwatch/logGroup:LogGroup").plain_inputs
    assert longer["retentionInDays"] == 90


def test_timeout_leaves_room_for_the_provider_calls(dev: Deployment, deploy: Callable[..., Deployment]) -> None:
    http_timeout = function_config(dev)["timeout_seconds"]
    assert _function(dev)["timeout"] > 2 * http_timeout
    slow = deploy(timeoutSeconds=20)
    assert function_config(slow)["timeout_seconds"] == 20
    assert _function(slow)["timeout"] > 2 * 20


def test_memory_comes_from_config(dev: Deployment, deploy: Callable[..., Deployment]) -> None:
    assert _function(dev)["memorySize"] == 256
    assert _function(deploy(memorySize=512))["memorySize"] == 512


def test_no_concurrency_is_reserved_unless_configured(dev: Deployment, deploy: Callable[..., Deployment]) -> None:
    assert "reservedConcurrentExecutions" not in _function(dev)
    assert _function(deploy(reservedConcurrency=5))["reservedConcurrentExecutions"] == 5


def test_code_is_the_packaged_archive_with_its_hash(dev: Deployment) -> None:
    function = _function(dev)
    archive = Path(function["code"].path)
    assert function["sourceCodeHash"] == sha256_base64(archive)
    names = zipfile.ZipFile(archive).namelist()
    assert "handler.py" in names
    assert "httpcore/__init__.py" in names

