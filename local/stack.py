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
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oauth_exchange.monitoring_plan import function_metrics, metrics_namespace
from oauth_exchange.cms_endpoints import CMS_AUTH_ENDPOINT, cms_base_url, cms_callback_urls, cms_origins
from oauth_exchange.function_config import (
    FUNCTION_CONFIG_FILE,
    FUNCTION_CONFIG_FILE_ENV,
    FUNCTION_LOG_FORMAT,
    FUNCTION_LOG_LEVEL,
    function_config_json,
)
from oauth_exchange.origins import allowed_origins, callback_urls, redirect_uris
from oauth_exchange.secrets_document import client_secrets_json
from oauth_exchange.session_contract import (
    API_PATH,
    EDGE_SECRET_HEADER,
    SESSION_KEY_ATTRIBUTE,
    SESSION_TABLE_ENV,
    SESSION_TTL_ATTRIBUTE,
)
from oauth_exchange.settings import Settings, load_settings
from oauth_exchange.spa_config import spa_config
from local import cms_bundles
from local.cms_site import CmsAdminSite
from local.containers import ContainerPool
from local.fake_github_graphql import PATH as GRAPHQL_PATH
from local.fake_github_graphql import FakeGraphQL
from local.fake_github_repo import FakeRepository
from local.edge_proxy import EdgeProxy
from local.fake_provider import FakeProvider
from local.metrics_counters import MetricsCounters
from local.function_url import Cors, FunctionUrlEmulator
from local.secrets_store import DUMMY_CREDENTIALS, REGION, SecretsStore
from local.static_site import StaticSite

REPO = Path(__file__).resolve().parent.parent
FUNCTION_NAME = "oauth-exchange-local"
FAKE_CLIENT_ID = "Iv1.local0123456789"
PROVIDER = "github"
FAKE_ORGS = {"octo-org": "active"}
FAKE_TEAMS = {"octo-org/octo-team": "active"}
"""Where the fake GitHub's user is a member, so an ``allow`` can be tried either way."""
PROVIDER_LOG_POLL_SECONDS = 0.1
FAKE_REPLACES = frozenset({"authorizeUrl", "tokenUrl", "revokeUrl", "userInfoUrl"})
"""An entry that names its own endpoints means a real server there, never the fake GitHub."""
CMS_REPO = "octocat/website"
GITHUB_API = "https://api.github.com"
GHES_REST_PREFIX = "/api/v3"

Log = Callable[[str], None]


class MissingClientSecret(ValueError):
    """A provider that runs against its real endpoints has no client secret."""

    def __init__(self, provider: str) -> None:
        super().__init__(f"provider {provider!r} runs against its real endpoints and needs a client secret")
        self.provider = provider


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class ExtraProvider:
    """A further provider for the stack, served by whoever started it (a test's fake, say).

    ``entry`` is its stack config entry, exactly as under ``providers`` in
    Pulumi config (``clientId``, ``authorizeUrl``, ``tokenUrl``, ...);
    ``client_secret`` goes into the secrets document next to GitHub's.
    """

    entry: Mapping[str, Any]
    client_secret: str


class LocalStack:
    """Start with ``with LocalStack() as stack:``; everything stops on exit.

    Ports: 0 picks a free one. ``providers`` is the stack config's
    ``providers`` object (default: just ``github``). A provider with a secret
    in ``client_secrets`` runs against its real endpoints (the preset's, or the
    entry's own URLs); ``github`` without one runs against a fake
    GitHub-compatible provider started here, whatever client id the entry
    names. ``github_client_id`` and ``github_client_secret`` are a shortcut for
    the real GitHub. ``config`` adds the rest of the stack config (for example
    ``{"secretCacheSeconds": 0}``). ``log`` gets one line per request to the
    site, the function and the fake provider, and the function's own logs
    (which go to stderr when ``log`` is None); ``verbose`` also lets moto log
    its requests.

    ``refresh_tokens`` configures GitHub with ``refresh: true``, as for a
    GitHub App with expiring user tokens (a fake GitHub follows the entry's
    ``refresh``); the fake then issues access tokens that expire after
    ``access_token_ttl`` seconds (GitHub's 8 hours when None) with refresh
    tokens that rotate on every use.

    ``allow`` is the provider's access policy as in stack config (``users``,
    ``orgs``, ``teams``, ``emails``, ``emailDomains``); the fake GitHub's user
    is an active member of ``FAKE_ORGS`` and ``FAKE_TEAMS`` (change
    ``stack.provider.orgs`` / ``.teams`` to try other memberships).

    ``cms`` (``decap``, ``sveltia`` or ``static``; True is ``decap``) turns
    on CMS popup mode and serves that CMS's admin page on its own origin
    (``cms_port``) for the repository ``cms_repo``; the fake GitHub then also
    serves that repository's REST and GraphQL API. ``cms_origins`` are further
    CMS admin pages' origins (your own), which turn CMS mode on by themselves.

    ``extra_providers`` adds providers by name next to GitHub (see
    ``ExtraProvider``), so a sign-in can choose between several, as a
    deployment with two or more providers does.

    ``moto_port`` is the port of moto's server (Secrets Manager, DynamoDB); 0 picks a free one.

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
        providers: Mapping[str, Mapping[str, Any]] | None = None,
        client_secrets: Mapping[str, str] | None = None,
        github_client_id: str | None = None,
        github_client_secret: str | None = None,
        config: Mapping[str, Any] | None = None,
        refresh_tokens: bool = False,
        access_token_ttl: int | None = None,
        allow: Mapping[str, Any] | None = None,
        max_concurrency: int = 4,
        cms: bool | str = False,
        cms_origins: tuple[str, ...] = (),
        cms_port: int = 0,
        cms_repo: str = CMS_REPO,
        moto_port: int = 0,
        extra_providers: Mapping[str, ExtraProvider] | None = None,
        session: bool | Mapping[str, Any] = False,
        log: Log | None = None,
        verbose: bool = False,
        site_root: Path = REPO / "site",
        function_root: Path = REPO / "function",
    ) -> None:
        if (github_client_id is None) != (github_client_secret is None):
            raise ValueError("give both github_client_id and github_client_secret, or neither")
        self._entries = {name: dict(entry or {}) for name, entry in ({PROVIDER: {}} if providers is None else providers).items()}
        self._client_secrets = dict(client_secrets or {})
        for name, extra in (extra_providers or {}).items():
            if name == PROVIDER or name in self._entries:
                raise ValueError(f"{name} is already one of the stack's providers; name extra providers otherwise")
            self._entries[name] = dict(extra.entry)
            self._client_secrets[name] = extra.client_secret
        if github_client_id is not None and github_client_secret is not None:
            self._entries[PROVIDER] = {**self._entries.get(PROVIDER, {}), "clientId": github_client_id}
            self._client_secrets[PROVIDER] = github_client_secret
        if refresh_tokens:
            self._entries.setdefault(PROVIDER, {})["refresh"] = True
        self._fake = PROVIDER in self._entries and PROVIDER not in self._client_secrets
        for name, entry in self._entries.items():
            if name in self._client_secrets:
                continue
            if name != PROVIDER or FAKE_REPLACES.intersection(entry):
                raise MissingClientSecret(name)
        if access_token_ttl is not None and not (refresh_tokens and self._fake):
            raise ValueError("access_token_ttl is for the fake provider with refresh_tokens")
        self._ports = (site_port, function_port, provider_port)
        self._config = dict(config or {})
        self._access_token_ttl = access_token_ttl
        self._allow = None if allow is None else dict(allow)
        self._max_concurrency = max_concurrency
        self._cms = ("decap" if cms is True else cms) or None
        if self._cms is not None and self._cms not in cms_bundles.BUNDLES:
            raise ValueError(f"cms is one of {', '.join(cms_bundles.BUNDLES)}")
        self._cms_origins = tuple(cms_origins)
        self._cms_port = cms_port
        self._moto_port = moto_port
        self.cms_repo = cms_repo
        self.cms_site: CmsAdminSite | None = None
        self.repository: FakeRepository | None = None
        self._cms_signing_keys: str | None = None
        self._edge_secret: str | None = None
        """Session mode: what the edge adds as ``EDGE_SECRET_HEADER``, as the distribution's origin does."""
        self._session = session
        self._log = log
        self._verbose = verbose
        self._site_root = site_root
        self._function_root = function_root
        self._exit = contextlib.ExitStack()
        self._stopping = threading.Event()
        self.provider: FakeProvider | None = None
        self.metrics = MetricsCounters()
        """The function's metrics, from its request lines: what ``/__metrics`` on the site shows."""

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
        self.secrets = SecretsStore(verbose=self._verbose, port=self._moto_port)
        self._exit.callback(self.secrets.stop)
        self.site = StaticSite(self._site_root, site_port, log=self._log, metrics=self.metrics)
        self._exit.callback(self.site.stop)
        self.emulator = FunctionUrlEmulator(function_port, log=self._log)
        self._exit.callback(self.emulator.stop)
        self.site_origin = self.site.origin
        self.site_url = self.site.url
        self.function_url = self.emulator.url
        self.function_origin = self.emulator.origin
        if self._cms is not None:
            bundle = cms_bundles.BUNDLES[self._cms]
            cms_bundles.ensure_installed(bundle, self._log or _stderr)
            self.cms_site = CmsAdminSite(bundle, self._cms_port, log=self._log)
            self._exit.callback(self.cms_site.stop)
        cms_origins = [*([self.cms_site.origin] if self.cms_site is not None else []), *self._cms_origins]
        if cms_origins:
            cms = dict(self._config.get("cms") or {})
            cms["origins"] = list(dict.fromkeys([*(cms.get("origins") or []), *cms_origins]))
            self._config["cms"] = cms

        entries = {name: dict(entry) for name, entry in self._entries.items()}
        if self._fake:
            entries[PROVIDER] = self._start_fake_github(entries[PROVIDER], provider_port)
        if self._allow is not None:
            entries[PROVIDER]["allow"] = self._allow
        if self._session:
            self._config.setdefault("session", self._session)
        self.settings: Settings = load_settings({**self._config, "providers": entries}, set(entries))
        if self.provider is not None:
            self.provider.redirect_uris = redirect_uris(self.settings, self.site_origin, self.settings.provider(PROVIDER))
            self.provider.allowed_origins = allowed_origins(self.settings, self.site_origin)
            if self.settings.cms is not None:
                self._serve_cms_repository(self.provider)
            if self._log is not None:
                self._watch_provider(self.provider, self._log)

        if self.settings.cms is not None:
            self._cms_signing_keys = secrets.token_urlsafe(48)
        if self.settings.session is not None:
            self._edge_secret = secrets.token_urlsafe(48)
        self.secret_arn = self.secrets.create_secret(
            f"{FUNCTION_NAME}/{secrets.token_hex(4)}/client-secrets", self._secret_document()
        )
        self.containers = ContainerPool(
            task_root=self._function_root,
            handler="handler.handler",
            function_name=FUNCTION_NAME,
            environment=self._function_environment(),
            timeout_seconds=self.settings.lambda_timeout_seconds,
            memory_mb=self.settings.memory_size,
            max_concurrency=self._max_concurrency,
            log=self.metrics.tap(self._log or _stderr),
        )
        self._exit.callback(self.containers.close)
        if self.settings.session is None:
            self.emulator.serve(self.containers, Cors.for_site(self.settings, self.site_origin))
            self.site.serve(self.settings, self.function_url)
            if self.cms_site is not None:
                self.cms_site.serve(base_url=self.function_origin, repo=self.cms_repo, **self._cms_api_roots())
            return
        signing_key = secrets.token_urlsafe(32)
        self.emulator.serve(self.containers, Cors(allow_origins=()), signing_key=signing_key)
        assert self._edge_secret is not None
        self.edge = EdgeProxy(
            self.function_url,
            signing_key,
            self.settings.api_origin_read_timeout_seconds,
            origin_headers={EDGE_SECRET_HEADER: self._edge_secret},
        )
        self._exit.callback(self.edge.close)
        self.site.serve(self.settings, self.api_url, api=self.edge)

    def _cms_api_roots(self) -> dict[str, str]:
        """``api_root`` (and Sveltia's ``graphql_api_root``) for the admin page: the fake GitHub, or GitHub's own default.

        Sveltia CMS takes any ``api_root`` but api.github.com for GitHub Enterprise Server's and adds ``/api/v3``.
        """
        if self.provider is None:
            return {"api_root": GITHUB_API}
        if self._cms == "sveltia":
            return {"api_root": self.provider.base_url + GHES_REST_PREFIX, "graphql_api_root": self.provider.base_url + GRAPHQL_PATH}
        return {"api_root": self.provider.base_url}

    def _serve_cms_repository(self, provider: FakeProvider) -> None:
        """The fake GitHub serves the CMS's repository, to the CMS origins, and redirects to the CMS callbacks."""
        provider.allowed_origins = list(dict.fromkeys([*provider.allowed_origins, *cms_origins(self.settings, self.site_origin)]))
        provider.redirect_uris = [*provider.redirect_uris, *cms_callback_urls(self.settings, self.function_url).values()]
        owner, _, name = self.cms_repo.partition("/")
        self.repository = FakeRepository(
            owner,
            name,
            allowed_origins=lambda: provider.allowed_origins,
            token_is_valid=lambda token: token in provider.active_access_tokens(),
        )
        provider.api_extensions.extend([self.repository, FakeGraphQL(self.repository, provider.base_url)])
        provider.api_prefix = GHES_REST_PREFIX

    def _start_fake_github(self, entry: dict[str, Any], port: int) -> dict[str, Any]:
        """Start the fake GitHub; the entry with its endpoints (and its own client id and secret)."""
        client_secret = secrets.token_urlsafe(24)
        lifetime = {} if self._access_token_ttl is None else {"access_token_ttl": self._access_token_ttl}
        self.provider = FakeProvider(
            PROVIDER,
            client_id=FAKE_CLIENT_ID,
            client_secret=client_secret,
            redirect_uris=(),
            refresh_tokens=entry.get("refresh") in (True, "true"),
            orgs=FAKE_ORGS,
            teams=FAKE_TEAMS,
            port=port,
            **lifetime,
        ).start()
        self._exit.callback(self.provider.stop)
        self._client_secrets[PROVIDER] = client_secret
        urls = self.provider.urls
        return {
            **entry,
            "clientId": FAKE_CLIENT_ID,
            "authorizeUrl": urls["authorize"],
            "tokenUrl": urls["token"],
            "revokeUrl": urls["revoke"],
            "userInfoUrl": urls["user"],
            "apiBaseUrl": urls["api"],
            "imageOrigins": [self.provider.base_url],
        }

    @property
    def api_url(self) -> str:
        """Session mode: where the SPA calls the function, on its own origin."""
        return self.site_origin + API_PATH

    def outputs(self) -> dict[str, Any]:
        """What ``pulumi stack output --json`` shows for a deployed stack, for this one."""
        session = self.settings.session is not None
        outputs = {
            "siteUrl": self.site_url,
            "functionUrl": self.function_url,
            "callbackUrls": callback_urls(self.settings, self.site_origin),
            "secretArn": self.secret_arn,
            "spaConfig": spa_config(self.settings, self.api_url if session else self.function_url),
        }
        if session:
            outputs["sessionTable"] = self.session_table
        if self.settings.cms is not None:
            outputs["cmsBaseUrl"] = cms_base_url(self.function_url)
            outputs["cmsAuthEndpoint"] = CMS_AUTH_ENDPOINT
            outputs["cmsCallbackUrls"] = cms_callback_urls(self.settings, self.function_url)
        return outputs

    def _function_environment(self) -> dict[str, str]:
        """What the Pulumi program sets on the Lambda, plus what Lambda itself provides, pointed at moto."""
        session: dict[str, str] = {}
        if self.settings.session is not None:
            self.session_table = f"{FUNCTION_NAME}-sessions-{secrets.token_hex(4)}"
            _create_session_table(self.secrets.client("dynamodb"), self.session_table)
            session = {SESSION_TABLE_ENV: self.session_table, "AWS_ENDPOINT_URL_DYNAMODB": self.secrets.endpoint}
        # As on Lambda, the configuration is a file the function reads, not a (4 KB-limited) variable.
        folder = Path(self._exit.enter_context(tempfile.TemporaryDirectory(prefix="oauth-exchange-config-")))
        self.function_config_path = folder / FUNCTION_CONFIG_FILE
        self.function_config_path.write_text(
            function_config_json(self.settings, self.site_origin, self.function_origin), encoding="utf-8"
        )
        return {
            **session,
            FUNCTION_CONFIG_FILE_ENV: str(self.function_config_path),
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
            function_metrics().NAMESPACE_ENV: metrics_namespace("local", FUNCTION_NAME),
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
    def cms_callback_url(self) -> str:
        """The CMS popup's callback URL: what to register at the provider for CMS sign-ins."""
        return cms_callback_urls(self.settings, self.function_url)[PROVIDER]

    @property
    def redirect_uri(self) -> str:
        """The SPA's callback URL: what to register at the provider."""
        return redirect_uris(self.settings, self.site_origin, self.settings.provider(PROVIDER))[0]

    def put_client_secret(self, value: str, provider: str = PROVIDER) -> None:
        """Replace one provider's client secret in Secrets Manager, as a rotation would."""
        self._client_secrets[provider] = value
        self.secrets.put_secret_value(self.secret_arn, self._secret_document())

    def _secret_document(self) -> str:
        return client_secrets_json(self.settings, self._client_secrets, self._cms_signing_keys, self._edge_secret)


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
