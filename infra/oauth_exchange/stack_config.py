"""Reads the stack's ``oauth-exchange:*`` config into settings, on the Pulumi side.

Validation lives in ``oauth_exchange.stack_values`` (shared with the local
stack); this module only fetches the values Pulumi holds. The client secrets
stay a secret Output: plain code only ever learns which providers have one,
which is what validation needs at preview.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime.config
import pulumi_aws as aws

from oauth_exchange.monitoring_settings import MonitoringSettings
from oauth_exchange.pulumi_errors import reported, required, stack_key
from oauth_exchange.settings import NAMESPACE, Settings
from oauth_exchange.site_settings import SiteSettings
from oauth_exchange.stack_values import (
    MONITORING_KEYS,
    OBJECT_KEYS,
    SECRETS_KEY,
    SITE_OBJECT_KEYS,
    known_keys,
    load_stack_values,
    malformed_secrets_error,
    plaintext_secrets_error,
)


@dataclass(frozen=True)
class StackConfig:
    """Validated settings, and the client secrets as a secret Output."""

    settings: Settings
    client_secrets: pulumi.Output[Mapping[str, Any]]
    site: SiteSettings = field(default_factory=SiteSettings)
    monitoring: MonitoringSettings = field(default_factory=MonitoringSettings)


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
        raise plaintext_secrets_error()
    try:
        names = json.loads(raw)
    except json.JSONDecodeError:
        names = None
    if not isinstance(names, dict):
        raise malformed_secrets_error()
    return frozenset(name for name, value in names.items() if isinstance(value, str) and value.strip())


def _present_keys(namespace: str) -> set[str]:
    """The keys of ``namespace`` the stack has, set or defaulted, without the namespace.

    In the namespace of its own every key is this component's, so any other
    is a typo; in a program's own namespace the program's other keys are left alone.
    """
    # The SDK has no public list of the keys it was given: read its config map and the CLI's variable.
    present = {*pulumi.runtime.config.CONFIG.get(), *pulumi.runtime.get_config_env()}
    keys = {key for full_key in present for ns, _, key in [full_key.partition(":")] if ns == namespace}
    return keys if namespace == NAMESPACE else keys & set(known_keys())


def read_stack_config(config: pulumi.Config | None = None, base_dir: Path | None = None) -> StackConfig:
    """The stack's settings; raises ``StackConfigError`` naming the key (in ``config``'s namespace) when one is wrong.

    Everything Pulumi holds as config is checked here (by ``load_stack_values``,
    as ``run-local --config`` checks a stack file), before any resource
    exists, so bad config stops the preview at once. A relative ``siteDir``
    is relative to ``base_dir``, by default the working directory, which is
    the project directory when ``pulumi`` runs the program.
    """
    config = config or pulumi.Config(NAMESPACE)
    with reported(stack_key(config.name)):
        secret_names = _secret_names(config)
        values = {
            key: _object(config, key) if key in (*OBJECT_KEYS, *SITE_OBJECT_KEYS, *MONITORING_KEYS) else config.get(key)
            for key in _present_keys(config.name) - {SECRETS_KEY}
        }
        region = pulumi.Config("aws").get("region")
        settings, site, monitoring = load_stack_values(
            values, secret_names, region=region, base_dir=base_dir or Path.cwd()
        )
    return StackConfig(
        settings=settings,
        client_secrets=config.require_secret_object(SECRETS_KEY),
        site=site,
        monitoring=replace(monitoring, namespace=config.name),
    )


@dataclass(frozen=True)
class Target:
    """Where the stack deploys: ARNs and service names are built from these."""

    partition: pulumi.Output[str]
    account_id: pulumi.Output[str]
    region: pulumi.Output[str]


def deployment_target() -> Target:
    """The AWS provider's account, partition and region, looked up once for every component."""
    return Target(
        partition=required(aws.get_partition_output().partition, "aws.get_partition() partition", "call"),
        account_id=required(aws.get_caller_identity_output().account_id, "aws.get_caller_identity() account_id", "call"),
        region=required(aws.get_region_output().region, "aws.get_region() region", "call"),
    )
