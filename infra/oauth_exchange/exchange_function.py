"""The exchange function: a least-privilege Lambda behind a public function URL with exact CORS."""

from __future__ import annotations

import json
from dataclasses import dataclass
import pulumi
import pulumi_aws as aws

from oauth_exchange.monitoring_plan import function_metrics
from oauth_exchange.packaging import PYTHON_VERSION, Archive, with_files
from oauth_exchange.pulumi_errors import required
from oauth_exchange.function_config import (
    FUNCTION_CONFIG_FILE,
    FUNCTION_CONFIG_FILE_ENV,
    FUNCTION_LOG_FORMAT,
    FUNCTION_LOG_LEVEL,
    function_config_json,
)
from oauth_exchange.origins import function_url_cors
from oauth_exchange.session_contract import SESSION_TABLE_ENV
from oauth_exchange.settings import Settings
from oauth_exchange.stack_config import Target

RUNTIME = f"python{PYTHON_VERSION}"

FUNCTION_URL_OUTPUT = "aws.lambda_.FunctionUrl function_url"


def role_policy(
    log_group_arn: str, secret_arn: str, key_arn: str, region: str, table_arn: str | None = None, table_name: str | None = None
) -> str:
    """Write its own logs, read its one secret, decrypt with its one key only via Secrets Manager.

    In session mode also: read and write its one table, and decrypt with the key only via DynamoDB, for that table.
    """
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                *([] if table_arn is None or table_name is None else _session_statements(table_arn, table_name, key_arn, region)),
                {
                    "Sid": "WriteOwnLogs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": f"{log_group_arn}:*",
                },
                {
                    "Sid": "ReadClientSecret",
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": secret_arn,
                },
                {
                    "Sid": "DecryptClientSecret",
                    "Effect": "Allow",
                    "Action": "kms:Decrypt",
                    "Resource": key_arn,
                    "Condition": {
                        "StringEquals": {
                            "kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
                            "kms:EncryptionContext:SecretARN": secret_arn,
                        }
                    },
                },
            ],
        },
        sort_keys=True,
    )


SESSION_TABLE_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
"""Exactly the calls ``function/session_store.py`` makes."""


def _session_statements(table_arn: str, table_name: str, key_arn: str, region: str) -> list[dict]:
    return [
        {"Sid": "ReadWriteSessions", "Effect": "Allow", "Action": SESSION_TABLE_ACTIONS, "Resource": table_arn},
        {
            "Sid": "DecryptSessions",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": key_arn,
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": f"dynamodb.{region}.amazonaws.com",
                    "kms:EncryptionContext:aws:dynamodb:tableName": table_name,
                }
            },
        },
    ]


def function_url_permissions(
    name: str,
    function_name: pulumi.Input[str],
    *,
    principal: str,
    auth_type: str,
    opts: pulumi.ResourceOptions,
    source_arn: pulumi.Input[str] | None = None,
) -> None:
    """Both permissions a function URL call needs: to invoke the URL itself, and the function through it."""
    aws.lambda_.Permission(
        f"{name}-invoke-url",
        function=function_name,
        action="lambda:InvokeFunctionUrl",
        principal=principal,
        source_arn=source_arn,
        function_url_auth_type=auth_type,
        opts=opts,
    )
    aws.lambda_.Permission(
        f"{name}-invoke-via-url",
        function=function_name,
        action="lambda:InvokeFunction",
        principal=principal,
        source_arn=source_arn,
        invoked_via_function_url=True,
        opts=opts,
    )


ASSUME_ROLE_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    },
    sort_keys=True,
)


@dataclass(frozen=True)
class ExchangeFunctionArgs:
    settings: Settings
    target: Target
    archive: Archive
    site_origin: pulumi.Input[str] | None
    """The SPA's own origin (``https://<distribution or custom domain>``): CORS and redirect URIs derive from it.

    None when the stack deploys no site (then ``settings.extra_origins`` are the only origins), and in
    session mode without a custom domain: the distribution is created after the function (the function
    URL is its origin), and tells the function the site's origin with each request.
    """
    secret_arn: pulumi.Input[str]
    key_arn: pulumi.Input[str]
    session_table_name: pulumi.Input[str] | None = None
    """Session mode: the function serves /api/ behind the distribution (AWS_IAM, no CORS) and keeps sessions here."""
    session_table_arn: pulumi.Input[str] | None = None
    metrics_namespace: str | None = None
    """Where the function's request lines put their metrics (EMF); None: they carry none."""


class ExchangeFunction(pulumi.ComponentResource):
    """Turns authorization codes into tokens for the SPA; callable only from the allowed origins' browsers."""

    url: pulumi.Output[str]
    function_name: pulumi.Output[str]
    log_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: ExchangeFunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("oauth-exchange:index:ExchangeFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings = args.settings
        session_mode = args.session_table_name is not None

        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name_prefix=f"/aws/lambda/{pulumi.get_project()}-{name}-",
            retention_in_days=settings.log_retention_days,
            opts=child,
        )
        role = aws.iam.Role(f"{name}-role", assume_role_policy=ASSUME_ROLE_POLICY, opts=child)
        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.all(
                log_group.arn, args.secret_arn, args.key_arn, args.target.region, args.session_table_arn, args.session_table_name
            ).apply(lambda values: role_policy(*values)),
            opts=child,
        )

        # The configuration goes into the zip (no 4 KB environment limit); the same config, the same bytes.
        archive = pulumi.Output.from_input(args.site_origin).apply(
            lambda origin: with_files(args.archive, {FUNCTION_CONFIG_FILE: function_config_json(settings, origin).encode()})
        )
        environment: dict[str, pulumi.Input[str]] = {
            FUNCTION_CONFIG_FILE_ENV: FUNCTION_CONFIG_FILE,
            "OAUTH_CLIENT_SECRETS_ARN": args.secret_arn,
        }
        if session_mode:
            environment[SESSION_TABLE_ENV] = args.session_table_name
        if args.metrics_namespace is not None:
            environment[function_metrics().NAMESPACE_ENV] = args.metrics_namespace
        function = aws.lambda_.Function(
            f"{name}-function",
            description="Exchanges OAuth authorization codes for tokens on behalf of the static site",
            runtime=RUNTIME,
            architectures=["arm64"],
            handler="handler.handler",
            role=role.arn,
            code=archive.apply(lambda built: pulumi.FileArchive(str(built.path))),
            source_code_hash=archive.apply(lambda built: built.sha256),
            timeout=settings.lambda_timeout_seconds,
            memory_size=settings.memory_size,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=environment),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format=FUNCTION_LOG_FORMAT, application_log_level=FUNCTION_LOG_LEVEL, log_group=log_group.name
            ),
            reserved_concurrent_executions=settings.reserved_concurrency,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        self.log_group_name = log_group.name
        if session_mode:
            # Only the site's distribution may invoke it (SessionEdge.admit), and only on the site's origin: no CORS.
            function_url = aws.lambda_.FunctionUrl(
                f"{name}-url", function_name=function.name, authorization_type="AWS_IAM", opts=child
            )
            self.url = required(function_url.function_url, FUNCTION_URL_OUTPUT)
            self.function_name = function.name
            self.register_outputs({"url": self.url})
            return
        cors = pulumi.Output.from_input(args.site_origin).apply(lambda origin: function_url_cors(settings, origin))
        function_url = aws.lambda_.FunctionUrl(
            f"{name}-url",
            function_name=function.name,
            authorization_type="NONE",
            cors=aws.lambda_.FunctionUrlCorsArgs(
                allow_origins=cors.apply(lambda c: list(c.allow_origins)),
                allow_methods=cors.apply(lambda c: list(c.allow_methods)),
                allow_headers=cors.apply(lambda c: list(c.allow_headers)),
                allow_credentials=cors.apply(lambda c: c.allow_credentials),
                max_age=cors.apply(lambda c: c.max_age),
            ),
            opts=child,
        )
        function_url_permissions(name, function.name, principal="*", auth_type="NONE", opts=child)

        self.url = required(function_url.function_url, FUNCTION_URL_OUTPUT)
        self.function_name = function.name
        self.register_outputs({"url": self.url})
