"""The encrypted client secret: a customer-managed KMS key and the Secrets Manager secret it protects."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from oauth_exchange.secrets_document import client_secrets_json
from oauth_exchange.settings import Settings
from oauth_exchange.stack_config import Target

KEY_ADMIN_ACTIONS = [
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
]
KEY_USAGE_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]


def key_policy(partition: str, account_id: str, region: str, dynamodb: bool = False) -> str:
    """The account administers the key; it encrypts and decrypts only through Secrets Manager (and DynamoDB in session mode)."""
    root = f"arn:{partition}:iam::{account_id}:root"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [*([] if not dynamodb else _dynamodb_statements(root, account_id, region)),
                {
                    "Sid": "AccountAdministersTheKey",
                    "Effect": "Allow",
                    "Principal": {"AWS": root},
                    "Action": KEY_ADMIN_ACTIONS,
                    "Resource": "*",
                },
                {
                    "Sid": "UseOnlyThroughSecretsManager",
                    "Effect": "Allow",
                    "Principal": {"AWS": root},
                    "Action": KEY_USAGE_ACTIONS,
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {
                            "kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
                            "kms:CallerAccount": account_id,
                        }
                    },
                },
            ],
        },
        sort_keys=True,
    )


def _dynamodb_statements(root: str, account_id: str, region: str) -> list[dict]:
    """Session mode's table is encrypted with this key: DynamoDB may use it for callers of this account."""
    return [
        {
            "Sid": "UseOnlyThroughDynamoDB",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": [*KEY_USAGE_ACTIONS, "kms:CreateGrant"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"kms:ViaService": f"dynamodb.{region}.amazonaws.com", "kms:CallerAccount": account_id}
            },
        },
        {
            "Sid": "DynamoDBDescribesTheKey",
            "Effect": "Allow",
            "Principal": {"Service": "dynamodb.amazonaws.com"},
            "Action": ["kms:Describe*", "kms:Get*", "kms:List*"],
            "Resource": "*",
        },
    ]


@dataclass(frozen=True)
class ClientSecretArgs:
    settings: Settings
    target: Target
    client_secrets: pulumi.Input[Mapping[str, Any]]
    """Provider name to client secret, a secret Output straight from stack config."""
    cms_signing_keys: pulumi.Input[str] | None = None
    """CMS popup mode's cookie signing keys (a secret Output), stored in the same document."""
    edge_secrets: pulumi.Input[str] | None = None
    """Session mode: the edge header values the function accepts (a secret Output), in the same document."""
    encrypts_sessions: bool = False
    """Session mode: the key also encrypts the session table, through DynamoDB only."""


class ClientSecret(pulumi.ComponentResource):
    """The providers' client secrets, stored encrypted; only ever handled as a secret Output."""

    key_arn: pulumi.Output[str]
    secret_arn: pulumi.Output[str]
    """Taken from the stored version, so whatever reads the secret is created after its value exists."""

    def __init__(self, name: str, args: ClientSecretArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("oauth-exchange:index:ClientSecret", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        target = args.target
        key = aws.kms.Key(
            f"{name}-key",
            description=f"Encrypts the OAuth client secrets of {pulumi.get_project()}/{pulumi.get_stack()}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.all(target.partition, target.account_id, target.region).apply(
                lambda values: key_policy(*values, dynamodb=args.encrypts_sessions)
            ),
            opts=child,
        )
        aws.kms.Alias(
            f"{name}-alias",
            name_prefix=f"alias/{pulumi.get_project()}-client-secrets-",
            target_key_id=key.key_id,
            opts=child,
        )
        secret = aws.secretsmanager.Secret(
            f"{name}-secret",
            description="OAuth client secrets as JSON: {provider name: client secret}",
            kms_key_id=key.arn,
            opts=child,
        )
        settings = args.settings
        version = aws.secretsmanager.SecretVersion(
            f"{name}-value",
            secret_id=secret.id,
            secret_string=pulumi.Output.secret(
                pulumi.Output.all(args.client_secrets, args.cms_signing_keys, args.edge_secrets).apply(
                    lambda values: client_secrets_json(settings, *values)
                )
            ),
            opts=child,
        )

        self.key_arn = key.arn
        self.secret_arn = version.secret_arn
        self.register_outputs({"key_arn": self.key_arn, "secret_arn": self.secret_arn})
