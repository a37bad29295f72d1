"""Reads the stack's ``oauth-exchange:*`` config into settings, on the Pulumi side.

Validation lives in ``oauth_exchange.settings``; this module only fetches the values
Pulumi holds. The client secrets stay a secret Output: plain code only ever
learns which providers have one, which is what validation needs at preview.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime.config
import pulumi_aws as aws

from oauth_exchange.monitoring_settings import ALARMS_KEY, DASHBOARD_KEY, MonitoringSettings, load_monitoring_settings
from oauth_exchange.settings import HSTS_KEY, NAMESPACE, ConfigError, Settings, function_url_origin_pattern, load_settings
from oauth_exchange.site_settings import (
    CSP_KEY,
    CUSTOM_DOMAIN_KEY,
    DEPLOY_SITE_KEY,
    SITE_DIR_KEY,
    SiteSettings,
    load_site_settings,
)

OBJECT_KEYS = ("providers", "extraOrigins", "cms", "session")
SCALAR_KEYS = (
    "callbackPath",
    "timeoutSeconds",
    "secretCacheSeconds",
    "memorySize",
    "reservedConcurrency",
    "logRetentionDays",
    "priceClass",
    "rateLimit",
    HSTS_KEY,
)
SECRETS_KEY = "clientSecrets"
SITE_OBJECT_KEYS = (CUSTOM_DOMAIN_KEY, CSP_KEY)
SITE_SCALAR_KEYS = (SITE_DIR_KEY, DEPLOY_SITE_KEY)
MONITORING_KEYS = (ALARMS_KEY, DASHBOARD_KEY)
PLACEHOLDER_CLIENT_ID = re.compile(r"replace-with", re.IGNORECASE)
"""What the committed ``Pulumi.dev.yaml`` has instead of a client id (``Iv1.replace-with-your-client-id``)."""


def known_keys() -> tuple[str, ...]:
    """Every ``oauth-exchange:`` key the program reads; any other one is a typo."""
    return (*OBJECT_KEYS, *SCALAR_KEYS, *SITE_OBJECT_KEYS, *SITE_SCALAR_KEYS, *MONITORING_KEYS, SECRETS_KEY)


class StackConfigError(ConfigError, pulumi.RunError):
    """A ``ConfigError`` that Pulumi reports as its one-line message, without a Python traceback."""

    def __init__(self, error: ConfigError) -> None:
        ValueError.__init__(self, str(error))
        self.key = error.key


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


def _refuse_unknown_keys() -> None:
    """A misspelt key (``customDomian``) would otherwise be ignored without a word."""
    # The SDK has no public list of the keys it was given: read its config map and the CLI's variable.
    present = {*pulumi.runtime.config.CONFIG.get(), *pulumi.runtime.get_config_env()}
    known = known_keys()
    for full_key in sorted(present):
        namespace, _, key = full_key.partition(":")
        if namespace == NAMESPACE and key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise ConfigError(key, f"is not a setting of this program; {hint}known: {', '.join(sorted(known))}")


def _refuse_placeholder_client_ids(settings: Settings) -> None:
    for provider in settings.providers:
        if PLACEHOLDER_CLIENT_ID.search(provider.client_id):
            raise ConfigError(
                f"providers.{provider.name}.clientId",
                f"is still the placeholder {provider.client_id!r}; set your OAuth app's client id with "
                f"pulumi config set --path 'providers.{provider.name}.clientId' <client id>",
            )


def _reported_cleanly(read: Callable[..., StackConfig]) -> Callable[..., StackConfig]:
    """Config errors leave the program as ``StackConfigError``: the CLI prints the message alone."""

    @functools.wraps(read)
    def read_or_report(*args: Any, **kwargs: Any) -> StackConfig:
        try:
            return read(*args, **kwargs)
        except StackConfigError:
            raise
        except ConfigError as error:
            raise StackConfigError(error) from None

    return read_or_report


@_reported_cleanly
def read_stack_config(config: pulumi.Config | None = None, base_dir: Path | None = None) -> StackConfig:
    """The stack's settings; raises ``ConfigError`` naming the key when one is wrong.

    Everything Pulumi holds as config is checked here, before any resource
    exists, so bad config stops the preview at once. An empty scalar counts
    as unset: Pulumi.yaml cannot declare an optional key without a default,
    so ``reservedConcurrency`` defaults to ``""``. A relative ``siteDir`` is
    relative to ``base_dir``, by default the working directory, which is the
    project directory when ``pulumi`` runs the program.
    """
    config = config or pulumi.Config(NAMESPACE)
    _refuse_unknown_keys()
    values: dict[str, Any] = {key: _object(config, key) for key in OBJECT_KEYS}
    values.update({key: config.get(key) or None for key in SCALAR_KEYS})
    settings = load_settings(values, _secret_names(config))
    _refuse_placeholder_client_ids(settings)
    region = pulumi.Config("aws").get("region")
    if region is not None:
        function_url_origin_pattern(region)
    site_values: dict[str, Any] = {key: _object(config, key) for key in SITE_OBJECT_KEYS}
    site_values.update({key: config.get(key) or None for key in SITE_SCALAR_KEYS})
    site = load_site_settings(site_values, settings, base_dir or Path.cwd())
    monitoring = load_monitoring_settings({key: _object(config, key) for key in MONITORING_KEYS}, region)
    return StackConfig(
        settings=settings, client_secrets=config.require_secret_object(SECRETS_KEY), site=site, monitoring=monitoring
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
        partition=aws.get_partition_output().partition,
        account_id=aws.get_caller_identity_output().account_id,
        region=aws.get_region_output().region,
    )
