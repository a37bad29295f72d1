"""The whole product on 127.0.0.1, no AWS account: site, function URL, Secrets Manager, provider.

Everything is configured by the settings module the Pulumi program uses; the
local stack only supplies the URLs of its own servers. The site origin and
the function URL refer to each other (CORS and redirect URIs name the site,
``config.js`` and the CSP name the function), so every server binds its port
first and is configured afterwards.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from infra.settings import (
    API_PATH,
    FUNCTION_LOG_FORMAT,
    FUNCTION_LOG_LEVEL,
    SESSION_KEY_ATTRIBUTE,
    SESSION_TABLE_ENV,
    SESSION_TTL_ATTRIBUTE,
    Settings,
    allowed_origins,
    client_secrets_json,
    function_config_json,
    load_settings,
    redirect_uris,
)
from local.containers import ContainerPool
from local.edge_proxy import EdgeProxy
from local.fake_provider import FakeProvider
from local.function_url import Cors, FunctionUrlEmulator
from local.secrets_store import DUMMY_CREDENTIALS, REGION, SecretsStore
from local.static_site import StaticSite

REPO = Path(__file__).resolve().parent.parent
FUNCTION_NAME = "oauth-exchange-local"
FAKE_CLIENT_ID = "Iv1.local0123456789"
PROVIDER = "github"
PROVIDER_LOG_POLL_SECONDS = 0.1

Log = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class LocalStack:
    """Start with ``with LocalStack() as stack:``; everything stops on exit.

    Ports: 0 picks a free one. With ``github_client_id`` and
    ``github_client_secret`` the flow runs against the real GitHub (its
    presets as-is, no fake provider); otherwise a fake GitHub-compatible
    provider is started. ``config`` adds stack config values (for example
    ``{"secretCacheSeconds": 0}``). ``log`` gets one line per request to the
    site, the function and the fake provider, and the function's own logs
    (which go to stderr when ``log`` is None).

    ``refresh_tokens`` configures the provider with ``refresh: true``, as for a
    GitHub App with expiring user tokens; the fake GitHub then issues access
    tokens that expire after ``access_token_ttl`` seconds (GitHub's 8 hours
    when None) with refresh tokens that rotate on every use.

    ``session`` runs session mode: the site serves ``/api/*`` from the
    function URL as the distribution would (``local.edge_proxy``), the
    function URL admits only that proxy, and sessions live in a DynamoDB
    table in the same moto server. ``session`` may be True or the stack's
    ``session`` object (``{"idleMinutes": ...}``).
    """

    def __init__(
        self,
        *,
        site_port: int = 0,
        function_port: int = 0,
        provider_port: int = 0,
        github_client_id: str | None = None,
        github_client_secret: str | None = None,
        config: Mapping[str, Any] | None = None,
        refresh_tokens: bool = False,
        access_token_ttl: int | None = None,
        max_concurrency: int = 4,
        session: bool | Mapping[str, Any] = False,
        log: Log | None = None,
        site_root: Path = REPO / "site",
        function_root: Path = REPO / "function",
    ) -> None:
        if (github_client_id is None) != (github_client_secret is None):
            raise ValueError("give both github_client_id and github_client_secret, or neither")
        if access_token_ttl is not None and (not refresh_tokens or github_client_id is not None):
            raise ValueError("access_token_ttl is for the fake provider with refresh_tokens")
        self._ports = (site_port, function_port, provider_port)
        self._github = (github_client_id, github_client_secret)
        self._config = dict(config or {})
        self._refresh_tokens = refresh_tokens
        self._access_token_ttl = access_token_ttl
        self._max_concurrency = max_concurrency
        self._session = session
        self._log = log
        self._site_root = site_root
        self._function_root = function_root
        self._exit = contextlib.ExitStack()
        self._stopping = threading.Event()
        self.provider: FakeProvider | None = None

    def __enter__(self) -> LocalStack:
        try:
            self._start()
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop every server and process this stack started (idempotent)."""
        self._stopping.set()
        self._exit.close()

    def _start(self) -> None:
        site_port, function_port, provider_port = self._ports
        self.secrets = SecretsStore()
        self._exit.callback(self.secrets.stop)
        self.site = StaticSite(self._site_root, site_port, log=self._log)
        self._exit.callback(self.site.stop)
        self.emulator = FunctionUrlEmulator(function_port, log=self._log)
        self._exit.callback(self.emulator.stop)
        self.site_origin = self.site.origin
        self.site_url = self.site.url
        self.function_url = self.emulator.url
        self.function_origin = self.emulator.origin

        client_id, client_secret = self._github
        if client_id is None:
            client_secret = secrets.token_urlsafe(24)
            lifetime = {} if self._access_token_ttl is None else {"access_token_ttl": self._access_token_ttl}
            self.provider = FakeProvider(
                PROVIDER,
                client_id=FAKE_CLIENT_ID,
                client_secret=client_secret,
                redirect_uris=(),
                refresh_tokens=self._refresh_tokens,
                port=provider_port,
                **lifetime,
            ).start()
            self._exit.callback(self.provider.stop)
            urls = self.provider.urls
            entry: dict[str, Any] = {
                "clientId": FAKE_CLIENT_ID,
                "authorizeUrl": urls["authorize"],
                "tokenUrl": urls["token"],
                "revokeUrl": urls["revoke"],
                "userInfoUrl": urls["user"],
                "imageOrigins": [self.provider.base_url],
            }
        else:
            entry = {"clientId": client_id}
        entry["refresh"] = self._refresh_tokens
        if self._session:
            if self.provider is not None:
                entry["apiBaseUrl"] = self.provider.base_url  # the fake's API; the proxy allows its user path
            self._config.setdefault("session", self._session)
        self.settings: Settings = load_settings({**self._config, "providers": {PROVIDER: entry}}, {PROVIDER})
        if self.provider is not None:
            self.provider.redirect_uris = redirect_uris(self.settings, self.site_origin, self.settings.provider(PROVIDER))
            self.provider.allowed_origins = allowed_origins(self.settings, self.site_origin)
            if self._log is not None:
                self._watch_provider(self.provider, self._log)

        self.secret_arn = self.secrets.create_secret(
            f"{FUNCTION_NAME}/{secrets.token_hex(4)}/client-secrets",
            client_secrets_json(self.settings, {PROVIDER: client_secret}),
        )
        self.containers = ContainerPool(
            task_root=self._function_root,
            handler="handler.handler",
            function_name=FUNCTION_NAME,
            environment=self._function_environment(),
            timeout_seconds=self.settings.lambda_timeout_seconds,
            memory_mb=self.settings.memory_size,
            max_concurrency=self._max_concurrency,
            log=self._log or _stderr,
        )
        self._exit.callback(self.containers.close)
        if self.settings.session is None:
            self.emulator.serve(self.containers, Cors.for_site(self.settings, self.site_origin))
            self.site.serve(self.settings, self.function_url)
            return
        signing_key = secrets.token_urlsafe(32)
        self.emulator.serve(self.containers, Cors(allow_origins=()), signing_key=signing_key)
        self.edge = EdgeProxy(self.function_url, signing_key, self.settings.lambda_timeout_seconds + 5)
        self._exit.callback(self.edge.close)
        self.api_url = self.site_origin + API_PATH
        self.site.serve(self.settings, self.api_url, api=self.edge)

    def _function_environment(self) -> dict[str, str]:
        """What the Pulumi program sets on the Lambda, plus what Lambda itself provides, pointed at moto."""
        session: dict[str, str] = {}
        if self.settings.session is not None:
            self.session_table = f"{FUNCTION_NAME}-sessions-{secrets.token_hex(4)}"
            _create_session_table(self.secrets.client("dynamodb"), self.session_table)
            session = {SESSION_TABLE_ENV: self.session_table, "AWS_ENDPOINT_URL_DYNAMODB": self.secrets.endpoint}
        return {
            **session,
            "OAUTH_CONFIG": function_config_json(self.settings, self.site_origin),
            "OAUTH_CLIENT_SECRETS_ARN": self.secret_arn,
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": self.secrets.endpoint,
            "AWS_ENDPOINT_URL": self.secrets.endpoint,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": DUMMY_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": DUMMY_CREDENTIALS["aws_secret_access_key"],
            "AWS_SESSION_TOKEN": DUMMY_CREDENTIALS["aws_session_token"],
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_LAMBDA_LOG_FORMAT": FUNCTION_LOG_FORMAT,
            "AWS_LAMBDA_LOG_LEVEL": FUNCTION_LOG_LEVEL,
        }

    def _watch_provider(self, provider: FakeProvider, log: Log) -> None:
        """The fake provider keeps its requests in ``seen``; log each one (path only: queries carry codes)."""

        def watch() -> None:
            logged = 0
            while True:
                stopping = self._stopping.wait(PROVIDER_LOG_POLL_SECONDS)
                for request in provider.seen[logged:]:
                    log(f"{'provider':<8} {request.method} {request.path}")
                    logged += 1
                if stopping:
                    return

        thread = threading.Thread(target=watch, name="provider-log", daemon=True)
        thread.start()
        self._exit.callback(thread.join)

    @property
    def redirect_uri(self) -> str:
        """The SPA's callback URL: what to register at the provider."""
        return redirect_uris(self.settings, self.site_origin, self.settings.provider(PROVIDER))[0]

    def put_client_secret(self, value: str) -> None:
        """Replace the client secret in Secrets Manager, as a rotation would."""
        self.secrets.put_secret_value(self.secret_arn, client_secrets_json(self.settings, {PROVIDER: value}))


def _create_session_table(dynamodb: Any, name: str) -> None:
    """Session mode's table, as the Pulumi program declares it: on demand, keyed by the cookie's hash, TTL on."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": SESSION_KEY_ATTRIBUTE, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": SESSION_KEY_ATTRIBUTE, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": SESSION_TTL_ATTRIBUTE}
    )
