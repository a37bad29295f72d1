"""CMS popup mode: Decap, Sveltia and Static CMS sign in through ``GET /auth`` and ``GET /callback/<provider>``.

The CMS opens a popup at ``/auth?provider=github&site_id=<its host>&scope=repo``.
``/auth`` works out which allowed CMS origin asked (``site_id``, confirmed by
the ``Referer`` when the browser sends one), and redirects to the provider
with a fresh ``state`` and a PKCE challenge. State, provider and that origin
travel in a signed, HttpOnly cookie that lives ten minutes; the PKCE verifier
is not in it at all: it is derived from the state with the signing key, so it
never leaves the function.

``/callback/<provider>`` checks the cookie, the provider in the path and the
state (once only), redeems the code through ``grants`` (so the access policy
applies), clears the cookie, and answers a page that hands the token to the
bound origin and nowhere else (``cms_page``). Every failure after the origin
is known is posted to it as ``authorization:<provider>:error:{...}`` and shown
on the page; before that (an unknown site, a missing or forged cookie) the
page only explains, since there is no origin it could trust.

The redirect URI is ``<function origin>/callback/<provider>``. The function
URL does not exist yet when the function's configuration is written, so on
AWS its origin comes from ``requestContext.domainName``: Lambda sets it to the
function URL's domain, the client cannot, and it must look like a function URL
of this region. A stack that knows its origin in advance (the local stack)
configures it as ``callback_origin``.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import os
import re
import secrets
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import grants
from client_secrets import SecretUnavailable
from cms_page import Handshake, error_message, headers, new_nonce, render, success_message
from container import Invocation
from exchange_errors import ExchangeError
from oauth_config import PROVIDER_NAME, CmsProvider, CmsSettings, ProviderSettings
from signed_cookie import CookieRejected, KeysUnusable, SigningKeys, clear_cookie, derive, seal, set_cookie, unseal
from web import MAX_VALUE_CHARS, ExchangeResponse

AUTH_PATH = "/auth"
CALLBACK_PREFIX = "/callback/"
COOKIE = "__Host-oauth-exchange-cms"
SIGNING_KEYS = "_cms_signing_keys"
"""The entry of the secrets document holding the signing keys, current first (never a provider name)."""
COOKIE_PURPOSE = "cms sign-in"
VERIFIER_PURPOSE = "cms pkce verifier"
LOCALHOST_SITE_IDS = frozenset({"demo.decapcms.org", "cms.netlify.com"})
"""What Decap (the first) and Sveltia and Static CMS (the second) send as ``site_id`` from ``localhost``."""
FUNCTION_URL_DOMAIN = re.compile(r"[a-z0-9]{1,63}\.lambda-url\.([a-z0-9-]{1,32})\.on\.aws")
MAX_SITE_ID_CHARS = 300
MAX_PROVIDER_TEXT_CHARS = 300
KEY_REREAD_INTERVAL_SECONDS = 30.0
USED_STATES_LIMIT = 10000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def serves(path: str) -> bool:
    return path == AUTH_PATH or path.startswith(CALLBACK_PREFIX)


def route_name(path: str) -> str:
    return AUTH_PATH if path == AUTH_PATH else CALLBACK_PREFIX.rstrip("/")


def handle(invocation: Invocation) -> ExchangeResponse:
    cms = invocation.config.cms
    if cms is None:
        raise ExchangeError("not_found")
    if invocation.request.method != "GET":
        raise ExchangeError("method_not_allowed", "Only GET is allowed here.", headers={"Allow": "GET"})
    if invocation.request.path == AUTH_PATH:
        return _start(invocation, cms)
    return _finish(invocation, cms)


@dataclass
class _Failure(Exception):
    """A failed sign-in step: ``text`` is shown and posted, ``detail`` only logged; neither holds a secret."""

    error: str
    status: int
    text: str
    detail: str = ""

    @classmethod
    def of(cls, error: ExchangeError) -> _Failure:
        return cls(error.error, error.status, error.description, error.log_detail)


# -- GET /auth ---------------------------------------------------------------------


def _start(invocation: Invocation, cms: CmsSettings) -> ExchangeResponse:
    query = invocation.request.query
    try:
        origin = _requesting_origin(cms, query.get("site_id"), invocation.request.headers.get("referer"))
        name = _provider_name(query.get("provider"))
    except _Failure as failure:
        return _refused(invocation, failure)
    invocation.note.provider = name
    try:
        provider, cms_provider = _provider(invocation, cms, name)
        scopes = _scopes(cms_provider, query.get("scope"))
        scopes += [s for s in cms_provider.required_scopes if s not in scopes]
        keys = _signing_keys(invocation)[0]
        redirect_uri = _redirect_uri(cms, invocation, name)
    except _Failure as failure:
        return _failed(invocation, failure, origin, name)
    state = secrets.token_urlsafe(32)
    cookie = seal(
        {"state": state, "provider": name, "origin": origin},
        keys,
        purpose=COOKIE_PURPOSE,
        issued_at=time.time(),
        lifetime=cms.state_seconds,
    )
    parameters = {
        "client_id": provider.client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": " ".join(scopes),
        "state": state,
    }
    if provider.pkce:
        verifier = derive(keys.current, VERIFIER_PURPOSE, state)
        parameters["code_challenge"] = _s256(verifier)
        parameters["code_challenge_method"] = "S256"
    separator = "&" if urlsplit(cms_provider.authorize_url).query else "?"
    return ExchangeResponse(
        302,
        "",
        {
            "Location": cms_provider.authorize_url + separator + urlencode(parameters),
            "Content-Type": "text/plain; charset=utf-8",
            "Cache-Control": "no-store",
            "Pragma": "no-cache",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
        (set_cookie(COOKIE, cookie, cms.state_seconds),),
    )


def _requesting_origin(cms: CmsSettings, site_id: str | None, referer: str | None) -> str:
    """The allowed CMS origin that opened this popup, from ``site_id`` (a host, or a full origin) and the Referer.

    CMSs send their page's host without the port, so several allowed origins
    may share it; a Referer (the CMS page's origin, under browsers' default
    referrer policy) then tells them apart, and when present it must agree.
    """
    if not site_id:
        raise _Failure("invalid_request", 400, "The CMS did not say which site it is: site_id is missing.")
    site = site_id.strip().lower()
    if len(site) > MAX_SITE_ID_CHARS:
        raise _Failure("invalid_request", 400, "site_id is too long.")
    if "://" in site:
        candidates = [site] if site in cms.origins else []
    else:
        candidates = [origin for origin in cms.origins if urlsplit(origin).hostname == site]
        if not candidates and site in LOCALHOST_SITE_IDS:
            candidates = [origin for origin in cms.origins if urlsplit(origin).hostname == "localhost"]
    if not candidates:
        raise _Failure(
            "origin_not_allowed",
            403,
            f"This sign-in service does not serve the CMS site {site[:100]}: it is not one of the stack's cms.origins.",
            "site_id matches no cms origin",
        )
    opener = _origin_of(referer)
    if opener is not None:
        if opener in candidates:
            return opener
        raise _Failure(
            "origin_not_allowed",
            403,
            f"The page that opened this window ({opener[:100]}) is not the CMS site {site[:100]} "
            "among the stack's cms.origins.",
            "referer origin is not the site_id's cms origin",
        )
    if len(candidates) == 1:
        return candidates[0]
    raise _Failure(
        "invalid_request",
        400,
        f"Several allowed CMS origins have the host {site[:100]} and the browser did not say which page opened "
        "this window. Set site_domain in the CMS's config.yml backend to the admin page's full origin.",
        "site_id is ambiguous without a referer",
    )


def _origin_of(url: str | None) -> str | None:
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _provider_name(value: str | None) -> str:
    if not value or not PROVIDER_NAME.fullmatch(value):
        raise _Failure("invalid_request", 400, "provider is required: 1-32 characters of a-z, 0-9 and -.")
    return value


def _provider(invocation: Invocation, cms: CmsSettings, name: str) -> tuple[ProviderSettings, CmsProvider]:
    provider, cms_provider = invocation.config.providers.get(name), cms.providers.get(name)
    if provider is None or cms_provider is None:
        raise _Failure("invalid_request", 400, f"Signing in to the CMS with {name} is not enabled here.")
    return provider, cms_provider


def _scopes(provider: CmsProvider, requested: str | None) -> list[str]:
    """The scopes to ask for: the CMS's, when every one is allowed; the allowed ones when it names none."""
    if not requested or not requested.strip(" ,"):
        return list(provider.scopes)
    scopes = list(dict.fromkeys(s for s in re.split(r"[ ,]+", requested) if s))
    refused = [s for s in scopes if s not in provider.scopes]
    if refused:
        raise _Failure(
            "invalid_request",
            400,
            f"The CMS asked for the scope {refused[0][:64]}, which this sign-in service does not grant "
            f"(allowed: {', '.join(provider.scopes)}).",
            "scope not allowed",
        )
    return scopes


def _redirect_uri(cms: CmsSettings, invocation: Invocation, name: str) -> str:
    origin = cms.callback_origin
    if origin is None:
        domain = invocation.request.domain_name.lower()
        match = FUNCTION_URL_DOMAIN.fullmatch(domain)
        region = os.environ.get("AWS_REGION")
        if match is None or (region and match.group(1) != region):
            raise _Failure.of(ExchangeError("server_error", log_detail="cms: the request domain is not a function URL"))
        origin = f"https://{domain}"
    return f"{origin}{CALLBACK_PREFIX}{name}"


# -- GET /callback/<provider> ---------------------------------------------------


def _finish(invocation: Invocation, cms: CmsSettings) -> ExchangeResponse:
    name = invocation.request.path[len(CALLBACK_PREFIX) :]
    cleared = (clear_cookie(COOKIE),)
    if name not in cms.providers or name not in invocation.config.providers:
        failure = _Failure("not_found", 404, "There is no CMS sign-in for this provider here.")
        return _refused(invocation, failure, cleared)
    invocation.note.provider = name
    try:
        claims, key = _open_cookie(invocation, cms)
    except _Failure as failure:
        return _refused(invocation, failure, cleared)
    except _ExpiredBinding as expired:
        return _failed(invocation, expired.failure, expired.origin, expired.provider, cleared)
    origin, bound = claims["origin"], claims["provider"]
    try:
        token = _redeem(invocation, cms, name, claims, key)
    except _Failure as failure:
        return _failed(invocation, failure, origin, bound, cleared)
    nonce = new_nonce()
    handshake = Handshake(origin, bound, success_message(bound, token), success=True)
    body = render(nonce=nonce, title="Signing in to the CMS", status="Handing the sign-in to the CMS…", handshake=handshake)
    return ExchangeResponse(200, body, headers(nonce, script=True), cleared)


@dataclass
class _ExpiredBinding(Exception):
    """An authentic cookie that has expired: its origin can still be told why the sign-in failed."""

    failure: _Failure
    origin: str
    provider: str


def _open_cookie(invocation: Invocation, cms: CmsSettings) -> tuple[dict[str, str], bytes]:
    value = invocation.request.cookies.get(COOKIE)
    if not value:
        raise _Failure(
            "invalid_request",
            400,
            "No sign-in is in progress in this browser: its sign-in cookie is missing. Cookies may be blocked "
            "for this site, or the sign-in was started in another browser. Close this window and sign in again.",
            "cms cookie missing",
        )
    keys, generation = _signing_keys(invocation)
    try:
        claims, key = _unseal(invocation, value, keys, generation)
    except CookieRejected as rejected:
        claims = _binding(rejected.claims, cms)
        if rejected.reason == "expired" and claims is not None:
            minutes = cms.state_seconds // 60
            failure = _Failure(
                "invalid_request",
                400,
                f"The sign-in took longer than {minutes} minutes. Close this window and sign in again.",
                "cms cookie expired",
            )
            raise _ExpiredBinding(failure, claims["origin"], claims["provider"]) from None
        raise _Failure(
            "invalid_request",
            400,
            "This browser's sign-in cookie is not valid. Close this window and sign in again.",
            f"cms cookie rejected ({rejected.reason})",
        ) from None
    binding = _binding(claims, cms)
    if binding is None:
        raise _Failure("invalid_request", 400, "This sign-in is no longer allowed. Sign in again.", "cms binding stale")
    return binding, key


def _binding(claims: object, cms: CmsSettings) -> dict[str, str] | None:
    """The cookie's state, provider and origin, when well-formed and the origin is still allowed."""
    if not isinstance(claims, dict):
        return None
    binding = {name: claims.get(name) for name in ("state", "provider", "origin")}
    if not all(isinstance(value, str) and value for value in binding.values()):
        return None
    if binding["origin"] not in cms.origins or binding["provider"] not in cms.providers:
        return None
    return binding  # type: ignore[return-value]


def _redeem(invocation: Invocation, cms: CmsSettings, name: str, claims: dict[str, str], key: bytes) -> str:
    """The access token for the code in this callback, after every check that binds it to this browser."""
    query = invocation.request.query
    bound = claims["provider"]
    if bound != name:
        raise _Failure(
            "invalid_request",
            400,
            f"This sign-in was started with {bound} but came back from {name}. Sign in again.",
            "cms callback provider differs from the cookie's",
        )
    state = query.get("state", "")
    if not state or not hmac.compare_digest(state.encode(), claims["state"].encode()):
        raise _Failure(
            "invalid_request",
            400,
            "The sign-in answer does not belong to the sign-in this browser started (state mismatch). "
            "Close this window and sign in again.",
            "cms state mismatch",
        )
    if not _USED_STATES.first_use(state):
        raise _Failure(
            "invalid_request",
            400,
            "This sign-in answer was already used. Close this window and sign in again.",
            "cms state replayed",
        )
    error = query.get("error")
    if error:
        raise _provider_refusal(name, error, query.get("error_description"))
    code = query.get("code")
    if not code or len(code) > MAX_VALUE_CHARS:
        raise _Failure("invalid_request", 400, "The provider sent no usable authorization code.", "cms code missing")
    provider = invocation.config.providers[name]
    redirect_uri = _redirect_uri(cms, invocation, name)
    provider = dataclasses.replace(provider, redirect_uris=frozenset({redirect_uri}))
    verifier = derive(key, VERIFIER_PURPOSE, state) if provider.pkce else None
    try:
        form = grants.authorization_code_form(provider, code, redirect_uri, verifier)
        tokens = grants.redeem_code(invocation.provider_call(provider), form).tokens
    except ExchangeError as exc:
        raise _Failure.of(exc) from None
    return tokens["access_token"]


def _provider_refusal(name: str, error: str, description: str | None) -> _Failure:
    said = _provider_text(error)
    if description:
        said += ": " + _provider_text(description)
    if error == "access_denied":
        return _Failure("access_denied", 403, f"The sign-in was not authorized at {name}. ({said})", "provider said access_denied")
    return _Failure("provider_error", 502, f"{name} refused the sign-in. ({said})", "provider answered with an error")


def _provider_text(text: str) -> str:
    """A provider's words, made one bounded line; pages escape them, CMSs show them as text."""
    return _CONTROL.sub(" ", text).strip()[:MAX_PROVIDER_TEXT_CHARS]


# -- signing keys and single use ------------------------------------------------------


def _signing_keys(invocation: Invocation) -> tuple[SigningKeys, int]:
    try:
        text, generation = invocation.secrets.get(SIGNING_KEYS)
        return SigningKeys.parse(text), generation
    except (SecretUnavailable, KeysUnusable) as exc:  # their messages name no key material
        raise _Failure.of(ExchangeError("secret_unavailable", log_detail=f"cms signing keys: {exc}")) from None


def _unseal(invocation: Invocation, value: str, keys: SigningKeys, generation: int) -> tuple[dict, bytes]:
    """Open the cookie; a key this container does not know yet means a rotation: read the secret again (rarely)."""
    now = time.time()
    try:
        return unseal(value, keys, purpose=COOKIE_PURPOSE, now=now)
    except CookieRejected as rejected:
        if rejected.reason != "unknown_key" or not _reread_allowed(invocation):
            raise
    try:
        text, _ = invocation.secrets.reread(SIGNING_KEYS, generation)
        fresh = SigningKeys.parse(text)
    except (SecretUnavailable, KeysUnusable) as exc:
        raise _Failure.of(ExchangeError("secret_unavailable", log_detail=f"cms signing keys: {exc}")) from None
    return unseal(value, fresh, purpose=COOKIE_PURPOSE, now=now)


_rereads: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_rereads_lock = threading.Lock()


def _reread_allowed(invocation: Invocation) -> bool:
    """At most one re-read per container every KEY_REREAD_INTERVAL_SECONDS: forged key ids cannot hammer the store."""
    now = time.monotonic()
    with _rereads_lock:
        last = _rereads.get(invocation.secrets)
        if last is not None and now - last < KEY_REREAD_INTERVAL_SECONDS:
            return False
        _rereads[invocation.secrets] = now
        return True


class _UsedStates:
    """States already redeemed in this container, kept as long as their cookie could live.

    The browser's cookie is cleared by the first callback and the provider
    burns the code, so a replay elsewhere carries a dead code; this refuses a
    replay that reaches the same container before the provider is even asked.
    """

    def __init__(self, lifetime: float, limit: int) -> None:
        self._lifetime = lifetime
        self._limit = limit
        self._seen: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_use(self, state: str) -> bool:
        digest = hashlib.sha256(state.encode()).digest()
        now = time.monotonic()
        with self._lock:
            while self._seen and (next(iter(self._seen.values())) <= now or len(self._seen) >= self._limit):
                self._seen.popitem(last=False)
            if digest in self._seen:
                return False
            self._seen[digest] = now + self._lifetime
            return True


_USED_STATES = _UsedStates(3600.0, USED_STATES_LIMIT)
"""Kept for the longest cookie lifetime the configuration allows."""


# -- pages ----------------------------------------------------------------------------


def _refused(invocation: Invocation, failure: _Failure, cookies: tuple[str, ...] = ()) -> ExchangeResponse:
    """A failure with no trusted origin to tell: the page explains, nothing is posted."""
    _note(invocation, failure)
    nonce = new_nonce()
    body = render(nonce=nonce, title="Sign-in failed", status=failure.text)
    return ExchangeResponse(failure.status, body, headers(nonce, script=False), cookies)


def _failed(
    invocation: Invocation, failure: _Failure, origin: str, provider: str, cookies: tuple[str, ...] = ()
) -> ExchangeResponse:
    """A failure the CMS at ``origin`` is told about, and the page shows."""
    _note(invocation, failure)
    nonce = new_nonce()
    handshake = Handshake(origin, provider, error_message(provider, failure.error, failure.text), success=False)
    body = render(nonce=nonce, title="Sign-in failed", status=failure.text, handshake=handshake)
    return ExchangeResponse(failure.status, body, headers(nonce, script=True), cookies)


def _note(invocation: Invocation, failure: _Failure) -> None:
    invocation.note.outcome = failure.error
    invocation.note.detail = failure.detail


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")
