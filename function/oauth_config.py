"""Parse and validate the function's configuration (docs/configuration.md, "The function's own configuration").

The configuration comes from ``OAUTH_CONFIG`` (JSON) and ``OAUTH_CLIENT_SECRETS_ARN``
and is validated once per container. The deployed function finds that JSON in
a file of its zip named by ``OAUTH_CONFIG_FILE`` (Lambda caps the whole
environment at 4 KB); the ``OAUTH_CONFIG`` variable itself also works (tests,
benchmarks). Anything wrong raises ``ConfigError`` whose message names the
offending key and what is wrong with it, never the value, so it can be logged
as it is. Keys this module does not know are ignored: the
deploying program may carry extra information (authorize URLs, scopes, ...).
The exception is a provider's ``allow``: an unknown key there could be a
restriction misspelt, so it is an error rather than a door left open.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

PROVIDER_NAME = re.compile(r"[a-z0-9-]{1,32}")
TOKEN_AUTH_METHODS = frozenset({"client_secret_post", "client_secret_basic"})
REVOKE_STYLES = frozenset({"github", "rfc7009"})
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
DEFAULT_TIMEOUT_SECONDS = 5.0
MAX_TIMEOUT_SECONDS = 60.0
DEFAULT_SECRET_CACHE_SECONDS = 300.0
MAX_SECRET_CACHE_SECONDS = 3600.0
DEFAULT_CMS_STATE_SECONDS = 600
CMS_SCOPE = re.compile(r"[\x21\x23-\x2b\x2d-\x5b\x5d-\x7e]{1,128}")
"""An RFC 6749 scope token without a comma: CMSs send their scopes comma-separated."""


class ConfigError(ValueError):
    """The configuration is unusable; the message names the key at fault."""


ACCESS_CHECKS = frozenset({"github", "oidc"})
ALLOW_LISTS = ("users", "orgs", "teams", "emails", "email_domains")
GITHUB_ONLY_LISTS = frozenset({"users", "orgs", "teams"})
MAX_ALLOW_ENTRIES = 1000
_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,99}")
_TEAM = re.compile(r"[a-z0-9][a-z0-9-]{0,38}/[a-z0-9][a-z0-9_.-]{0,99}")
_DOMAIN = re.compile(r"[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})+")
_EMAIL = re.compile(r"[^@\s]{1,64}@[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})+")
_ALLOW_ENTRY = {"users": _NAME, "orgs": _NAME, "teams": _TEAM, "emails": _EMAIL, "email_domains": _DOMAIN}


@dataclass(frozen=True)
class AllowList:
    """The sign-in access policy of a provider: who may sign in (anyone matching one entry)."""

    check: str
    """``github`` (GitHub's REST API at ``url``) or ``oidc`` (the OpenID Connect UserInfo endpoint ``url``)."""
    url: str
    users: frozenset[str] = frozenset()
    orgs: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    """``org/team-slug``."""
    emails: frozenset[str] = frozenset()
    email_domains: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ProviderSettings:
    name: str
    client_id: str
    token_url: str
    token_auth: str
    revoke_url: str | None
    """With ``{client_id}`` already substituted."""
    revoke_style: str | None
    refresh: bool
    pkce: bool
    """Whether a PKCE code_verifier is required (RFC 7636); on unless the provider cannot do it."""
    redirect_uris: frozenset[str]
    """This provider's own callback URLs: a code is only ever redeemed for the provider it names."""
    allow: AllowList | None = None
    """Who may sign in; None lets in anyone the provider signs in."""


@dataclass(frozen=True)
class OAuthConfig:
    providers: Mapping[str, ProviderSettings]
    allowed_origins: frozenset[str]
    timeout_seconds: float
    secret_cache_seconds: float
    secrets_arn: str
    cms: CmsSettings | None = None
    """CMS popup mode; None when the stack does not serve CMSs."""
    session: SessionConfig | None = None
    """Session mode (``/api/``), when configured."""


@dataclass(frozen=True)
class CmsProvider:
    """A provider a CMS may sign in with: where its consent page is, which scopes a CMS may ask for."""

    name: str
    authorize_url: str
    scopes: tuple[str, ...]
    required_scopes: tuple[str, ...] = ()
    """Asked for whatever the CMS asks: what the provider's access policy needs to check the user."""


@dataclass(frozen=True)
class CmsSettings:
    origins: tuple[str, ...]
    """The exact origins of the CMS admin pages: the only targets a sign-in is ever posted to."""
    providers: Mapping[str, CmsProvider]
    callback_origin: str | None
    """The function's own origin for redirect URIs when the stack knows it; None: the function URL's domain."""
    state_seconds: int


CONFIG_FILE_ENV = "OAUTH_CONFIG_FILE"


def load_config(environ: Mapping[str, str]) -> OAuthConfig:
    """Read and validate the configuration from the process environment (and the file it names)."""
    raw = _config_text(environ)
    arn = environ.get("OAUTH_CLIENT_SECRETS_ARN", "").strip()
    if not arn:
        raise ConfigError("OAUTH_CLIENT_SECRETS_ARN is not set")
    return parse_config(raw, arn, environ.get(SESSION_TABLE_ENV, "").strip() or None)


def _config_text(environ: Mapping[str, str]) -> str:
    """``OAUTH_CONFIG_FILE`` (relative to ``LAMBDA_TASK_ROOT``), else ``OAUTH_CONFIG``."""
    name = environ.get(CONFIG_FILE_ENV, "").strip()
    if name:
        try:
            with open(os.path.join(environ.get("LAMBDA_TASK_ROOT", ""), name), encoding="utf-8") as file:
                return file.read()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
            raise ConfigError(f"{CONFIG_FILE_ENV} names a file that cannot be read ({reason})") from None
    raw = environ.get("OAUTH_CONFIG")
    if not raw:
        raise ConfigError(f"OAUTH_CONFIG is not set (nor {CONFIG_FILE_ENV})")
    return raw


def parse_config(raw: str, secrets_arn: str, session_table: str | None = None) -> OAuthConfig:
    """Validate the ``OAUTH_CONFIG`` JSON text."""
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"OAUTH_CONFIG is not valid JSON (line {exc.lineno} column {exc.colno})") from None
    if not isinstance(document, dict):
        raise ConfigError("OAUTH_CONFIG must be a JSON object")

    providers = document.get("providers")
    if not isinstance(providers, dict) or not providers:
        raise ConfigError("OAUTH_CONFIG.providers must be a non-empty object")
    session_mode = document.get("session") is not None
    parsed_providers = {name: _provider(name, entry, session_mode) for name, entry in providers.items()}

    return OAuthConfig(
        providers=parsed_providers,
        allowed_origins=frozenset(_origins(document.get("allowed_origins", []))),
        timeout_seconds=_number(
            document.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS),
            "OAUTH_CONFIG.timeout_seconds",
            maximum=MAX_TIMEOUT_SECONDS,
            zero_allowed=False,
        ),
        secret_cache_seconds=_number(
            document.get("secret_cache_seconds", DEFAULT_SECRET_CACHE_SECONDS),
            "OAUTH_CONFIG.secret_cache_seconds",
            maximum=MAX_SECRET_CACHE_SECONDS,
            zero_allowed=True,
        ),
        secrets_arn=secrets_arn,
        cms=_cms(document.get("cms"), parsed_providers),
        session=None if not session_mode else _session(document["session"], parsed_providers, session_table),
    )


def _provider(name: Any, entry: Any, session_mode: bool = False) -> ProviderSettings:
    if not isinstance(name, str) or not PROVIDER_NAME.fullmatch(name):
        raise ConfigError("OAUTH_CONFIG.providers has a name that is not 1-32 characters of [a-z0-9-]")
    key = f"OAUTH_CONFIG.providers.{name}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{key} must be an object")

    client_id = entry.get("client_id")
    if not isinstance(client_id, str) or not client_id.strip() or len(client_id) > 256:
        raise ConfigError(f"{key}.client_id must be a non-empty string of at most 256 characters")

    token_url = _url(entry.get("token_url"), f"{key}.token_url")

    token_auth = entry.get("token_auth", "client_secret_post")
    if token_auth not in TOKEN_AUTH_METHODS:
        raise ConfigError(f"{key}.token_auth must be client_secret_post or client_secret_basic")

    revoke_url = entry.get("revoke_url")
    revoke_style = entry.get("revoke_style")
    if revoke_url is not None:
        if not isinstance(revoke_url, str):
            raise ConfigError(f"{key}.revoke_url must be a URL or null")
        revoke_url = _url(revoke_url.replace("{client_id}", quote(client_id, safe="")), f"{key}.revoke_url")
        if revoke_style not in REVOKE_STYLES:
            raise ConfigError(f"{key}.revoke_style must be github or rfc7009 when revoke_url is set")
    elif revoke_style is not None and revoke_style not in REVOKE_STYLES:
        raise ConfigError(f"{key}.revoke_style must be github or rfc7009")

    refresh = entry.get("refresh", False)
    if not isinstance(refresh, bool):
        raise ConfigError(f"{key}.refresh must be true or false")

    pkce = entry.get("pkce", True)
    if not isinstance(pkce, bool):
        raise ConfigError(f"{key}.pkce must be true or false")

    return ProviderSettings(
        name=name,
        client_id=client_id,
        token_url=token_url,
        token_auth=token_auth,
        revoke_url=revoke_url,
        revoke_style=revoke_style if revoke_url is not None else None,
        refresh=refresh,
        pkce=pkce,
        redirect_uris=frozenset(_redirect_uris(entry.get("redirect_uris"), f"{key}.redirect_uris", session_mode)),
        allow=_allow(entry.get("allow"), f"{key}.allow"),
    )


def _allow(value: Any, key: str) -> AllowList | None:
    """An access policy, or None when there is none (absent, or every list empty)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConfigError(f"{key} must be an object")
    check = value.get("check")
    if check not in ACCESS_CHECKS:
        raise ConfigError(f"{key}.check must be github or oidc")
    url_key = "api_url" if check == "github" else "userinfo_url"
    unknown = sorted(set(value) - {"check", url_key, *ALLOW_LISTS})
    if unknown:
        raise ConfigError(f"{key} has an unknown key (known: check, {url_key}, {', '.join(ALLOW_LISTS)})")
    lists = {name: _allow_entries(value.get(name, []), f"{key}.{name}", _ALLOW_ENTRY[name]) for name in ALLOW_LISTS}
    if check == "oidc" and any(lists[name] for name in GITHUB_ONLY_LISTS):
        raise ConfigError(f"{key}: users, orgs and teams are checked with GitHub's API only (check github)")
    if not any(lists.values()):
        return None
    url = _url(value.get(url_key), f"{key}.{url_key}")
    return AllowList(
        check=check,
        url=url.rstrip("/") if check == "github" else url,
        users=frozenset(lists["users"]),
        orgs=tuple(lists["orgs"]),
        teams=tuple(lists["teams"]),
        emails=frozenset(lists["emails"]),
        email_domains=frozenset(lists["email_domains"]),
    )


def _allow_entries(value: Any, key: str, pattern: re.Pattern[str]) -> list[str]:
    rule = f"{key} must be a list of at most {MAX_ALLOW_ENTRIES} names as the settings module writes them"
    if not isinstance(value, list) or len(value) > MAX_ALLOW_ENTRIES:
        raise ConfigError(rule)
    entries = []
    for index, entry in enumerate(value):
        if not isinstance(entry, str) or len(entry) > 254 or not pattern.fullmatch(entry.lower()):
            raise ConfigError(f"{key}[{index}] is not a valid entry")
        entries.append(entry.lower())
    return list(dict.fromkeys(entries))


def _url(value: Any, key: str) -> str:
    """An absolute https URL, or http on a loopback host (local runs and tests)."""
    rule = f"{key} must be an https URL (http only for localhost, 127.0.0.1 or [::1])"
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        raise ConfigError(rule)
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ConfigError(rule) from None
    if not host or parts.username is not None or parts.password is not None or parts.fragment:
        raise ConfigError(rule)
    if parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK_HOSTS):
        return value
    raise ConfigError(rule)


def _redirect_uris(value: Any, key: str, may_be_empty: bool = False) -> list[str]:
    """Non-empty, except in session mode: there the site's own redirect URI follows from the request's origin."""
    if not isinstance(value, list) or not (value or may_be_empty):
        raise ConfigError(f"{key} must be a non-empty list of URLs")
    return [_url(uri, f"{key}[{index}]") for index, uri in enumerate(value)]


def _origins(value: Any) -> list[str]:
    key = "OAUTH_CONFIG.allowed_origins"
    if not isinstance(value, list):
        raise ConfigError(f"{key} must be a list of origins")
    return [_origin(origin, f"{key}[{index}]") for index, origin in enumerate(value)]


def _origin(value: Any, key: str) -> str:
    """``scheme://host[:port]`` exactly as a browser sends it in ``Origin`` (lower-cased)."""
    rule = f"{key} must be an origin like https://example.com (scheme://host[:port], no path, never *)"
    if not isinstance(value, str) or not value or "*" in value or any(c.isspace() for c in value):
        raise ConfigError(rule)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ConfigError(rule) from None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.password is not None
        or parts.path
        or parts.query
        or parts.fragment
        or value.endswith(("?", "#"))
    ):
        raise ConfigError(rule)
    return value.lower()


def _cms(value: Any, providers: Mapping[str, ProviderSettings]) -> CmsSettings | None:
    if value is None:
        return None
    key = "OAUTH_CONFIG.cms"
    if not isinstance(value, dict):
        raise ConfigError(f"{key} must be an object")
    origins = value.get("origins")
    if not isinstance(origins, list) or not origins:
        raise ConfigError(f"{key}.origins must be a non-empty list of origins")
    entries = value.get("providers")
    if not isinstance(entries, dict) or not entries:
        raise ConfigError(f"{key}.providers must be a non-empty object")
    cms_providers = {}
    for name, entry in entries.items():
        entry_key = f"{key}.providers.{name}"
        if name not in providers:
            raise ConfigError(f"{entry_key} is not one of OAUTH_CONFIG.providers")
        if not isinstance(entry, dict):
            raise ConfigError(f"{entry_key} must be an object")
        scopes = entry.get("scopes")
        if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) and CMS_SCOPE.fullmatch(s) for s in scopes):
            raise ConfigError(f"{entry_key}.scopes must be a non-empty list of scope names")
        required = entry.get("required_scopes", [])
        if not isinstance(required, list) or not all(isinstance(s, str) and CMS_SCOPE.fullmatch(s) for s in required):
            raise ConfigError(f"{entry_key}.required_scopes must be a list of scope names")
        cms_providers[name] = CmsProvider(
            name=name,
            authorize_url=_url(entry.get("authorize_url"), f"{entry_key}.authorize_url"),
            scopes=tuple(scopes),
            required_scopes=tuple(required),
        )
    callback_origin = value.get("callback_origin")
    if callback_origin is not None:
        callback_origin = _origin(callback_origin, f"{key}.callback_origin")
    state_seconds = value.get("state_seconds", DEFAULT_CMS_STATE_SECONDS)
    if isinstance(state_seconds, bool) or not isinstance(state_seconds, int) or not 60 <= state_seconds <= 3600:
        raise ConfigError(f"{key}.state_seconds must be a whole number from 60 to 3600")
    return CmsSettings(
        origins=tuple(dict.fromkeys(_origin(o, f"{key}.origins[{i}]") for i, o in enumerate(origins))),
        providers=cms_providers,
        callback_origin=callback_origin,
        state_seconds=state_seconds,
    )


def _number(value: Any, key: str, *, maximum: float, zero_allowed: bool) -> float:
    low = "at least 0" if zero_allowed else "greater than 0"
    rule = f"{key} must be a number {low} and at most {maximum:g}"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(rule)
    if value < 0 or (value == 0 and not zero_allowed) or value > maximum:
        raise ConfigError(rule)
    return float(value)


# -- Session mode (OAUTH_CONFIG.session) -------------------------------------------

SESSION_TABLE_ENV = "OAUTH_SESSION_TABLE"
API_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})
HEADER_NAME = re.compile(r"[a-z0-9-]{1,64}")
COOKIE_NAME = re.compile(r"__Host-[A-Za-z0-9_-]{1,64}")
MAX_SESSION_SECONDS = 4380 * 3600


@dataclass(frozen=True)
class ApiRule:
    """Methods and a path prefix of the provider's API that the proxy may call."""

    methods: frozenset[str]
    prefix: str

    def allows(self, method: str, path: str) -> bool:
        """Whole segments only: ``/user`` allows ``/user`` and ``/user/repos``, never ``/users``."""
        if method not in self.methods:
            return False
        if self.prefix.endswith("/"):
            return path.startswith(self.prefix) or path == self.prefix.rstrip("/")
        return path == self.prefix or path.startswith(self.prefix + "/")


@dataclass(frozen=True)
class SessionProvider:
    callback_path: str
    """The site's redirect path for this provider; the site's origin comes with each request."""
    userinfo_url: str | None
    api_base_url: str | None
    api_rules: tuple[ApiRule, ...]


@dataclass(frozen=True)
class SessionConfig:
    table_name: str
    cookie_name: str
    csrf_header: str
    origin_header: str
    """Set by the distribution to the viewer's site origin; trusted once ``edge_header`` proves the caller is it."""
    origins: frozenset[str]
    """Site origins accepted in ``origin_header``; empty: the one the distribution names."""
    idle_seconds: int
    max_seconds: int
    expose_access_token: bool
    providers: Mapping[str, SessionProvider]
    edge_header: str | None = None
    """The distribution's origin custom header carrying the edge secret; None: the secret is not checked."""


def _session(value: Any, providers: Mapping[str, ProviderSettings], table_name: str | None) -> SessionConfig:
    key = "OAUTH_CONFIG.session"
    if not isinstance(value, dict):
        raise ConfigError(f"{key} must be an object")
    if table_name is None:
        raise ConfigError(f"{SESSION_TABLE_ENV} is not set (session mode keeps its sessions in that DynamoDB table)")
    cookie_name = value.get("cookie_name")
    if not isinstance(cookie_name, str) or not COOKIE_NAME.fullmatch(cookie_name):
        raise ConfigError(f"{key}.cookie_name must be a __Host- cookie name")
    headers = {}
    for name in ("csrf_header", "origin_header"):
        header = value.get(name)
        if not isinstance(header, str) or not HEADER_NAME.fullmatch(header):
            raise ConfigError(f"{key}.{name} must be a lower-case header name")
        headers[name] = header
    edge_header = value.get("edge_header")
    if edge_header is not None and (not isinstance(edge_header, str) or not HEADER_NAME.fullmatch(edge_header)):
        raise ConfigError(f"{key}.edge_header must be a lower-case header name")
    max_seconds = _seconds(value.get("max_seconds"), f"{key}.max_seconds", MAX_SESSION_SECONDS)
    idle_seconds = _seconds(value.get("idle_seconds"), f"{key}.idle_seconds", max_seconds)
    expose = value.get("expose_access_token", False)
    if not isinstance(expose, bool):
        raise ConfigError(f"{key}.expose_access_token must be true or false")
    entries = value.get("providers")
    if not isinstance(entries, dict) or set(entries) != set(providers):
        raise ConfigError(f"{key}.providers must have an entry for each provider")
    return SessionConfig(
        table_name=table_name,
        cookie_name=cookie_name,
        csrf_header=headers["csrf_header"],
        origin_header=headers["origin_header"],
        origins=frozenset(_origins_list(value.get("origins", []), f"{key}.origins")),
        idle_seconds=idle_seconds,
        max_seconds=max_seconds,
        expose_access_token=expose,
        providers={name: _session_provider(entry, f"{key}.providers.{name}") for name, entry in entries.items()},
        edge_header=edge_header,
    )


def _seconds(value: Any, key: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 60 <= value <= maximum:
        raise ConfigError(f"{key} must be a whole number of seconds from 60 to {maximum}")
    return value


def _origins_list(value: Any, key: str) -> list[str]:
    if not isinstance(value, list):
        raise ConfigError(f"{key} must be a list of origins")
    return [_origin(origin, f"{key}[{index}]") for index, origin in enumerate(value)]


def _session_provider(entry: Any, key: str) -> SessionProvider:
    if not isinstance(entry, dict):
        raise ConfigError(f"{key} must be an object")
    callback = entry.get("callback_path")
    if not isinstance(callback, str) or not re.fullmatch(r"(/[A-Za-z0-9._~-]+)+", callback):
        raise ConfigError(f"{key}.callback_path must be a path like /callback/github")
    userinfo = entry.get("userinfo_url")
    base = entry.get("api_base_url")
    rules = entry.get("api_paths", [])
    if not isinstance(rules, list) or (rules and base is None):
        raise ConfigError(f"{key}.api_paths must be a list, and needs api_base_url")
    return SessionProvider(
        callback_path=callback,
        userinfo_url=None if userinfo is None else _url(userinfo, f"{key}.userinfo_url"),
        api_base_url=None if base is None else _url(base, f"{key}.api_base_url").rstrip("/"),
        api_rules=tuple(_api_rule(rule, f"{key}.api_paths[{index}]") for index, rule in enumerate(rules)),
    )


def _api_rule(value: Any, key: str) -> ApiRule:
    rule = f"{key} must be {{methods: [GET, ...], prefix: /path}}"
    if not isinstance(value, dict):
        raise ConfigError(rule)
    methods, prefix = value.get("methods"), value.get("prefix")
    if not isinstance(methods, list) or not methods or not all(m in API_METHODS for m in methods):
        raise ConfigError(rule)
    if not isinstance(prefix, str) or not prefix.startswith("/") or "//" in prefix or "%" in prefix or "\\" in prefix:
        raise ConfigError(rule)
    if any(part in (".", "..") for part in prefix.split("/")):
        raise ConfigError(rule)
    return ApiRule(frozenset(methods), prefix)
