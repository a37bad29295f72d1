"""CMS popup mode: GET /auth and GET /callback/<provider>, against a fake GitHub speaking its real protocol.

A sign-in here is what the browser does, minus the browser: ``/auth`` is
called as the CMS's popup would, the consent page's decision is taken with
the fake's ``authorize`` (as the Authorize button would), and the callback is
called with the cookie ``/auth`` set. The page's handshake script runs in the
browser tests; here the page's data and headers are checked.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

import client_secrets
import cms
import grants
from cms_page import NO_ANSWER, NO_OPENER
from exchange_errors import ExchangeError
from local.fake_provider import FakeProvider
from signed_cookie import SigningKeys, derive, seal
from tests.function.conftest import SPEC_HEADERS, Reply

FUNCTION_DOMAIN = "abc123.lambda-url.us-east-1.on.aws"
FUNCTION_ORIGIN = f"https://{FUNCTION_DOMAIN}"
CALLBACK = f"{FUNCTION_ORIGIN}/callback/github"
CMS_ORIGIN = "https://cms.example.com"
OTHER_CMS_ORIGIN = "https://editor.example.org"
ADMIN_PAGE = CMS_ORIGIN + "/admin/"
COOKIE = "__Host-oauth-exchange-cms"
HANDSHAKE = re.compile(r'<script type="application/json" id="handshake" nonce="([^"]+)">(.*?)</script>', re.S)


@dataclass
class Flow:
    """One sign-in as the CMS popup would run it."""

    location: str = ""
    cookie: str = ""
    state: str = ""
    code: str = ""


@dataclass
class CmsHarness:
    invoke: Callable[..., Reply]
    sensitive: Any
    providers: Mapping[str, FakeProvider]
    keys: list[str]
    flows: list[Flow] = field(default_factory=list)

    @property
    def github(self) -> FakeProvider:
        return self.providers["github"]

    def auth(
        self,
        *,
        provider: str = "github",
        site_id: str | None = "cms.example.com",
        scope: str | None = "repo",
        referer: str | None = ADMIN_PAGE,
        **options: Any,
    ) -> Reply:
        query = {"provider": provider, "site_id": site_id, "scope": scope}
        headers = {"referer": referer} if referer else {}
        reply = self.invoke(
            "/auth",
            method="GET",
            content_type=None,
            origin=None,
            headers=headers,
            query=urlencode({k: v for k, v in query.items() if v is not None}),
            **options,
        )
        for cookie in reply.cookies:
            self.sensitive.add_unlogged(cookie.split(";", 1)[0].partition("=")[2])
        return reply

    def start(self, **options: Any) -> Flow:
        reply = self.auth(**options)
        assert reply.status == 302, reply.body
        flow = Flow(location=reply.headers["Location"], cookie=cookie_value(reply), state=query_of(reply.headers["Location"])["state"])
        self.flows.append(flow)
        return flow

    def consent(self, flow: Flow, provider: str = "github") -> Flow:
        """What pressing Authorize on the provider's consent page does: a code for that request."""
        params = query_of(flow.location)
        flow.code = self.providers[provider].authorize(
            params["redirect_uri"],
            scope=params.get("scope", ""),
            code_challenge=params.get("code_challenge"),
            code_challenge_method=params.get("code_challenge_method"),
        )
        self.sensitive.add(flow.code)
        return flow

    def callback(
        self,
        flow: Flow | None = None,
        *,
        provider: str = "github",
        query: Mapping[str, str] | None = None,
        cookie: str | None = None,
        **options: Any,
    ) -> Reply:
        values = dict(query) if query is not None else {"code": flow.code, "state": flow.state}
        value = cookie if cookie is not None else (flow.cookie if flow else None)
        return self.invoke(
            f"/callback/{provider}",
            method="GET",
            content_type=None,
            origin=None,
            query=urlencode(values),
            cookies=[f"{COOKIE}={value}"] if value else None,
            **options,
        )

    def sign_in(self, **options: Any) -> Reply:
        return self.callback(self.consent(self.start(**options)))

    def verifiers_sent(self, provider: str = "github") -> list[str]:
        sent = [seen.form().get("code_verifier", "") for seen in self.providers[provider].requests_to("/login/oauth/access_token")]
        self.sensitive.add(*[v for v in sent if v])
        return sent


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def cookie_value(reply: Reply) -> str:
    (cookie,) = [c for c in reply.cookies if c.startswith(COOKIE + "=")]
    return cookie.split(";", 1)[0].partition("=")[2]


def cookie_claims(value: str) -> dict[str, Any]:
    encoded = value.split(".")[2]
    return json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))


def handshake(reply: Reply) -> dict[str, Any]:
    match = HANDSHAKE.search(reply.body)
    assert match is not None, "the page has no handshake"
    assert "<" not in match.group(2) and ">" not in match.group(2)
    data = json.loads(match.group(2))
    kind, _, rest = data["message"].partition(":")
    provider, _, rest = rest.partition(":")
    outcome, _, payload = rest.partition(":")
    assert (kind, provider) == ("authorization", data["provider"])
    return {**data, "outcome": outcome, "payload": json.loads(payload), "nonce": match.group(1)}


def page_text(reply: Reply) -> str:
    """What the page shows, tags and the handshake data removed."""
    without_scripts = re.sub(r"<script.*?</script>", "", reply.body, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", without_scripts))


def signing_keys(*keys: str) -> str:
    return " ".join(keys)


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def seal_binding(keys: str, state: str, *, origin: str = CMS_ORIGIN, provider: str = "github") -> str:
    """A cookie as /auth would set it, signed with ``keys`` (the first one signs)."""
    claims = {"state": state, "provider": provider, "origin": origin}
    return seal(claims, SigningKeys.parse(keys), purpose=cms.COOKIE_PURPOSE, issued_at=time.time(), lifetime=600)


def new_key() -> str:
    return secrets.token_urlsafe(48)


@pytest.fixture
def keys(sensitive) -> list[str]:
    values = [new_key(), new_key()]
    sensitive.add(*values)
    return values


@pytest.fixture
def cms_deploy(fake_provider, deploy, invoke, sensitive, keys) -> Callable[..., CmsHarness]:
    """Deploy the function with CMS mode on; ``cms`` entries override the defaults."""

    def apply(
        *,
        names: tuple[str, ...] = ("github",),
        key_text: str | None = None,
        with_keys: bool = True,
        reuse: Mapping[str, FakeProvider] | None = None,
        secret_cache_seconds: float = 300,
        **cms_settings: Any,
    ) -> CmsHarness:
        providers = dict(reuse or {})
        for name in names:
            if name not in providers:
                providers[name] = fake_provider("github", redirect_uris=[f"{FUNCTION_ORIGIN}/callback/{name}"])
        config = {
            "origins": [CMS_ORIGIN, OTHER_CMS_ORIGIN],
            "providers": {
                name: {"authorize_url": provider.urls["authorize"], "scopes": ["repo", "user"]}
                for name, provider in providers.items()
            },
            **cms_settings,
        }
        document = {name: provider.client_secret for name, provider in providers.items()}
        if with_keys:
            document[cms.SIGNING_KEYS] = signing_keys(*keys) if key_text is None else key_text
        deploy(providers, secrets=document, cms=config, secret_cache_seconds=secret_cache_seconds)
        return CmsHarness(invoke, sensitive, providers, keys)

    return apply


@pytest.fixture
def harness(cms_deploy) -> CmsHarness:
    return cms_deploy()


# -- GET /auth -----------------------------------------------------------------------


def test_auth_redirects_to_the_provider_with_fresh_state_pkce_and_the_function_callback(harness):
    reply = harness.auth(scope="repo,user")

    assert reply.status == 302
    location = reply.headers["Location"]
    assert location.startswith(harness.github.urls["authorize"] + "?")
    params = query_of(location)
    assert params["client_id"] == harness.github.client_id
    assert params["redirect_uri"] == CALLBACK
    assert params["response_type"] == "code"
    assert params["scope"] == "repo user"
    assert params["code_challenge_method"] == "S256"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", params["code_challenge"])
    assert len(params["state"]) >= 43
    assert reply.headers["Cache-Control"] == "no-store"
    assert reply.headers["Referrer-Policy"] == "no-referrer"
    assert harness.github.seen == []


def test_every_auth_gets_its_own_state_and_challenge(harness):
    first, second = query_of(harness.start().location), query_of(harness.start().location)

    assert first["state"] != second["state"]
    assert first["code_challenge"] != second["code_challenge"]


def test_auth_binds_the_sign_in_with_a_short_lived_httponly_secure_lax_host_cookie(harness):
    reply = harness.auth()

    (cookie,) = reply.cookies
    name_value, *attributes = [part.strip() for part in cookie.split(";")]
    assert name_value.startswith(COOKIE + "=")
    assert sorted(attributes) == sorted(["Max-Age=600", "Path=/", "Secure", "HttpOnly", "SameSite=Lax"])


def test_the_cookie_names_state_provider_and_origin_but_holds_no_verifier(harness):
    flow = harness.start()

    claims = cookie_claims(flow.cookie)
    assert set(claims) == {"state", "provider", "origin", "exp"}
    assert (claims["state"], claims["provider"], claims["origin"]) == (flow.state, "github", CMS_ORIGIN)
    harness.callback(harness.consent(flow))
    (verifier,) = harness.verifiers_sent()
    assert verifier not in flow.cookie
    assert verifier not in base64.urlsafe_b64decode(flow.cookie.split(".")[2] + "==").decode()


@pytest.mark.parametrize(
    ("site_id", "referer", "origin"),
    [
        ("cms.example.com", ADMIN_PAGE, CMS_ORIGIN),
        ("cms.example.com", None, CMS_ORIGIN),
        ("editor.example.org", OTHER_CMS_ORIGIN + "/", OTHER_CMS_ORIGIN),
        ("CMS.Example.com", None, CMS_ORIGIN),
        (CMS_ORIGIN, None, CMS_ORIGIN),
    ],
    ids=["host-and-referer", "host-only", "second-origin", "host-case", "full-origin"],
)
def test_the_cms_origin_comes_from_site_id_and_the_referer(harness, site_id, referer, origin):
    flow = harness.start(site_id=site_id, referer=referer)

    assert cookie_claims(flow.cookie)["origin"] == origin


@pytest.mark.parametrize("site_id", ["demo.decapcms.org", "cms.netlify.com"], ids=["decap", "sveltia-static"])
def test_localhost_placeholders_of_the_cmss_mean_a_localhost_origin(cms_deploy, site_id):
    harness = cms_deploy(origins=["http://localhost:8080"])

    flow = harness.start(site_id=site_id, referer="http://localhost:8080/admin/")

    assert cookie_claims(flow.cookie)["origin"] == "http://localhost:8080"


@pytest.mark.parametrize(
    ("site_id", "referer"),
    [
        ("evil.example", None),
        ("evil.example", "https://evil.example/admin/"),
        ("cms.example.com", "https://evil.example/"),
        ("cms.example.com.evil.example", None),
        ("example.com", None),
        ("https://cms.example.com:8443", None),
        ("http://cms.example.com", None),
        ("*", None),
        (None, ADMIN_PAGE),
        ("", ADMIN_PAGE),
    ],
)
def test_a_site_that_is_not_an_allowed_cms_origin_is_refused_without_posting_anything(harness, site_id, referer):
    reply = harness.auth(site_id=site_id, referer=referer)

    assert reply.status in (400, 403)
    assert reply.cookies == []
    assert "Location" not in reply.headers
    assert "<script" not in reply.body
    assert "script-src" not in reply.headers["Content-Security-Policy"]
    assert "Sign-in failed" in page_text(reply)


def test_origins_sharing_a_host_need_the_referer_to_tell_them_apart(cms_deploy):
    harness = cms_deploy(origins=["http://127.0.0.1:8001", "http://127.0.0.1:8002"])

    ambiguous = harness.auth(site_id="127.0.0.1", referer=None)
    told = harness.start(site_id="127.0.0.1", referer="http://127.0.0.1:8002/admin/")

    assert ambiguous.status == 400
    assert "site_domain" in page_text(ambiguous)
    assert cookie_claims(told.cookie)["origin"] == "http://127.0.0.1:8002"


def test_a_provider_not_enabled_for_the_cms_is_refused_and_told_to_the_cms(harness):
    reply = harness.auth(provider="gitlab")

    assert reply.status == 400
    assert reply.cookies == []
    data = handshake(reply)
    assert (data["origin"], data["provider"], data["outcome"]) == (CMS_ORIGIN, "gitlab", "error")
    assert data["payload"]["errorCode"] == "invalid_request"
    assert "not enabled" in data["payload"]["message"]


@pytest.mark.parametrize("provider", ["", "GitHub", "git hub", "x" * 40, "<script>"])
def test_a_malformed_provider_name_is_refused_without_posting(harness, provider):
    reply = harness.auth(provider=provider)

    assert reply.status == 400
    assert "<script" not in reply.body


@pytest.mark.parametrize("scope", ["admin:org", "repo,delete_repo", "repo user gist", "read:org"])
def test_a_scope_the_stack_does_not_allow_is_refused_and_told_to_the_cms(harness, scope):
    reply = harness.auth(scope=scope)

    assert reply.status == 400
    assert reply.cookies == []
    data = handshake(reply)
    assert data["outcome"] == "error"
    assert "allowed: repo, user" in data["payload"]["message"]


@pytest.fixture
def public_repos_only(fake_provider, cms_deploy) -> CmsHarness:
    """A stack that lets the CMS reach public repositories only."""
    github = fake_provider("github", redirect_uris=[CALLBACK])
    scopes = {"github": {"authorize_url": github.urls["authorize"], "scopes": ["public_repo", "user"]}}
    return cms_deploy(reuse={"github": github}, providers=scopes)


def test_repo_is_refused_when_only_public_repo_is_allowed(public_repos_only):
    reply = public_repos_only.auth(scope="repo")

    assert reply.status == 400
    assert reply.cookies == []
    data = handshake(reply)
    assert data["outcome"] == "error"
    assert "scope repo," in data["payload"]["message"]
    assert "allowed: public_repo, user" in data["payload"]["message"]


def test_public_repo_is_asked_for_when_it_is_allowed(public_repos_only):
    assert query_of(public_repos_only.start(scope="public_repo").location)["scope"] == "public_repo"


@pytest.mark.parametrize(("scope", "sent"), [("repo", "repo"), ("repo,user", "repo user"), ("user repo", "user repo"), (None, "repo user"), ("", "repo user")])
def test_allowed_scopes_are_asked_for_space_separated(harness, scope, sent):
    assert query_of(harness.start(scope=scope).location)["scope"] == sent


def test_the_redirect_uri_is_the_function_urls_own_callback(harness):
    reply = harness.auth(domain_name="zyx987.lambda-url.us-east-1.on.aws")

    assert query_of(reply.headers["Location"])["redirect_uri"] == "https://zyx987.lambda-url.us-east-1.on.aws/callback/github"


@pytest.mark.parametrize("domain", ["evil.example", "abc123.lambda-url.us-east-1.on.aws.evil.example", "", "ABC.lambda-url.eu-west-1.on.aws"])
def test_a_request_domain_that_is_not_this_regions_function_url_is_never_a_redirect_uri(harness, monkeypatch, domain):
    monkeypatch.setenv("AWS_REGION", "us-east-1")

    reply = harness.auth(domain_name=domain)

    assert reply.status == 500
    assert handshake(reply)["payload"]["errorCode"] == "server_error"
    assert reply.cookies == []


def test_a_configured_callback_origin_is_the_redirect_uris_origin(cms_deploy):
    harness = cms_deploy(callback_origin="http://127.0.0.1:9000")

    reply = harness.auth(domain_name="anything.example")

    assert query_of(reply.headers["Location"])["redirect_uri"] == "http://127.0.0.1:9000/callback/github"


def test_without_a_signing_key_auth_says_the_secret_is_unavailable(cms_deploy):
    harness = cms_deploy(with_keys=False)

    reply = harness.auth()

    assert reply.status == 503
    assert handshake(reply)["payload"]["errorCode"] == "secret_unavailable"


def test_a_signing_key_too_short_to_be_safe_is_refused(cms_deploy):
    harness = cms_deploy(key_text="short-key")

    assert harness.auth().status == 503


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS"])
@pytest.mark.parametrize("path", ["/auth", "/callback/github"])
def test_only_get_is_allowed(harness, invoke, method, path):
    reply = invoke(path, method=method, origin=None)

    assert (reply.status, reply.body["error"], reply.headers["Allow"]) == (405, "method_not_allowed", "GET")


# -- the whole sign-in --------------------------------------------------------------------


def test_a_sign_in_hands_the_token_to_the_bound_cms_origin_only(harness):
    reply = harness.sign_in()

    assert reply.status == 200
    data = handshake(reply)
    token = harness.github.issued_access_tokens[-1]
    assert data["origin"] == CMS_ORIGIN
    assert data["provider"] == "github"
    assert data["outcome"] == "success"
    assert data["payload"] == {"token": token, "provider": "github"}
    assert data["message"] == "authorization:github:success:" + json.dumps({"token": token, "provider": "github"})


def test_the_code_is_redeemed_with_the_callback_uri_and_the_verifier_of_the_challenge(harness):
    flow = harness.consent(harness.start())

    assert harness.callback(flow).status == 200
    (seen,) = harness.github.requests_to("/login/oauth/access_token")
    form = seen.form()
    harness.verifiers_sent()
    assert form["redirect_uri"] == CALLBACK
    assert form["code"] == flow.code
    assert s256(form["code_verifier"]) == query_of(flow.location)["code_challenge"]


def test_the_page_posts_to_the_origin_bound_at_auth_never_to_a_wildcard(cms_deploy):
    harness = cms_deploy()

    reply = harness.sign_in(site_id="editor.example.org", referer=OTHER_CMS_ORIGIN + "/admin/")

    data = handshake(reply)
    assert data["origin"] == OTHER_CMS_ORIGIN
    script = re.findall(r"<script nonce=\"[^\"]+\">(.*?)</script>", reply.body, re.S)[0]
    assert "postMessage(greeting, data.origin)" in script
    assert "postMessage(data.message, data.origin)" in script
    assert script.count("postMessage(") == 2
    assert '"*"' not in script and "'*'" not in script
    assert "event.origin !== data.origin" in script
    assert "event.source !== opener" in script


def test_the_callback_page_has_a_strict_nonce_policy_and_no_third_party_script(harness):
    reply = harness.sign_in()

    nonce = handshake(reply)["nonce"]
    policy = reply.headers["Content-Security-Policy"]
    assert policy == (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; img-src data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    assert reply.headers["Cache-Control"] == "no-store"
    assert reply.headers["X-Frame-Options"] == "DENY"
    assert reply.headers["Referrer-Policy"] == "no-referrer"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert "src=" not in reply.body
    assert "unsafe-inline" not in policy
    tags = re.findall(r"<(script|style)\b([^>]*)>", reply.body)
    assert tags and all(f'nonce="{nonce}"' in attributes for _, attributes in tags)


def test_every_page_gets_a_fresh_nonce(harness):
    first, second = harness.sign_in(), harness.sign_in()

    assert handshake(first)["nonce"] != handshake(second)["nonce"]


def test_the_callback_clears_the_cookie_whatever_happens(harness):
    succeeded = harness.sign_in()
    failed = harness.callback(harness.start(), query={"state": "wrong", "code": "x"})
    refused = harness.callback(query={"state": "x", "code": "y"})

    for reply in (succeeded, failed, refused):
        assert reply.cookies == [f"{COOKIE}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax"]


def test_the_token_appears_in_the_callback_page_and_nowhere_in_the_logs(harness, sensitive):
    reply = harness.sign_in()

    token = harness.github.issued_access_tokens[-1]
    assert token in reply.body
    lines = sensitive.request_lines()
    assert [(line.route, line.outcome, line.status) for line in lines] == [("/auth", "ok", 302), ("/callback", "ok", 200)]
    assert all(line.provider == "github" for line in lines)


def test_the_code_is_redeemed_through_grants_so_the_access_policy_applies(harness, monkeypatch):
    calls = []

    def policy_refuses(call, form):
        calls.append(form["redirect_uri"])
        raise ExchangeError("invalid_grant", "This account may not sign in here.")

    monkeypatch.setattr(grants, "redeem_code", policy_refuses)

    reply = harness.sign_in()

    assert calls == [CALLBACK]
    data = handshake(reply)
    assert data["outcome"] == "error"
    assert data["payload"]["message"] == "This account may not sign in here."


# -- the cookie and the state -------------------------------------------------------------


def test_a_callback_without_the_cookie_is_refused_without_posting(harness):
    flow = harness.consent(harness.start())

    reply = harness.callback(flow, cookie="")

    assert reply.status == 400
    assert "<script" not in reply.body
    assert "cookie is missing" in page_text(reply)
    assert harness.github.requests_to("/login/oauth/access_token") == []


def tamper(value: str, **changes: Any) -> str:
    version, kid, encoded, mac = value.split(".")
    claims = cookie_claims(value) | changes
    forged = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()).rstrip(b"=").decode()
    return ".".join([version, kid, forged, mac])


@pytest.mark.parametrize(
    "forge",
    [
        lambda v: tamper(v, origin="https://evil.example"),
        lambda v: tamper(v, provider="gitlab"),
        lambda v: tamper(v, exp=cookie_claims(v)["exp"] + 3600),
        lambda v: v[:-2] + ("AA" if not v.endswith("AA") else "BB"),
        lambda v: v.replace("v1.", "v2.", 1),
        lambda v: v + ".x",
        lambda v: "not-a-cookie",
        lambda v: "v1." + "A" * 3000,
    ],
    ids=["origin", "provider", "expiry", "signature", "version", "extra-part", "garbage", "oversized"],
)
def test_a_tampered_cookie_is_refused_without_posting_or_asking_the_provider(harness, forge):
    flow = harness.consent(harness.start())

    reply = harness.callback(flow, cookie=forge(flow.cookie))

    assert reply.status == 400
    assert "<script" not in reply.body
    assert "not valid" in page_text(reply)
    assert harness.github.requests_to("/login/oauth/access_token") == []


def test_a_cookie_signed_with_a_key_the_stack_never_had_is_refused(harness):
    flow = harness.consent(harness.start())

    reply = harness.callback(flow, cookie=seal_binding(new_key(), flow.state))

    assert reply.status == 400
    assert "<script" not in reply.body
    assert harness.github.requests_to("/login/oauth/access_token") == []


def test_an_expired_cookie_is_refused_and_the_cms_is_told(harness, monkeypatch):
    flow = harness.consent(harness.start())
    later = time.time() + 601
    monkeypatch.setattr(cms.time, "time", lambda: later)

    reply = harness.callback(flow)

    assert reply.status == 400
    data = handshake(reply)
    assert (data["origin"], data["outcome"]) == (CMS_ORIGIN, "error")
    assert "longer than 10 minutes" in data["payload"]["message"]
    assert harness.github.requests_to("/login/oauth/access_token") == []


def test_a_replayed_callback_is_refused(harness):
    flow = harness.consent(harness.start())

    first = harness.callback(flow)
    replay = harness.callback(flow)

    assert first.status == 200
    assert replay.status == 400
    data = handshake(replay)
    assert data["outcome"] == "error"
    assert "already used" in data["payload"]["message"]
    assert len(harness.github.requests_to("/login/oauth/access_token")) == 1


def test_a_state_that_is_not_the_cookies_is_refused(harness):
    first, second = harness.consent(harness.start()), harness.consent(harness.start())

    reply = harness.callback(query={"code": second.code, "state": second.state}, cookie=first.cookie)

    assert reply.status == 400
    data = handshake(reply)
    assert (data["origin"], data["outcome"]) == (CMS_ORIGIN, "error")
    assert "state mismatch" in data["payload"]["message"]
    assert harness.github.requests_to("/login/oauth/access_token") == []


def test_a_callback_without_state_is_refused(harness):
    flow = harness.consent(harness.start())

    reply = harness.callback(query={"code": flow.code}, cookie=flow.cookie)

    assert handshake(reply)["outcome"] == "error"
    assert harness.github.requests_to("/login/oauth/access_token") == []


def test_a_cookie_for_another_provider_is_refused(cms_deploy):
    harness = cms_deploy(names=("github", "ghe"))
    flow = harness.consent(harness.start(provider="github"))

    reply = harness.callback(flow, provider="ghe")

    assert reply.status == 400
    data = handshake(reply)
    assert (data["provider"], data["outcome"]) == ("github", "error")
    assert "started with github but came back from ghe" in data["payload"]["message"]
    for provider in harness.providers.values():
        assert provider.requests_to("/login/oauth/access_token") == []


def test_a_callback_for_a_provider_without_cms_sign_in_is_not_found(harness):
    reply = harness.callback(harness.consent(harness.start()), provider="gitlab")

    assert reply.status == 404
    assert "<script" not in reply.body


def test_a_sign_in_started_for_an_origin_the_stack_no_longer_allows_is_refused(cms_deploy):
    harness = cms_deploy()
    flow = harness.consent(harness.start(site_id="editor.example.org", referer=OTHER_CMS_ORIGIN + "/"))
    narrowed = cms_deploy(origins=[CMS_ORIGIN], reuse=harness.providers)

    reply = narrowed.callback(flow)

    assert reply.status == 400
    assert "<script" not in reply.body
    assert harness.github.requests_to("/login/oauth/access_token") == []


# -- signing key rotation -----------------------------------------------------------------


def test_a_sign_in_started_before_a_rotation_finishes_after_it(cms_deploy, keys):
    old = cms_deploy(key_text=signing_keys(keys[1]))
    flow = old.consent(old.start())
    rotated = cms_deploy(key_text=signing_keys(keys[0], keys[1]), reuse=old.providers)

    reply = rotated.callback(flow)

    assert handshake(reply)["outcome"] == "success"
    assert rotated.start().cookie.split(".")[1] != flow.cookie.split(".")[1]


def test_a_key_dropped_by_the_next_rotation_is_no_longer_accepted(cms_deploy, keys):
    old = cms_deploy(key_text=signing_keys(keys[1]))
    flow = old.consent(old.start())
    cms_deploy(key_text=signing_keys(new_key(), keys[0]), reuse=old.providers)

    reply = old.callback(flow)

    assert reply.status == 400
    assert "not valid" in page_text(reply)
    assert old.github.requests_to("/login/oauth/access_token") == []


def sign_in_started_elsewhere(harness: CmsHarness, keys: str) -> Flow:
    """A sign-in whose /auth ran in another container, one that already had ``keys``."""
    state = secrets.token_urlsafe(32)
    verifier = derive(SigningKeys.parse(keys).current, cms.VERIFIER_PURPOSE, state)
    code = harness.github.authorize(CALLBACK, scope="repo", code_challenge=s256(verifier), code_challenge_method="S256")
    harness.sensitive.add(code, verifier)
    return Flow(cookie=seal_binding(keys, state), state=state, code=code)


def test_a_container_whose_cached_secret_predates_a_rotation_reads_it_again(cms_deploy, keys, secret_store):
    harness = cms_deploy(key_text=signing_keys(keys[1]), secret_cache_seconds=3600)
    assert harness.auth().status == 302
    rotated = signing_keys(keys[0], keys[1])
    secret_store.put({"github": harness.github.client_secret, cms.SIGNING_KEYS: rotated})

    reply = harness.callback(sign_in_started_elsewhere(harness, rotated))

    assert handshake(reply)["outcome"] == "success"


def test_forged_key_ids_cannot_make_the_function_reread_the_secret_on_every_request(cms_deploy, monkeypatch):
    harness = cms_deploy(secret_cache_seconds=3600)
    flow = harness.consent(harness.start())
    rereads = []
    original = client_secrets.ClientSecrets.reread
    monkeypatch.setattr(client_secrets.ClientSecrets, "reread", lambda self, *a: rereads.append(a) or original(self, *a))

    replies = [harness.callback(flow, cookie=seal_binding(new_key(), flow.state)) for _ in range(3)]

    assert [reply.status for reply in replies] == [400, 400, 400]
    assert len(rereads) == 1


# -- provider answers ---------------------------------------------------------------------


def test_denied_consent_is_told_to_the_cms_and_the_providers_words_stay_text(harness):
    flow = harness.start()
    hostile = '<script>alert(1)</script></script><img src=x onerror=alert(2)>&amp;'

    reply = harness.callback(
        query={"error": "access_denied", "error_description": hostile, "state": flow.state}, cookie=flow.cookie
    )

    assert reply.status == 403
    data = handshake(reply)
    assert (data["origin"], data["outcome"]) == (CMS_ORIGIN, "error")
    assert data["payload"]["errorCode"] == "access_denied"
    assert hostile in data["payload"]["message"]
    assert "<script>alert" not in reply.body
    assert "<img" not in reply.body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in reply.body
    assert hostile in page_text(reply)
    assert len(re.findall(r"<script\b", reply.body)) == 2


def test_a_provider_error_other_than_denial_is_a_provider_error(harness):
    flow = harness.start()

    reply = harness.callback(query={"error": "temporarily_unavailable", "state": flow.state}, cookie=flow.cookie)

    assert reply.status == 502
    assert handshake(reply)["payload"]["errorCode"] == "provider_error"


def test_a_code_the_provider_rejects_is_invalid_grant(harness):
    flow = harness.start()

    reply = harness.callback(query={"code": "not-a-code", "state": flow.state}, cookie=flow.cookie)

    assert reply.status == 400
    assert handshake(reply)["payload"]["errorCode"] == "invalid_grant"


def test_a_callback_without_a_code_is_refused(harness):
    flow = harness.start()

    reply = harness.callback(query={"state": flow.state}, cookie=flow.cookie)

    assert handshake(reply)["payload"]["errorCode"] == "invalid_request"
    assert harness.github.requests_to("/login/oauth/access_token") == []


def test_a_provider_that_is_down_is_told_to_the_cms(harness):
    flow = harness.consent(harness.start())
    harness.github.stop()

    reply = harness.callback(flow)

    assert reply.status == 502
    data = handshake(reply)
    assert (data["outcome"], data["payload"]["errorCode"]) == ("error", "provider_error")


def test_a_provider_without_pkce_gets_no_challenge_and_no_verifier(fake_provider, deploy, invoke, sensitive, keys):
    github = fake_provider("github", redirect_uris=[CALLBACK])
    entry = {**github.provider_config(), "pkce": False}
    deploy(
        {"github": entry},
        secrets={"github": github.client_secret, cms.SIGNING_KEYS: signing_keys(*keys)},
        cms={"origins": [CMS_ORIGIN], "providers": {"github": {"authorize_url": github.urls["authorize"], "scopes": ["repo"]}}},
    )
    harness = CmsHarness(invoke, sensitive, {"github": github}, keys)

    flow = harness.start()
    reply = harness.callback(harness.consent(flow))

    assert "code_challenge" not in query_of(flow.location)
    assert handshake(reply)["outcome"] == "success"
    assert "code_verifier" not in github.requests_to("/login/oauth/access_token")[0].form()


# -- without CMS mode ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/auth", "/callback/github"])
def test_without_cms_mode_the_routes_do_not_exist(github, invoke, path):
    reply = invoke(path, method="GET", origin=None, content_type=None, query="provider=github&site_id=x")

    assert (reply.status, reply.body["error"]) == (404, "not_found")
    assert reply.headers == SPEC_HEADERS
    assert github.seen == []


def test_the_troubleshooting_page_says_what_the_pages_say():
    page = Path(__file__).resolve().parents[2] / "docs" / "troubleshooting.md"
    text = " ".join(page.read_text().replace("> ", "").split())

    for paragraph in (*NO_OPENER, *NO_ANSWER):
        assert " ".join(paragraph.split()) in text
