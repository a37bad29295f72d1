"""A stack's ``oauth-exchange:*`` values checked as a whole: what ``pulumi up`` and ``run-local --config`` both refuse.

Plain Python with no Pulumi import: ``read_stack_config`` hands it what
Pulumi holds, the local stack what the stack file says, so every refusal,
message and default is the same in both. What only the program can know
(whether ``clientSecrets`` is really a secret) or only a local run supplies
(a fake GitHub, secrets from the environment) stays with the caller.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from oauth_exchange.monitoring_settings import ALARMS_KEY, DASHBOARD_KEY, MonitoringSettings, load_monitoring_settings
from oauth_exchange.settings import HSTS_KEY, ConfigError, Settings, load_settings
from oauth_exchange.site_headers import function_url_origin_pattern
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


def refuse_unknown_keys(keys: Iterable[str]) -> None:
    """A misspelt key (``customDomian``) would otherwise be ignored without a word; ``keys`` lack the namespace."""
    known = known_keys()
    for key in sorted(keys):
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise ConfigError(key, f"is not a setting of this program; {hint}known: {', '.join(sorted(known))}")


def plaintext_secrets_error() -> ConfigError:
    return ConfigError(
        SECRETS_KEY,
        "is stored in plaintext; set each value with pulumi config set --secret --path 'clientSecrets.<provider>'",
    )


def malformed_secrets_error() -> ConfigError:
    return ConfigError(SECRETS_KEY, "must be an object of provider name to client secret")


def refuse_placeholder_client_ids(settings: Settings) -> None:
    for provider in settings.providers:
        if PLACEHOLDER_CLIENT_ID.search(provider.client_id):
            raise ConfigError(
                f"providers.{provider.name}.clientId",
                f"is still the placeholder {provider.client_id!r}; set your OAuth app's client id with "
                f"pulumi config set --path 'providers.{provider.name}.clientId' <client id>",
            )


def conflicting_modes(*, session: bool, cms: bool, deploy_site: bool) -> ConfigError | None:
    """Modes that cannot be deployed together, named by the stack key that turns the later one on.

    Apart from the settings so that run-local can ask it of modes its flags turn on.
    """
    if session and not deploy_site:
        return ConfigError("session", "session mode serves /api/ on the stack's own site: it needs deploySite true")
    if session and cms:
        return ConfigError("cms", "CMS popups open the function URL directly, which session mode makes private")
    return None


def refuse_conflicting_modes(settings: Settings, site: SiteSettings) -> None:
    error = conflicting_modes(session=settings.session is not None, cms=settings.cms is not None, deploy_site=site.deploy)
    if error is not None:
        raise error


def load_stack_values(
    values: Mapping[str, Any], secret_names: Collection[str], *, region: str | None, base_dir: Path
) -> tuple[Settings, SiteSettings, MonitoringSettings]:
    """Validate every ``oauth-exchange:`` value a stack has (keys without the namespace, all of them).

    An empty scalar counts as unset: Pulumi.yaml cannot declare an optional
    key without a default, so ``reservedConcurrency`` defaults to ``""``. A
    relative ``siteDir`` is relative to ``base_dir`` (the Pulumi project).
    """
    refuse_unknown_keys(values)
    config: dict[str, Any] = {key: values.get(key) for key in OBJECT_KEYS}
    config.update({key: _scalar(values.get(key)) for key in SCALAR_KEYS})
    settings = load_settings(config, secret_names)
    refuse_placeholder_client_ids(settings)
    if region is not None:
        function_url_origin_pattern(region)
    site_values: dict[str, Any] = {key: values.get(key) for key in SITE_OBJECT_KEYS}
    site_values.update({key: _scalar(values.get(key)) for key in SITE_SCALAR_KEYS})
    site = load_site_settings(site_values, settings, base_dir)
    refuse_conflicting_modes(settings, site)
    monitoring = load_monitoring_settings({key: values.get(key) for key in MONITORING_KEYS}, region)
    return settings, site, monitoring


def _scalar(value: Any) -> Any:
    return None if value == "" else value
