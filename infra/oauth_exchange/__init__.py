"""oauth-exchange as Pulumi components: ``from oauth_exchange import OAuthExchange, OAuthExchangeArgs``.

The Pulumi-side names load on first use, so the plain modules (``settings``,
``site_settings``, ``packaging``, ...) import without Pulumi installed, as the
local stack does. ``load_settings`` and ``load_site_settings`` here are the
Pulumi program's: a bad value stops ``pulumi up`` with one line naming it
(``oauth_exchange.pulumi_errors``); the plain ones in ``settings`` and
``site_settings`` raise ``ConfigError``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "OAuthExchange": "component",
    "OAuthExchangeArgs": "component",
    "ClientSecret": "client_secret",
    "ClientSecretArgs": "client_secret",
    "ExchangeFunction": "exchange_function",
    "ExchangeFunctionArgs": "exchange_function",
    "StaticSite": "static_site",
    "StaticSiteArgs": "static_site",
    "CustomDomain": "custom_domain",
    "CustomDomainArgs": "custom_domain",
    "Monitoring": "monitoring",
    "MonitoringArgs": "monitoring",
    "MonitoringSettings": "monitoring_settings",
    "AlarmTarget": "monitoring_settings",
    "load_monitoring_settings": "monitoring_settings",
    "read_stack_config": "stack_config",
    "deployment_target": "stack_config",
    "StackConfigError": "pulumi_errors",
    "Target": "stack_config",
    "Settings": "settings",
    "ConfigError": "settings",
    "load_settings": "pulumi_errors",
    "SiteSettings": "site_settings",
    "DomainSettings": "site_settings",
    "load_site_settings": "pulumi_errors",
    "build_archive": "packaging",
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from oauth_exchange.client_secret import ClientSecret, ClientSecretArgs
    from oauth_exchange.component import OAuthExchange, OAuthExchangeArgs
    from oauth_exchange.custom_domain import CustomDomain, CustomDomainArgs
    from oauth_exchange.exchange_function import ExchangeFunction, ExchangeFunctionArgs
    from oauth_exchange.monitoring import Monitoring, MonitoringArgs
    from oauth_exchange.monitoring_settings import AlarmTarget, MonitoringSettings, load_monitoring_settings
    from oauth_exchange.packaging import build_archive
    from oauth_exchange.pulumi_errors import StackConfigError, load_settings, load_site_settings
    from oauth_exchange.settings import ConfigError, Settings
    from oauth_exchange.site_settings import DomainSettings, SiteSettings
    from oauth_exchange.stack_config import Target, deployment_target, read_stack_config
    from oauth_exchange.static_site import StaticSite, StaticSiteArgs


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'oauth_exchange' has no attribute {name!r}")
    return getattr(importlib.import_module(f"oauth_exchange.{_EXPORTS[name]}"), name)
