"""Session mode's table: where the function keeps each session's tokens, encrypted with the stack's key."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from oauth_exchange.session_contract import SESSION_KEY_ATTRIBUTE, SESSION_TTL_ATTRIBUTE


@dataclass(frozen=True)
class SessionTableArgs:
    key_arn: pulumi.Input[str]
    """The stack's KMS key (the client secret's); its policy lets DynamoDB use it."""


class SessionTable(pulumi.ComponentResource):
    """One on-demand DynamoDB table; expired sessions are deleted by TTL (the function checks expiry itself too)."""

    name: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: SessionTableArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("oauth-exchange:index:SessionTable", name, None, opts)
        table = aws.dynamodb.Table(
            f"{name}-table",
            billing_mode="PAY_PER_REQUEST",
            hash_key=SESSION_KEY_ATTRIBUTE,
            attributes=[aws.dynamodb.TableAttributeArgs(name=SESSION_KEY_ATTRIBUTE, type="S")],
            ttl=aws.dynamodb.TableTtlArgs(attribute_name=SESSION_TTL_ATTRIBUTE, enabled=True),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True, kms_key_arn=args.key_arn),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name = table.name
        self.arn = table.arn
        self.register_outputs({"name": self.name, "arn": self.arn})
