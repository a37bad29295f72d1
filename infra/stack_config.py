"""Reads the stack's ``oauth-exchange:*`` config into settings, on the Pulumi side.

Validation lives in ``infra.settings``; this module only fetches the values
Pulumi holds. The client secrets stay a secret Output: plain code only ever
learns which providers have one, which is what validation needs at preview.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.settings import NAMESPACE, ConfigError, Settings, function_url_origin_pattern, load_settings

OBJECT_KEYS = ("providers", "extraOrigins", "session")
SCALAR_KEYS = (
    "callbackPath",
    "timeoutSeconds",
    "secretCacheSeconds",
    "memorySize",
    "reservedConcurrency",
    "logRetentionDays",
    "priceClass",
    "rateLimit",
)
SECRETS_KEY = "clientSecrets"


@dataclass(frozen=True)
class StackConfig:
    """Validated settings, and the client secrets as a secret Output."""

    settings: Settings
    client_secrets: pulumi.Output[Mapping[str, Any]]


def _object(config: pulumi.Config, key: str) -> Any:
    """The parsed value, or the raw text when it is not JSON (settings then says what shape it needs)."""
    try:
        return config.get_object(key)
    except pulumi.ConfigTypeError:
        return config.get(key)


def _secret_names(config: pulumi.Config) -> frozenset[str]:
    """The provider names under ``clientSecrets`` with a non-empty secret; the values are not kept.

    Checked here, before ``require_secret_object``, because Pulumi's own
    error for a malformed value would quote the value.
    """
    full_key = config.full_key(SECRETS_KEY)
    raw = pulumi.runtime.get_config(full_key)
    if raw is None:
        return frozenset()
    if not pulumi.runtime.is_config_secret(full_key):
        raise ConfigError(
            SECRETS_KEY,
            "is stored in plaintext; set each value with pulumi config set --secret --path 'clientSecrets.<provider>'",
        )
    try:
        names = json.loads(raw)
    except json.JSONDecodeError:
        names = None
    if not isinstance(names, dict):
        raise ConfigError(SECRETS_KEY, "must be an object of provider name to client secret")
    return frozenset(name for name, value in names.items() if isinstance(value, str) and value.strip())


def read_stack_config(config: pulumi.Config | None = None) -> StackConfig:
    """The stack's settings; raises ``ConfigError`` naming the key when one is wrong.

    Everything Pulumi holds as config is checked here, before any resource
    exists, so bad config stops the preview at once. An empty scalar counts
    as unset: Pulumi.yaml cannot declare an optional key without a default,
    so ``reservedConcurrency`` defaults to ``""``.
    """
    config = config or pulumi.Config(NAMESPACE)
    values: dict[str, Any] = {key: _object(config, key) for key in OBJECT_KEYS}
    values.update({key: config.get(key) or None for key in SCALAR_KEYS})
    settings = load_settings(values, _secret_names(config))
    region = pulumi.Config("aws").get("region")
    if region is not None:
        function_url_origin_pattern(region)
    return StackConfig(settings=settings, client_secrets=config.require_secret_object(SECRETS_KEY))


@dataclass(frozen=True)
class Target:
    """Where the stack deploys: ARNs and service names are built from these."""

    partition: pulumi.Output[str]
    account_id: pulumi.Output[str]
    region: pulumi.Output[str]


def deployment_target() -> Target:
    """The AWS provider's account, partition and region, looked up once for every component."""
    return Target(
        partition=aws.get_partition_output().partition,
        account_id=aws.get_caller_identity_output().account_id,
        region=aws.get_region_output().region,
    )
