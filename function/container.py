"""Per-container state, and what one invocation hands to the route that serves it.

The state (configuration, secret cache, provider HTTP client) lives as long
as the Lambda container and is shared by all threads of the local runtime.
It is built when the module importing it loads, in Lambda's init phase: init
runs on a full vCPU, an invocation on a share of one proportional to memory
(about 1/7 at 256 MB), so the costly setup (botocore's models and endpoint
data, httpcore, the CA bundle) must not wait for the first request.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass

import metrics
from client_secrets import ClientSecrets, SecretsManagerSource
from dynamodb import DynamoDB
from grants import ProviderCall
from oauth_config import ConfigError, OAuthConfig, ProviderSettings, load_config
from provider_http import ProviderClient, tls_context
from session_store import SessionStore
from web import ExchangeRequest, RequestNote

log = logging.getLogger("oauth_exchange")

PLATFORM_MARGIN_SECONDS = 0.25


class Container:
    """Configuration, secret cache and HTTP client; ``config`` is None when they could not be built.

    Building never raises, so a broken deployment cannot crash the init: the
    container then answers every request with ``server_error``, and
    ``report_problem()`` logs why, once, on the first request that meets it
    (init has no request, so a line there would belong to none).
    """

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.config: OAuthConfig | None = None
        self.secrets: ClientSecrets | None = None
        self.provider: ProviderClient | None = None
        self.problem = ""
        """Why ``config`` is None, for request log lines; ``report_problem`` logs the details."""
        self._problem_details = ""
        self._problem_reported = False
        self._problem_lock = threading.Lock()
        self.sessions: SessionStore | None = None
        self.metrics_namespace = environ.get(metrics.NAMESPACE_ENV, "").strip()
        """Where the request lines' metrics go; empty: the lines carry none."""
        try:
            config = load_config(environ)
            trusted = _trusted_cas(environ)
            provider = ProviderClient(trusted)
            source = SecretsManagerSource(config.secrets_arn)
            sessions = None if config.session is None else SessionStore(config.session.table_name, _table_client(config.session.table_name, provider))
        except ConfigError as exc:
            self._broken("configuration invalid", str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a broken container answers 500, it never crashes the init
            self._broken("container state could not be built", type(exc).__name__)
            return
        self.config = config
        self.secrets = ClientSecrets(source, config.secret_cache_seconds)
        self.provider = provider
        self.sessions = sessions

    def _broken(self, problem: str, details: str) -> None:
        self.problem, self._problem_details = problem, details

    def report_problem(self) -> None:
        """Log the problem and its details (which name keys, never values) at ERROR, the first time only."""
        with self._problem_lock:
            if self._problem_reported:
                return
            self._problem_reported = True
        log.error("%s: %s", self.problem, self._problem_details)

    def close(self) -> None:
        if self.provider is not None:
            self.provider.close()
        if self.sessions is not None:
            self.sessions.close()


def _trusted_cas(environ: Mapping[str, str]) -> ssl.SSLContext:
    try:
        return tls_context(environ)
    except OSError as exc:  # ssl.SSLError included
        raise ConfigError(f"SSL_CERT_FILE / SSL_CERT_DIR names a CA bundle that cannot be loaded ({type(exc).__name__})") from None


def _table_client(table_name: str, http: ProviderClient) -> DynamoDB:
    """Over the provider client's pool: one set of kept-alive connections, one deadline backend."""
    try:
        return DynamoDB.for_table(table_name, http)
    except ValueError as exc:
        raise ConfigError(f"session mode's DynamoDB client: {exc}") from None


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
