"""OAuthExchange: the whole product as one component, for this repository's program and for anyone else's.

    browser ──HTTPS──▶ StaticSite (CloudFront ▶ private S3: SPA + config.js)   [unless deploy is false]
       │
       └──POST /token──▶ ExchangeFunction (function URL, CORS = the SPA's origins)
                            └──reads──▶ ClientSecret (Secrets Manager, KMS)

The site's distribution comes first (the function's CORS names its domain);
the SPA's files are published last (``config.js`` names the function URL).
Without a site of its own, the function serves the origins it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from oauth_exchange.assets import function_dir
from oauth_exchange.client_secret import ClientSecret, ClientSecretArgs
from oauth_exchange.cms_signing_key import CmsSigningKey, CmsSigningKeyArgs
from oauth_exchange.edge_secret import EdgeSecret, EdgeSecretArgs
from oauth_exchange.exchange_function import ExchangeFunction, ExchangeFunctionArgs
from oauth_exchange.monitoring import Monitoring, MonitoringArgs
from oauth_exchange.monitoring_plan import metrics_namespace
from oauth_exchange.monitoring_settings import MonitoringSettings
from oauth_exchange.packaging import Archive, PackagingError, build_archive
from oauth_exchange.rate_limit import RateLimit, RateLimitArgs
from oauth_exchange.session_edge import SessionEdge, SessionEdgeArgs
from oauth_exchange.session_table import SessionTable, SessionTableArgs
from oauth_exchange.cms_endpoints import cms_base_url, cms_callback_urls
from oauth_exchange.origins import allowed_origins, callback_urls
from oauth_exchange.session_contract import API_PATH
from oauth_exchange.settings import ConfigError, Settings, check_origin
from oauth_exchange.spa_config import config_js, spa_config
from oauth_exchange.site_settings import SiteSettings, connect_sources
from oauth_exchange.pulumi_errors import argument_path, reported, required
from oauth_exchange.stack_config import Target, deployment_target
from oauth_exchange.stack_values import refuse_conflicting_modes
from oauth_exchange.static_site import StaticSite, StaticSiteArgs


@dataclass(frozen=True)
class OAuthExchangeArgs:
    settings: Settings
    """Providers, extra origins and function tuning: ``load_settings`` or ``read_stack_config().settings``."""
    client_secrets: pulumi.Input[Mapping[str, Any]]
    """Provider name to client secret; pass a secret Output (``Config.require_secret_object``)."""
    site: SiteSettings = field(default_factory=SiteSettings)
    """The site to deploy (the demo SPA by default), or ``SiteSettings(deploy=False)`` for the function alone."""
    site_origin: pulumi.Input[str] | None = None
    """Without a site of its own: the origin of a site the program already has (e.g. its own distribution's)."""
    target: Target | None = None
    """Account, partition and region; looked up from the AWS provider when None."""
    archive: Archive | None = None
    """The function's deployment zip; built from the packaged ``function/`` into ``build_dir`` when None."""
    build_dir: Path = Path(".build")
    """Where the zip is built and cached (relative paths are from the project directory)."""
    monitoring: MonitoringSettings = field(default_factory=MonitoringSettings)
    """Alarms (on by default) and the dashboard (on by default): ``load_monitoring_settings``."""


ARGS = "OAuthExchangeArgs"


def _archive(args: OAuthExchangeArgs) -> Archive:
    if args.archive is not None:
        return args.archive
    try:
        return build_archive(function_dir(), args.build_dir)
    except PackagingError as error:
        raise pulumi.RunError(str(error)) from None


def _check_args(args: OAuthExchangeArgs) -> None:
    """What the component needs of its arguments, each named as the program wrote it (``OAuthExchangeArgs.site_origin``).

    Settings from ``load_settings`` or ``read_stack_config`` are valid already;
    these checks are for settings built by hand and for what only the
    arguments together say.
    """
    with reported(argument_path(f"{ARGS}.settings")):
        for index, origin in enumerate(args.settings.extra_origins):
            check_origin(f"extraOrigins[{index}]", origin)
        refuse_conflicting_modes(args.settings, args.site)
    with reported(lambda key: f"{ARGS}.site_origin"):
        if isinstance(args.site_origin, str):
            check_origin("siteOrigin", args.site_origin)
        if not args.site.deploy and args.site_origin is None and not args.settings.extra_origins:
            raise ConfigError("siteOrigin", "site.deploy is false, so name the SPA's origin here or in the settings' extra origins")


def _given_site_origin(args: OAuthExchangeArgs) -> pulumi.Input[str] | None:
    """``args.site_origin``; an Output of it is checked once known, as a string is checked up front, and never empty.

    A plain ``pulumi.RunError``: Pulumi wraps a ``ValueError`` raised while it
    serializes an input in a traceback of the resources it was on its way to.
    """
    if args.site_origin is None or isinstance(args.site_origin, str):
        return args.site_origin
    name = f"{ARGS}.site_origin"

    def check(origin: str) -> str:
        try:
            return check_origin("siteOrigin", origin)
        except ConfigError as error:
            raise pulumi.RunError(f"{name}: {error.problem}") from None

    return required(pulumi.Output.from_input(args.site_origin), name).apply(check)


class OAuthExchange(pulumi.ComponentResource):
    """An encrypted client secret, the exchange function, and (unless told otherwise) the site that uses them."""

    function_url: pulumi.Output[str]
    secret_arn: pulumi.Output[str]
    origins: pulumi.Output[list[str]]
    """The origins the function serves (CORS and redirect URIs), the site's own first."""
    callback_urls: pulumi.Output[dict[str, list[str]]]
    """The redirect URIs the function accepts: register them at the provider."""
    spa_config: pulumi.Output[dict[str, Any]]
    """What the SPA's ``config.js`` exports: the function URL and the providers' public settings."""
    config_js: pulumi.Output[str]
    """The ``config.js`` file itself, for a SPA served elsewhere."""
    connect_src: pulumi.Output[list[str]]
    """The sources the SPA fetches from: what a site served elsewhere allows in its CSP ``connect-src``."""
    site: StaticSite | None
    """The deployed site, or None when ``site.deploy`` is false."""
    cms_base_url: pulumi.Output[str] | None
    """CMS popup mode: the ``base_url`` of the CMS's ``config.yml`` (None without ``cms``)."""
    cms_callback_urls: pulumi.Output[dict[str, list[str]]] | None
    """CMS popup mode: the function's callback URL per provider, to register at the provider."""

    session_table_name: pulumi.Output[str] | None
    """Session mode: the DynamoDB table holding the sessions (None in browser mode)."""
    monitoring: Monitoring
    """The alarms, their SNS topic and the dashboard (``dashboard_url``), as ``args.monitoring`` asks."""

    def __init__(self, name: str, args: OAuthExchangeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("oauth-exchange:index:OAuthExchange", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings = args.settings
        _check_args(args)
        target = args.target or deployment_target()
        archive = _archive(args)

        cms_signing_key = (
            CmsSigningKey(f"{name}-cms-signing-key", CmsSigningKeyArgs(settings=settings), opts=child)
            if settings.cms
            else None
        )
        edge_secret = (
            EdgeSecret(f"{name}-edge-secret", EdgeSecretArgs(settings=settings), opts=child) if settings.session else None
        )
        client_secret = ClientSecret(
            f"{name}-client-secret",
            ClientSecretArgs(
                settings=settings,
                target=target,
                client_secrets=args.client_secrets,
                cms_signing_keys=cms_signing_key.keys if cms_signing_key else None,
                edge_secrets=edge_secret.accepted if edge_secret else None,
                encrypts_sessions=settings.session is not None,
            ),
            opts=child,
        )
        self.site = None
        self.session_table_name = None
        self._metrics_namespace = metrics_namespace(pulumi.get_project(), pulumi.get_stack())
        self._rate_limit_metric: str | None = None
        site_origin = _given_site_origin(args)
        if edge_secret is not None:
            function, spa_url = self._session_mode(name, args, target, archive, client_secret, edge_secret)
            site_origin = self.site.origin
        else:
            if args.site.deploy:
                self.site = StaticSite(
                    f"{name}-site", StaticSiteArgs(settings=settings, target=target, site=args.site), opts=child
                )
                site_origin = self.site.origin
            function = ExchangeFunction(
                f"{name}-function",
                ExchangeFunctionArgs(
                    settings=settings,
                    target=target,
                    archive=archive,
                    site_origin=site_origin,
                    secret_arn=client_secret.secret_arn,
                    key_arn=client_secret.key_arn,
                    metrics_namespace=self._metrics_namespace,
                ),
                opts=child,
            )
            spa_url = function.url
            if self.site is not None:
                self.site.publish(function.url)

        self.monitoring = Monitoring(
            f"{name}-monitoring",
            MonitoringArgs(
                settings=args.monitoring,
                target=target,
                namespace=self._metrics_namespace,
                function_name=function.function_name,
                log_group_name=function.log_group_name,
                distribution_id=None if self.site is None else self.site.distribution_id,
                web_acl_metric=self._rate_limit_metric,
                session_mode=settings.session is not None,
            ),
            opts=child,
        )
        origin = pulumi.Output.from_input(site_origin)
        site = args.site
        self.function_url = function.url
        self.secret_arn = client_secret.secret_arn
        self.origins = origin.apply(lambda value: allowed_origins(settings, value))
        self.callback_urls = origin.apply(lambda value: callback_urls(settings, value))
        self.spa_config = spa_url.apply(lambda url: spa_config(settings, url))
        self.config_js = spa_url.apply(lambda url: config_js(settings, url))
        self.connect_src = function.url.apply(lambda url: connect_sources(settings, site, url.rstrip("/")))
        self.cms_base_url = function.url.apply(cms_base_url) if settings.cms else None
        self.cms_callback_urls = (
            function.url.apply(lambda url: cms_callback_urls(settings, url)) if settings.cms else None
        )
        self.register_outputs(
            {
                "function_url": self.function_url,
                "secret_arn": self.secret_arn,
                "origins": self.origins,
                "callback_urls": self.callback_urls,
                "spa_config": self.spa_config,
            }
        )

    def _session_mode(
        self,
        name: str,
        args: OAuthExchangeArgs,
        target: Target,
        archive: Archive,
        client_secret: ClientSecret,
        edge_secret: EdgeSecret,
    ) -> tuple[ExchangeFunction, pulumi.Output[str]]:
        """Tokens stay in AWS: the function comes first (its URL is an origin of the distribution), behind OAC.

        Without a custom domain the distribution tells the function the site's origin with each request;
        with one, the origin is known from config.
        """
        child = pulumi.ResourceOptions(parent=self)
        settings, site = args.settings, args.site
        sessions = SessionTable(f"{name}-sessions", SessionTableArgs(key_arn=client_secret.key_arn), opts=child)
        function = ExchangeFunction(
            f"{name}-function",
            ExchangeFunctionArgs(
                settings=settings,
                target=target,
                archive=archive,
                site_origin=site.custom_domain.origin if site.custom_domain is not None else None,
                secret_arn=client_secret.secret_arn,
                key_arn=client_secret.key_arn,
                session_table_name=sessions.name,
                session_table_arn=sessions.arn,
                metrics_namespace=self._metrics_namespace,
            ),
            opts=child,
        )
        # The distribution sends a new edge secret only once the secret document (read by the function) holds it.
        stored_edge_secret = pulumi.Output.all(client_secret.secret_arn, edge_secret.current).apply(lambda values: values[1])
        edge = SessionEdge(
            f"{name}-edge",
            SessionEdgeArgs(
                settings=settings,
                function_url=function.url,
                function_name=function.function_name,
                edge_secret=stored_edge_secret,
            ),
            opts=child,
        )
        rate_limit = (
            None
            if settings.rate_limit is None
            else RateLimit(f"{name}-rate-limit", RateLimitArgs(settings.rate_limit), opts=child)
        )
        self.site = StaticSite(
            f"{name}-site",
            StaticSiteArgs(
                settings=settings,
                target=target,
                site=site,
                api=edge.site_api,
                web_acl_arn=None if rate_limit is None else rate_limit.web_acl_arn,
            ),
            opts=child,
        )
        self._rate_limit_metric = None if rate_limit is None else rate_limit.metric_name
        edge.admit(self.site.distribution_arn)
        api_url = self.site.origin.apply(lambda origin: origin + API_PATH)
        self.site.publish(api_url)
        self.session_table_name = sessions.name
        return function, api_url
