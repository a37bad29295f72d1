"""Per-container state, and what one invocation hands to the route that serves it.

The state (configuration, secret cache, provider HTTP client) lives as long
as the Lambda container and is shared by all threads of the local runtime.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from client_secrets import ClientSecrets, SecretsManagerSource
from grants import ProviderCall
from oauth_config import ConfigError, OAuthConfig, ProviderSettings, load_config
from provider_http import ProviderClient
from session_store import SessionStore
from web import ExchangeRequest, RequestNote

log = logging.getLogger("oauth_exchange")

PLATFORM_MARGIN_SECONDS = 0.25


class Container:
    """Configuration, secret cache and HTTP client; ``config`` is None when the configuration is broken."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.config: OAuthConfig | None = None
        self.secrets: ClientSecrets | None = None
        self.provider: ProviderClient | None = None
        self.sessions: SessionStore | None = None
        try:
            config = load_config(environ)
        except ConfigError as exc:
            log.error("configuration invalid: %s", exc)
            return
        source = SecretsManagerSource(config.secrets_arn)
        self.config = config
        self.secrets = ClientSecrets(source, config.secret_cache_seconds)
        self.provider = ProviderClient()
        if config.session is not None:
            # Made at init, where Lambda gives the full vCPU; browser mode never loads DynamoDB's model.
            self.sessions = SessionStore(config.session.table_name)

    def close(self) -> None:
        if self.provider is not None:
            self.provider.close()


@dataclass(frozen=True)
class Invocation:
    """One request being served, with the container's working parts."""

    config: OAuthConfig
    secrets: ClientSecrets
    http: ProviderClient
    request: ExchangeRequest
    note: RequestNote
    sessions: SessionStore | None = None
    """The session table, in session mode."""

    def provider_call(self, provider: ProviderSettings) -> ProviderCall:
        """Provider requests for this invocation, within its time budget."""
        self.note.provider = provider.name
        return ProviderCall(self.secrets, self.http, provider, self.note, self.time_budget())

    def time_budget(self) -> float:
        """The provider timeout, shortened so the answer beats the platform's own timeout."""
        if self.request.seconds_left is None:
            return self.config.timeout_seconds
        return min(self.config.timeout_seconds, self.request.seconds_left - PLATFORM_MARGIN_SECONDS)
