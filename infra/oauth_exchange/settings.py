"""Stack settings: what a stack may say, validated into one model, and its refusals.

Plain Python with no Pulumi import, so the Pulumi program and the local stack
read a stack's config through the same parser; what is computed from the
model lives in modules named for it (``origins``, ``function_config``,
``spa_config``, ``site_headers``, ``cms_endpoints``, ``secrets_document``).
Every error names the config key that is wrong.
"""

from __future__ import annotations

import ipaddress
import math
import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from oauth_exchange.presets import PRESETS, Preset
from oauth_exchange.session_contract import API_METHODS


NAMESPACE = "oauth-exchange"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
TOKEN_AUTH_STYLES = ("client_secret_post", "client_secret_basic")
REVOKE_STYLES = ("github", "rfc7009")
PROVIDER_NAME = re.compile(r"[a-z0-9-]{1,32}")
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
_PROVIDER_KEYS = frozenset(
    {
        "clientId",
        "scopes",
        "refresh",
        "label",
        "authorizeUrl",
        "tokenUrl",
        "tokenAuth",
        "revokeUrl",
        "revokeStyle",
        "userInfoUrl",
        "pkce",
        "imageOrigins",
        "allow",
        "apiBaseUrl",
        "oidcUserInfoUrl",
        "issuer",
        "requireIss",
        "apiPaths",
    }
)
# Characters that could end an HTML attribute, open a tag, or end or split a CSP directive or policy.
# URLs that need one can percent-encode it.
_UNSAFE_URL_CHARACTERS = frozenset("\"'<>`\\^{}|;,")
_DNS_NAME = re.compile(r"(?=.{1,253}\Z)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")
_UNSAFE_LABEL_CHARACTERS = frozenset("\"'<>`\\")
HSTS_KEY = "hstsIncludeSubdomains"


class ConfigError(ValueError):
    """Stack configuration that cannot be deployed; the message names the key."""

    def __init__(self, key: str, problem: str) -> None:
        full_key = key if ":" in key else f"{NAMESPACE}:{key}"  # e.g. aws:region is not ours
        super().__init__(f"{full_key}: {problem}")
        self.key = key
        self.problem = problem


def settings_object(
    key: str, value: Any, known: Sequence[str], *, must: str, empty: str | None = None, stray: str = "unknown setting"
) -> Mapping[str, Any]:
    """An object of settings: a mapping, not empty when ``empty`` says what to do instead, with no key outside ``known``.

    ``known`` is named in the message in the order given.
    """
    if not isinstance(value, Mapping):
        raise ConfigError(key, f"must be {must}")
    if empty is not None and not value:
        raise ConfigError(key, f"is empty; {empty}")
    strays = sorted(set(value) - set(known))
    if strays:
        raise ConfigError(f"{key}.{strays[0]}", f"{stray}; known: {', '.join(known)}")
    return value


@dataclass(frozen=True)
class AllowList:
    """Who may sign in with a provider (``providers.<name>.allow``); empty means anyone.

    Anyone matching one entry of any list is allowed. Names and addresses are
    kept lower-cased: GitHub logins, org names and team slugs, and email
    addresses as providers compare them, are case-insensitive.
    """

    users: tuple[str, ...] = ()
    orgs: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    """``org/team-slug``."""
    emails: tuple[str, ...] = ()
    email_domains: tuple[str, ...] = ()

    @property
    def restricts(self) -> bool:
        return any((self.users, self.orgs, self.teams, self.emails, self.email_domains))


@dataclass(frozen=True)
class Provider(Preset):
    """A provider as deployed: preset endpoints merged with the stack's entry."""

    name: str
    client_id: str
    refresh: bool
    allow: AllowList = AllowList()
    """The sign-in access policy; ``scopes`` already include what checking it needs."""
    api_paths: tuple[ApiPath, ...] = ()
    """Session mode's proxy allow-list: the methods and path prefixes of ``api_base_url`` the SPA may call."""


@dataclass(frozen=True)
class Settings:
    """Everything a stack deploys, validated."""

    providers: tuple[Provider, ...]
    extra_origins: tuple[str, ...] = ()
    callback_path: str = "/callback"
    """Prefix of every provider's redirect path: ``<origin><callback_path>/<provider>``."""
    timeout_seconds: float = 5.0
    secret_cache_seconds: int = 300
    memory_size: int = 256
    reserved_concurrency: int | None = None
    log_retention_days: int = 30
    price_class: str = "PriceClass_100"
    cms: CmsSettings | None = None
    """CMS popup mode (``oauth-exchange:cms``); None when off."""
    session: SessionSettings | None = None
    """Session mode (tokens kept server-side, cookie sessions on the site's origin); None is browser mode."""
    rate_limit: int | None = None
    """Requests per 5 minutes per IP to ``/api/*`` before the edge blocks them (AWS WAF); None: no limit."""
    hsts_include_subdomains: bool = False
    """``hstsIncludeSubdomains``: HSTS for every subdomain of the site's host too (and preload's two years)."""

    @property
    def lambda_timeout_seconds(self) -> int:
        """Room for two provider calls (secret re-read after a rotation) and the secret fetch.

        Session mode adds a refresh before a proxied call and a few DynamoDB calls (each bounded to ~3 s).
        """
        session = 0 if self.session is None else math.ceil(self.timeout_seconds) + 10
        return min(900, math.ceil(2 * self.timeout_seconds) + 5 + session)

    @property
    def api_origin_read_timeout_seconds(self) -> int:
        """How long CloudFront waits for ``/api/*``: longer than a cold start plus the function's whole timeout.

        A function URL answers only once the handler returns, so anything
        shorter lets CloudFront answer 504 while the function is mid-refresh
        or mid-write.
        """
        return self.lambda_timeout_seconds + LAMBDA_INIT_SECONDS + EDGE_NETWORK_SECONDS

    def provider(self, name: str) -> Provider:
        for provider in self.providers:
            if provider.name == name:
                return provider
        raise KeyError(name)


CMS_DEFAULT_SCOPES: dict[str, tuple[str, ...]] = {"github": ("repo", "user"), "gitlab": ("api",)}
"""What Decap, Sveltia and Static CMS ask for: GitHub ``repo`` (Sveltia adds ``user``), GitLab ``api``."""
_CMS_SCOPE = re.compile(r"[\x21\x23-\x2b\x2d-\x5b\x5d-\x7e]+")
_CMS_KEYS = frozenset({"origins", "providers", "includeSiteOrigin", "signingKeyVersion"})
LAMBDA_INIT_SECONDS = 10
"""Lambda's limit on a cold start's init phase, which a function URL call waits for before the handler runs."""
EDGE_NETWORK_SECONDS = 2
"""Room for CloudFront's connection and the answer's transfer, on top of the function's own worst case."""
MAX_ORIGIN_READ_TIMEOUT = 60
"""CloudFront's origin response timeout without a quota increase (1-60 s; default 30 s)."""
DEFAULT_IDLE_MINUTES = 8 * 60
DEFAULT_MAX_HOURS = 30 * 24
MAX_SESSION_HOURS = 4380
"""Six months: a GitHub App's refresh token lives that long; a session cannot outlive it."""
RATE_LIMIT_RANGE = (10, 2_000_000_000)
"""What AWS WAF accepts for a rate-based rule's limit (requests per evaluation window)."""
_SESSION_KEYS = frozenset({"idleMinutes", "maxHours", "exposeAccessToken", "edgeSecretVersion"})
_API_PATH_PREFIX = re.compile(r"/|(/[A-Za-z0-9._~!$&'()*+,;=:@-]+)+/?")


@dataclass(frozen=True)
class CmsProvider:
    """A provider CMSs may sign in with, and the scopes they may ask for."""

    name: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class CmsSettings:
    """CMS popup mode: which CMS admin pages may sign in, with which providers."""

    origins: tuple[str, ...]
    providers: tuple[CmsProvider, ...]
    include_site_origin: bool = False
    """Also serve a CMS admin page published on the stack's own site."""
    signing_key_version: int = 1
    """Bump to rotate the cookie signing key; the previous version stays accepted until the next bump."""


def is_loopback_host(host: str | None) -> bool:
    return (host or "").lower() in LOOPBACK_HOSTS


def check_url(key: str, value: Any, *, placeholders: tuple[str, ...] = ()) -> str:
    """An absolute https URL (http on a loopback host, for local runs and tests) that is safe in HTML and a CSP.

    The host must be a DNS name or an IP address, and the URL must hold
    nothing that could break out of an HTML attribute or a CSP directive:
    no quotes, ``<``, ``>``, ``;``, ``,``, backslash, spaces, control or
    non-ASCII characters. ``placeholders`` (like ``{client_id}``) are allowed
    as they are, for the program to fill in.
    """
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        raise ConfigError(key, "must be a URL string without spaces")
    text = value
    for placeholder in placeholders:
        text = text.replace(placeholder, "x")
    if any(not " " < c < "\x7f" for c in text):
        raise ConfigError(key, "must be ASCII without control characters (percent-encode the rest, punycode for hosts)")
    unsafe = sorted(set(text) & _UNSAFE_URL_CHARACTERS)
    if unsafe:
        raise ConfigError(key, f"must not contain {' '.join(unsafe)}: it could break out of the site's HTML or CSP")
    parts = urlsplit(value)
    try:
        parts.port
    except ValueError:
        raise ConfigError(key, f"{value!r} has an invalid port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        raise ConfigError(key, f"{value!r} is not an absolute http(s) URL with a host")
    if not _is_host(parts.hostname):
        raise ConfigError(key, f"{value!r} does not name a host (a DNS name like example.com, or an IP address)")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ConfigError(key, f"{value!r} must use https (http is allowed only for localhost)")
    return value


def _is_host(host: str) -> bool:
    """A DNS name (lower-cased by urlsplit) or an IP address literal."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return _DNS_NAME.fullmatch(host) is not None


def check_issuer(key: str, value: Any) -> str:
    """An issuer identifier (RFC 8414): an https URL (http on loopback) without query or fragment."""
    check_url(key, value)
    parts = urlsplit(value)
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        raise ConfigError(key, f"{value!r} is an issuer identifier: a URL without query or fragment")
    return value


def check_label(key: str, value: Any) -> str:
    """A display name: short, printable, nothing that could end an attribute or open a tag."""
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        raise ConfigError(key, "must be a short display name")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in value):
        raise ConfigError(key, "must not contain control or formatting characters")
    unsafe = sorted(set(value) & _UNSAFE_LABEL_CHARACTERS)
    if unsafe:
        raise ConfigError(key, f"must not contain {' '.join(unsafe)}")
    return value


def check_origin(key: str, value: Any) -> str:
    """An origin exactly as browsers send it: scheme://host[:port], nothing more."""
    if value == "*" or (isinstance(value, str) and "*" in value):
        raise ConfigError(key, "a wildcard origin is never allowed; list each SPA origin")
    check_url(key, value)
    parts = urlsplit(value)
    if parts.path or parts.query or parts.fragment or value.endswith("/"):
        raise ConfigError(key, f"{value!r} is not an origin: drop the path, e.g. {parts.scheme}://{parts.netloc}")
    port = parts.port
    default_port = {"https": 443, "http": 80}[parts.scheme]
    host = parts.netloc.rsplit(":", 1)[0] if port is not None else parts.netloc
    netloc = host.lower() if port in (None, default_port) else f"{host.lower()}:{port}"
    return f"{parts.scheme}://{netloc}"


def _bool(key: str, value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ConfigError(key, "must be true or false")


def _number(key: str, value: Any, default: float, low: float, high: float, integer: bool = True) -> Any:
    if value is None:
        return default
    try:
        number = int(value) if integer else float(value)
    except (TypeError, ValueError):
        raise ConfigError(key, f"must be a number from {low:g} to {high:g}") from None
    if isinstance(value, bool) or not (low <= number <= high) or (integer and float(value) != number):
        raise ConfigError(key, f"must be a {'whole ' if integer else ''}number from {low:g} to {high:g}")
    return number


def _scopes(key: str, value: Any, default: tuple[str, ...]) -> tuple[str, ...]:
    if value is None:
        return default
    items = value.split() if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(s, str) and _SCOPE.fullmatch(s) for s in items):
        raise ConfigError(key, "must be a list of scope strings (no spaces or quotes inside a scope)")
    return tuple(items)


def _provider(name: str, entry: Any) -> Provider:
    key = f"providers.{name}"
    if not PROVIDER_NAME.fullmatch(name):
        raise ConfigError(key, "provider names are 1-32 characters of a-z, 0-9 and '-'")
    entry = settings_object(key, entry, sorted(_PROVIDER_KEYS), must="an object like {clientId: ..., scopes: [...]}")
    client_id = entry.get("clientId")
    if not isinstance(client_id, str) or not client_id.strip() or len(client_id) > 256:
        raise ConfigError(f"{key}.clientId", "is required: the OAuth app's client id")
    preset = PRESETS.get(name)
    if preset is None:
        for required in ("authorizeUrl", "tokenUrl"):
            if not entry.get(required):
                raise ConfigError(
                    f"{key}.{required}",
                    f"{name!r} is not a preset ({', '.join(PRESETS)}); a custom provider needs authorizeUrl and tokenUrl",
                )

    def pick(field: str, preset_value: Any) -> Any:
        return entry[field] if entry.get(field) is not None else preset_value

    token_auth = pick("tokenAuth", preset.token_auth if preset else "client_secret_post")
    if token_auth not in TOKEN_AUTH_STYLES:
        raise ConfigError(f"{key}.tokenAuth", f"must be one of {', '.join(TOKEN_AUTH_STYLES)}")
    revoke_style = pick("revokeStyle", preset.revoke_style if preset else "rfc7009")
    if revoke_style not in REVOKE_STYLES:
        raise ConfigError(f"{key}.revokeStyle", f"must be one of {', '.join(REVOKE_STYLES)}")
    revoke_url = pick("revokeUrl", preset.revoke_url if preset else None)
    userinfo_url = pick("userInfoUrl", preset.userinfo_url if preset else None)
    image_origins = pick("imageOrigins", preset.image_origins if preset else ())
    if not isinstance(image_origins, list | tuple):
        raise ConfigError(f"{key}.imageOrigins", "must be a list of origins")
    label = check_label(f"{key}.label", pick("label", preset.label if preset else name))
    access_check = preset.access_check if preset else ("github" if revoke_style == "github" else "oidc")
    api_base = pick("apiBaseUrl", preset.api_base_url if preset else None)
    api_base_url = None if api_base is None else _api_base_url(f"{key}.apiBaseUrl", api_base)
    checked_userinfo = None if userinfo_url is None else check_url(f"{key}.userInfoUrl", userinfo_url)
    api_paths = _api_paths(f"{key}.apiPaths", entry.get("apiPaths"), api_base_url, checked_userinfo)
    oidc_userinfo = pick("oidcUserInfoUrl", preset.oidc_userinfo_url if preset else userinfo_url)
    oidc_userinfo_url = None if oidc_userinfo is None else check_url(f"{key}.oidcUserInfoUrl", oidc_userinfo)
    allow = _allow(f"{key}.allow", entry.get("allow"), access_check, label)
    if allow.restricts and access_check == "github" and api_base_url is None:
        raise ConfigError(f"{key}.apiBaseUrl", "is needed to check allow: the GitHub API base, e.g. https://api.github.com")
    if allow.restricts and access_check == "oidc" and oidc_userinfo_url is None:
        raise ConfigError(f"{key}.oidcUserInfoUrl", "is needed to check allow: the OpenID Connect UserInfo endpoint")
    scopes = _scopes(f"{key}.scopes", entry.get("scopes"), preset.scopes if preset else ())
    issuer = pick("issuer", preset.issuer if preset else None)
    issuer = None if issuer is None else check_issuer(f"{key}.issuer", issuer)
    require_iss = _bool(f"{key}.requireIss", entry.get("requireIss"), preset.require_iss if preset else False)
    if require_iss and issuer is None:
        raise ConfigError(f"{key}.requireIss", "needs issuer: the exact iss value the provider sends")
    return Provider(
        name=name,
        label=label,
        client_id=client_id,
        authorize_url=check_url(f"{key}.authorizeUrl", pick("authorizeUrl", preset.authorize_url if preset else None)),
        token_url=check_url(f"{key}.tokenUrl", pick("tokenUrl", preset.token_url if preset else None)),
        token_auth=token_auth,
        revoke_url=None if revoke_url is None else check_url(f"{key}.revokeUrl", revoke_url, placeholders=("{client_id}",)),
        revoke_style=revoke_style,
        userinfo_url=None if userinfo_url is None else check_url(f"{key}.userInfoUrl", userinfo_url),
        scopes=scopes + tuple(s for s in access_policy_scopes(allow, access_check) if not scope_granted(s, scopes)),
        refresh=_bool(f"{key}.refresh", entry.get("refresh"), False),
        pkce=_bool(f"{key}.pkce", entry.get("pkce"), preset.pkce if preset else True),
        image_origins=tuple(check_origin(f"{key}.imageOrigins", o) for o in image_origins),
        api_base_url=api_base_url,
        access_check=access_check,
        oidc_userinfo_url=oidc_userinfo_url,
        allow=allow,
        issuer=issuer,
        require_iss=require_iss,
        api_paths=api_paths,
    )


# -- Sign-in access policy ----------------------------------------------------

_GITHUB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}")
"""A GitHub login or organisation name (up to 39 characters)."""
_TEAM_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}")
_EMAIL_LOCAL = re.compile(r"[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}")
_ALLOW_KEYS = {"github": ("users", "orgs", "teams", "emails", "emailDomains"), "oidc": ("emails", "emailDomains")}
_IMPLIED_SCOPES = {"read:org": ("read:org", "write:org", "admin:org"), "user:email": ("user:email", "user")}


def scope_granted(scope: str, scopes: tuple[str, ...]) -> bool:
    return any(s in scopes for s in _IMPLIED_SCOPES.get(scope, (scope,)))


def access_policy_scopes(allow: AllowList, access_check: str) -> tuple[str, ...]:
    """The scopes the function needs to check ``allow``: the settings add them to the authorize request."""
    if access_check == "github":
        needed = []
        if allow.orgs or allow.teams:
            needed.append("read:org")
        if allow.emails or allow.email_domains:
            needed.append("user:email")
        return tuple(needed)
    return ("openid", "email") if allow.emails or allow.email_domains else ()


def _allow(key: str, value: Any, access_check: str, label: str) -> AllowList:
    if value is None:
        return AllowList()
    if not isinstance(value, Mapping):
        raise ConfigError(key, "must be an object like {orgs: [my-org]}")
    if not value:
        raise ConfigError(key, "is empty, which would let anyone sign in; list who may, e.g. {orgs: [my-org]}, or remove it")
    known = _ALLOW_KEYS[access_check]
    for name in value:
        if name in known:
            continue
        if name in _ALLOW_KEYS["github"]:
            raise ConfigError(f"{key}.{name}", f"is checked with GitHub's API only; {label} can be restricted by {' or '.join(known)}")
        raise ConfigError(f"{key}.{name}", f"unknown setting; known: {', '.join(known)}")
    return AllowList(
        users=_allow_list(f"{key}.users", value.get("users"), _github_name, "GitHub logins like octocat"),
        orgs=_allow_list(f"{key}.orgs", value.get("orgs"), _github_name, "GitHub organisation names like my-org"),
        teams=_allow_list(f"{key}.teams", value.get("teams"), _team, "teams like my-org/my-team (org/team-slug)"),
        emails=_allow_list(f"{key}.emails", value.get("emails"), _email, "email addresses like ada@example.com"),
        email_domains=_allow_list(
            f"{key}.emailDomains", value.get("emailDomains"), _domain, "email domains like example.com (no @)"
        ),
    )


def _allow_list(key: str, value: Any, normalise: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ConfigError(key, f"must be a list of {what}, e.g. set with pulumi config set --path '{key}[0]' <value>")
    items = []
    for index, item in enumerate(value):
        if isinstance(item, int) and not isinstance(item, bool):
            item = str(item)  # a numeric org name, parsed as a number by YAML
        normalised = normalise(item.strip()) if isinstance(item, str) else None
        if normalised is None:
            raise ConfigError(f"{key}[{index}]", f"{item!r} is not one of {what}")
        items.append(normalised)
    return tuple(dict.fromkeys(items))


def _github_name(value: str) -> str | None:
    return value.lower() if _GITHUB_NAME.fullmatch(value) else None


def _team(value: str) -> str | None:
    org, slash, slug = value.partition("/")
    if not slash or not _GITHUB_NAME.fullmatch(org) or not _TEAM_SLUG.fullmatch(slug):
        return None
    return f"{org}/{slug}".lower()


def _domain(value: str) -> str | None:
    domain = value.lower()
    return domain if _DOMAIN.fullmatch(domain) else None


def _email(value: str) -> str | None:
    local, at, domain = value.lower().rpartition("@")
    if not at or len(value) > 254 or not _EMAIL_LOCAL.fullmatch(local) or _domain(domain) is None:
        return None
    return f"{local}@{domain}"


@dataclass(frozen=True)
class ApiPath:
    """One entry of a provider's ``apiPaths``: methods and a path prefix under ``apiBaseUrl``."""

    methods: tuple[str, ...]
    prefix: str
    """Matches itself and what lies below it by whole segments: ``/user`` matches ``/user`` and ``/user/repos``, never ``/users``."""

    def text(self) -> str:
        return f"{','.join(self.methods)} {self.prefix}"


@dataclass(frozen=True)
class SessionSettings:
    """``oauth-exchange:session``: how long a cookie session lives, and whether the SPA may see the access token."""

    idle_minutes: int = DEFAULT_IDLE_MINUTES
    max_hours: int = DEFAULT_MAX_HOURS
    expose_access_token: bool = False
    edge_secret_version: int = 1
    """Bump to rotate the edge header's secret; the previous value stays accepted until the next bump."""


def _api_base_url(key: str, value: Any) -> str:
    url = check_url(key, value)
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise ConfigError(key, f"{url!r} must be a base URL without a query or fragment, e.g. https://api.github.com")
    return url.rstrip("/")


def _api_paths(key: str, value: Any, api_base_url: str | None, userinfo_url: str | None) -> tuple[ApiPath, ...]:
    """The proxy allow-list; by default only the user-info path, when it lies under ``apiBaseUrl``."""
    if value is None:
        if api_base_url is None or userinfo_url is None or not userinfo_url.startswith(api_base_url + "/"):
            return ()
        return (ApiPath(("GET",), urlsplit(userinfo_url).path[len(urlsplit(api_base_url).path) :]),)
    if api_base_url is None:
        raise ConfigError(key, "needs apiBaseUrl: the allowed paths are relative to it")
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ConfigError(key, 'must be a list like ["GET /user", "GET,POST /repos/"]')
    return tuple(_api_path(f"{key}[{index}]", item) for index, item in enumerate(value))


def _api_path(key: str, value: Any) -> ApiPath:
    rule = 'must be "<METHOD>[,<METHOD>...] <path prefix>", e.g. "GET /user" or "GET,POST /repos/"'
    if not isinstance(value, str) or len(value.split()) != 2:
        raise ConfigError(key, rule)
    methods_text, prefix = value.split()
    methods = tuple(dict.fromkeys(m.strip().upper() for m in methods_text.split(",")))
    unknown = [m for m in methods if m not in API_METHODS]
    if not methods or unknown:
        raise ConfigError(key, f"methods must be among {', '.join(API_METHODS)}")
    if not _API_PATH_PREFIX.fullmatch(prefix) or any(part in (".", "..") for part in prefix.split("/")):
        raise ConfigError(key, f"{prefix!r} is not a plain path prefix starting with / (no ., .., // or %-escapes)")
    return ApiPath(methods, prefix)


def _session(value: Any) -> SessionSettings | None:
    """``session``: absent or false is browser mode; true or an object turns session mode on."""
    if value is None or value is False or (isinstance(value, str) and value.lower() in ("", "false")):
        return None
    if value is True or (isinstance(value, str) and value.lower() == "true"):
        return SessionSettings()
    value = settings_object(
        "session",
        value,
        sorted(_SESSION_KEYS),
        must="true, false or an object like {idleMinutes: 480, maxHours: 720}",
        empty="for session mode with the defaults set it to true",
    )
    max_hours = _number("session.maxHours", value.get("maxHours"), DEFAULT_MAX_HOURS, 1, MAX_SESSION_HOURS)
    idle = _number("session.idleMinutes", value.get("idleMinutes"), min(DEFAULT_IDLE_MINUTES, max_hours * 60), 5, max_hours * 60)
    return SessionSettings(
        idle_minutes=idle,
        max_hours=max_hours,
        expose_access_token=_bool("session.exposeAccessToken", value.get("exposeAccessToken"), False),
        edge_secret_version=_number("session.edgeSecretVersion", value.get("edgeSecretVersion"), 1, 1, 1_000_000),
    )


def _fits_origin_timeout(timeout_seconds: float, session: SessionSettings) -> None:
    """Session mode: CloudFront must outwait the function, and it waits at most ``MAX_ORIGIN_READ_TIMEOUT``."""
    needed = Settings(providers=(), timeout_seconds=timeout_seconds, session=session).api_origin_read_timeout_seconds
    if needed > MAX_ORIGIN_READ_TIMEOUT:
        largest = max(
            t for t in range(1, 31)
            if Settings(providers=(), timeout_seconds=t, session=session).api_origin_read_timeout_seconds <= MAX_ORIGIN_READ_TIMEOUT
        )
        raise ConfigError(
            "timeoutSeconds",
            f"in session mode must be at most {largest}: the function's worst case ({needed} s with a cold start) "
            f"must stay below CloudFront's {MAX_ORIGIN_READ_TIMEOUT} s origin response timeout",
        )


def _rate_limit(value: Any, session: SessionSettings | None) -> int | None:
    if value is None or value == "":
        return None
    low, high = RATE_LIMIT_RANGE
    limit = _number("rateLimit", value, 0, low, high)
    if session is None:
        raise ConfigError("rateLimit", "limits /api/* at the edge, which exists only in session mode; set session too")
    return limit


def _cms_settings(value: Any, providers: tuple[Provider, ...]) -> CmsSettings | None:
    """``oauth-exchange:cms``, e.g. ``{origins: [https://www.example.com], providers: {github: {scopes: [repo, user]}}}``."""
    if value is None:
        return None
    value = settings_object(
        "cms",
        value,
        sorted(_CMS_KEYS),
        must="an object like {origins: [https://www.example.com]}",
        empty="name the CMS admin pages' origins, e.g. {origins: [https://www.example.com]}, or remove the key",
    )
    include_site = _bool("cms.includeSiteOrigin", value.get("includeSiteOrigin"), False)
    raw_origins = value.get("origins") or []
    if isinstance(raw_origins, str) or not isinstance(raw_origins, list | tuple):
        raise ConfigError("cms.origins", "must be a list of the CMS admin pages' origins, like [https://www.example.com]")
    origins = tuple(dict.fromkeys(check_origin(f"cms.origins[{i}]", o) for i, o in enumerate(raw_origins)))
    if not origins and not include_site:
        raise ConfigError("cms.origins", "name the origin of each CMS admin page (or set includeSiteOrigin: true)")
    configured = {p.name for p in providers}
    raw = value.get("providers")
    if raw is None:
        raw = {p.name: {} for p in providers if p.name in CMS_DEFAULT_SCOPES}
        if not raw:
            raise ConfigError("cms.providers", "no configured provider has CMS defaults; list them with their scopes")
    elif isinstance(raw, list | tuple):
        if not all(isinstance(name, str) for name in raw):
            raise ConfigError("cms.providers", "must list provider names, or map them to {scopes: [...]}")
        raw = {name: {} for name in raw}
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError("cms.providers", "must list provider names, or map them to {scopes: [...]}")
    cms_providers = []
    for name, entry in raw.items():
        key = f"cms.providers.{name}"
        if name not in configured:
            raise ConfigError(key, f"there is no provider named {name!r} in providers")
        entry = {} if entry is None else entry
        if not isinstance(entry, Mapping) or set(entry) - {"scopes"}:
            raise ConfigError(key, "must be {scopes: [...]} (or nothing, for the defaults)")
        scopes = entry.get("scopes")
        if scopes is None:
            scopes = CMS_DEFAULT_SCOPES.get(name)
            if scopes is None:
                raise ConfigError(f"{key}.scopes", "is required: the scopes the CMS may ask this provider for")
        items = scopes.replace(",", " ").split() if isinstance(scopes, str) else scopes
        if not isinstance(items, list | tuple) or not items or not all(isinstance(s, str) and _CMS_SCOPE.fullmatch(s) for s in items):
            raise ConfigError(f"{key}.scopes", "must be a non-empty list of scope names (no spaces, commas or quotes)")
        cms_providers.append(CmsProvider(name=name, scopes=tuple(dict.fromkeys(items))))
    return CmsSettings(
        origins=origins,
        providers=tuple(cms_providers),
        include_site_origin=include_site,
        signing_key_version=_number("cms.signingKeyVersion", value.get("signingKeyVersion"), 1, 1, 1_000_000),
    )


def load_settings(values: Mapping[str, Any], secret_names: Collection[str]) -> Settings:
    """Validate the stack's (non-secret) config values and the names of its client secrets.

    ``values`` maps config keys without the namespace (``providers``,
    ``extraOrigins``, ...) to their parsed values; missing keys take defaults.
    Only the names of the secrets are needed here, so their values never pass
    through plain code.
    """
    raw_providers = values.get("providers")
    if not isinstance(raw_providers, Mapping) or not raw_providers:
        raise ConfigError("providers", "configure at least one provider, e.g. providers: {github: {clientId: ...}}")
    providers = tuple(_provider(name, entry) for name, entry in raw_providers.items())
    for provider in providers:
        if provider.name not in secret_names:
            raise ConfigError(
                f"clientSecrets.{provider.name}",
                f"no client secret for provider {provider.name!r}; set it with "
                f"pulumi config set --secret --path 'clientSecrets.{provider.name}' <secret>",
            )
    for name in secret_names:
        if name not in raw_providers:
            raise ConfigError(f"clientSecrets.{name}", f"there is no provider named {name!r} in providers")

    raw_extra = values.get("extraOrigins") or []
    if isinstance(raw_extra, str) or not isinstance(raw_extra, list | tuple):
        raise ConfigError("extraOrigins", "must be a list of origins like [http://localhost:8000]")
    extra = tuple(dict.fromkeys(check_origin(f"extraOrigins[{i}]", o) for i, o in enumerate(raw_extra)))

    callback_path = values.get("callbackPath") or "/callback"
    if not isinstance(callback_path, str) or not re.fullmatch(r"(/[A-Za-z0-9._~-]+)+", callback_path):
        raise ConfigError("callbackPath", "must be a path prefix like /callback (each provider gets /callback/<name>)")

    reserved = values.get("reservedConcurrency")
    price_class = values.get("priceClass") or "PriceClass_100"
    if price_class not in ("PriceClass_100", "PriceClass_200", "PriceClass_All"):
        raise ConfigError("priceClass", "must be PriceClass_100, PriceClass_200 or PriceClass_All")
    retention = _number("logRetentionDays", values.get("logRetentionDays"), 30, 1, 3653)
    allowed_retention = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
    if retention not in allowed_retention:
        raise ConfigError("logRetentionDays", f"CloudWatch accepts only {', '.join(map(str, allowed_retention))}")
    session = _session(values.get("session"))
    timeout_seconds = _number("timeoutSeconds", values.get("timeoutSeconds"), 5.0, 1, 30, integer=False)
    if session is not None:
        _fits_origin_timeout(timeout_seconds, session)
    return Settings(
        providers=providers,
        extra_origins=extra,
        callback_path=callback_path,
        timeout_seconds=timeout_seconds,
        secret_cache_seconds=_number("secretCacheSeconds", values.get("secretCacheSeconds"), 300, 0, 3600),
        memory_size=_number("memorySize", values.get("memorySize"), 256, 128, 10240),
        reserved_concurrency=None if reserved is None else _number("reservedConcurrency", reserved, 0, 1, 1000),
        log_retention_days=retention,
        price_class=price_class,
        cms=_cms_settings(values.get("cms"), providers),
        session=session,
        rate_limit=_rate_limit(values.get("rateLimit"), session),
        hsts_include_subdomains=_bool(HSTS_KEY, values.get(HSTS_KEY), False),
    )
