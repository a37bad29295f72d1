"""Fixtures for the exchange function: moto Secrets Manager, fake providers, deployment, invocation.

Every test is also a leak scan: while the handler runs, all log records (every
logger, every level) are captured, and every response is kept. At teardown no
client secret, code or verifier may appear in any of them, no token may
appear anywhere but a successful ``/token`` (or ``/api/session/token``)
answer, no session cookie value may appear anywhere but the ``Set-Cookie``
that issued it, and there must be exactly one request log line per response
(so the scan cannot silently see nothing).
The CMS callback page is the other place a token may appear: it hands the
token to the CMS. Cookie values may be set, but never logged.
Every test that invokes the handler runs twice: with the function's logger at
INFO, as deployed, and at DEBUG, as an operator may set it.
Every request line is also held to the Embedded Metric Format as Lambda's
JSON log format would write it (``emf_spec``): the metrics namespace is set
before the function is imported, so every line carries its metrics.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import os

import boto3
import pytest
from moto import mock_aws

import metrics
from tests.function.emf_spec import NAMESPACE, check_event, lambda_json_event, unvalidated

os.environ[metrics.NAMESPACE_ENV] = NAMESPACE

import exchange  # noqa: E402 - imported once the metrics namespace is set, as Lambda's environment has it first
import handler  # noqa: E402
from local.fake_provider import FakeProvider
from local.secrets_store import SecretsStore

REGION = "us-east-1"
SPA_ORIGIN = "http://127.0.0.1:8000"
REDIRECT_URI = "http://127.0.0.1:8000/"
OTHER_REDIRECT_URI = "http://127.0.0.1:8000/callback"
TOKEN_ANSWER_PATHS = frozenset({"/token", "/api/session/token"})
"""The only answers a token may appear in (when successful)."""
SPEC_HEADERS = {
    "Content-Type": "application/json",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Content-Type-Options": "nosniff",
}


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge) per RFC 7636."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def code_fields(provider: FakeProvider, redirect_uri: str = REDIRECT_URI) -> dict[str, str]:
    """A fresh code bound to a PKCE challenge, as the body fields the SPA sends with it."""
    code, verifier = provider.authorize_pkce(redirect_uri)
    return {"code": code, "code_verifier": verifier}


# -- the leak scan --------------------------------------------------------------


class _Capture(logging.Handler):
    """Keeps records emitted while at least one handler call is running."""

    def __init__(self) -> None:
        super().__init__(level=1)
        self.active = 0
        self.records: list[logging.LogRecord] = []
        self._counter_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if self.active:
            self.records.append(record)

    def enter(self) -> None:
        with self._counter_lock:
            self.active += 1

    def leave(self) -> None:
        with self._counter_lock:
            self.active -= 1


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any
    """The JSON body; the text itself when it is not JSON (a proxied text answer)."""
    path: str
    raw: dict[str, Any]

    @property
    def cookies(self) -> list[str]:
        """The ``Set-Cookie`` values."""
        return list(self.raw.get("cookies", []))


class Sensitive:
    """What must never leak, and what the function said and logged during one test."""

    def __init__(self) -> None:
        self.values: set[str] = set()
        self.tokens: set[str] = set()
        self.unlogged: set[str] = set()
        self.providers: list[FakeProvider] = []
        self.replies: list[Reply] = []
        self.capture = _Capture()
        self.provider_names: set[str] = set()
        """Every provider the function was configured with during the test: the only provider dimensions."""

    def add(self, *values: str) -> None:
        """Secrets, codes and verifiers: never in a log or a response."""
        self.values.update(values)

    def add_tokens(self, *tokens: str) -> None:
        """Tokens: only in a successful /token answer."""
        self.tokens.update(tokens)

    def add_unlogged(self, *values: str) -> None:
        """Values a response may carry (a cookie being set) but no log record may."""
        self.unlogged.update(values)

    def records(self) -> list[logging.LogRecord]:
        return list(self.capture.records)

    def request_lines(self) -> list[logging.LogRecord]:
        return [r for r in self.records() if r.name == "oauth_exchange" and hasattr(r, "outcome")]

    def check(self) -> None:
        values, tokens = set(self.values), set(self.tokens)
        for provider in self.providers:
            values.update(provider.issued_codes)
            values.add(provider.client_secret)
            tokens.update(provider.issued_access_tokens, provider.issued_refresh_tokens)
        for record in self.records():
            text = _record_text(record)
            for value in values | tokens | self.unlogged:
                assert value not in text, f"a secret value leaked into a {record.name} log record"
        cookie_values = {value for reply in self.replies for value in _cookie_values(reply.cookies) if value}
        for record in self.records():
            text = _record_text(record)
            for value in cookie_values:
                assert value not in text, f"a session cookie value leaked into a {record.name} log record"
        for reply in self.replies:
            text = json.dumps(reply.raw)
            without_cookies = json.dumps({k: v for k, v in reply.raw.items() if k != "cookies"})
            for value in values:
                assert value not in text, f"a secret, code or verifier leaked into a {reply.status} response"
            if not (reply.path in TOKEN_ANSWER_PATHS and reply.status == 200) and not _is_cms_success_page(reply):
                for token in tokens:
                    assert token not in text, f"a token leaked into a {reply.status} {reply.path} response"
            for value in cookie_values:
                assert value not in without_cookies, f"a session cookie value leaked into a {reply.status} response"
        assert len(self.request_lines()) == len(self.replies), "every request logs exactly one request line"
        private = self._private_words(values | tokens | self.unlogged | cookie_values)
        for record in self.request_lines():
            check_event(lambda_json_event(record), self.provider_names, private)

    def _private_words(self, values: set[str]) -> set[str]:
        """Values plus the fake users' logins, names and emails: none may be a dimension."""
        words = {value for value in values if value}
        for provider in self.providers:
            words.update(str(provider.user[key]) for key in ("login", "name", "email") if provider.user.get(key))
            words.update(str(entry["email"]) for entry in provider.emails if entry.get("email"))
        return words


def _is_cms_success_page(reply: Reply) -> bool:
    return (
        reply.path.startswith("/callback/")
        and reply.status == 200
        and reply.headers.get("Content-Type", "").startswith("text/html")
    )


def _cookie_values(set_cookies: list[str]) -> list[str]:
    return [cookie.split(";", 1)[0].partition("=")[2] for cookie in set_cookies]


def _record_text(record: logging.LogRecord) -> str:
    parts = [record.getMessage(), repr(vars(record))]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(parts)



FUNCTION_LOG_LEVELS = ("INFO", "DEBUG")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """When the whole folder ran and passed, its request lines must have shown every route and every error code."""
    folder = Path(__file__).parent
    ran = {Path(str(item.path)) for item in session.items}
    whole = ran >= set(folder.glob("test_*.py")) and session.testscollected == len(session.items)
    if exitstatus == 0 and whole and unvalidated():
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\nno EMF-validated request line showed: {', '.join(unvalidated())}")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The leak scan of every test that invokes the handler, at each level the function may log at."""
    if "invoke" in metafunc.fixturenames:
        metafunc.parametrize("function_log_level", FUNCTION_LOG_LEVELS, indirect=True)


@pytest.fixture
def function_log_level(request: pytest.FixtureRequest) -> str:
    return getattr(request, "param", "INFO")


@pytest.fixture(autouse=True)
def sensitive(function_log_level: str) -> Iterator[Sensitive]:
    state = Sensitive()
    root = logging.getLogger()
    previous_level, previous_function_level = root.level, exchange.log.level
    root.addHandler(state.capture)
    root.setLevel(1)
    exchange.log.setLevel(function_log_level)
    try:
        yield state
    finally:
        root.removeHandler(state.capture)
        root.setLevel(previous_level)
        exchange.log.setLevel(previous_function_level)
        exchange.reset()
    state.check()


# -- AWS (moto) -----------------------------------------------------------------


class SecretStore:
    """One test's secrets document in (moto's) Secrets Manager."""

    def __init__(self, client: Any, sensitive: Sensitive) -> None:
        self._client = client
        self._sensitive = sensitive
        name = f"oauth-exchange/client-secrets-{secrets.token_hex(4)}"
        self.arn = client.create_secret(Name=name, SecretString="{}")["ARN"]

    def put(self, document: Mapping[str, str] | str) -> None:
        """Store a document (a mapping, or raw SecretString text)."""
        text = document if isinstance(document, str) else json.dumps(dict(document))
        if not isinstance(document, str):
            self._sensitive.add(*document.values())
        self._client.put_secret_value(SecretId=self.arn, SecretString=text)

    def delete(self) -> None:
        self._client.delete_secret(SecretId=self.arn, ForceDeleteWithoutRecovery=True)


@pytest.fixture(scope="module")
def aws() -> Iterator[Any]:
    """In-process moto with fake credentials; one per test module, since starting it costs time."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_LAMBDA_LOG_LEVEL"):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_SESSION_TOKEN", "testing")
        with mock_aws():
            yield boto3.client("secretsmanager", region_name=REGION)


@pytest.fixture
def secret_store(aws: Any, sensitive: Sensitive) -> SecretStore:
    return SecretStore(aws, sensitive)


# -- providers and deployment ------------------------------------------------------


@pytest.fixture
def fake_provider(sensitive: Sensitive) -> Iterator[Callable[..., FakeProvider]]:
    """Start fake providers (stopped at teardown); their secrets, codes and tokens join the scan."""
    started: list[FakeProvider] = []

    def start(style: str = "github", **options: Any) -> FakeProvider:
        options.setdefault("client_secret", "cs-" + secrets.token_hex(16))
        options.setdefault("redirect_uris", [REDIRECT_URI, OTHER_REDIRECT_URI])
        options.setdefault("allowed_origins", [SPA_ORIGIN])
        provider = FakeProvider(style, **options).start()
        started.append(provider)
        sensitive.providers.append(provider)
        sensitive.add(provider.client_secret)
        return provider

    yield start
    for provider in started:
        provider.stop()


Deploy = Callable[..., dict[str, Any]]


@pytest.fixture
def deploy(secret_store: SecretStore, monkeypatch: pytest.MonkeyPatch) -> Deploy:
    """Configure the function as the Pulumi program would: OAUTH_CONFIG plus the secrets document.

    Providers are FakeProviders (their config entry and current secret are
    used) or raw config entries. ``secrets`` replaces the secrets document.
    """

    def apply(
        providers: Mapping[str, FakeProvider | Mapping[str, Any]],
        *,
        secrets: Mapping[str, str] | None = None,
        **settings: Any,
    ) -> dict[str, Any]:
        entries: dict[str, Any] = {}
        document: dict[str, str] = {}
        for name, provider in providers.items():
            if isinstance(provider, FakeProvider):
                entries[name] = provider.provider_config()
                document[name] = provider.client_secret
            else:
                entries[name] = {"redirect_uris": [REDIRECT_URI, OTHER_REDIRECT_URI], **provider}
        config = {
            "providers": entries,
            "allowed_origins": [SPA_ORIGIN],
            "timeout_seconds": 2,
            **settings,
        }
        secret_store.put(document if secrets is None else secrets)
        monkeypatch.setenv("OAUTH_CONFIG", json.dumps(config))
        monkeypatch.setenv("OAUTH_CLIENT_SECRETS_ARN", secret_store.arn)
        exchange.reset()
        return config

    return apply


@pytest.fixture
def github(fake_provider: Callable[..., FakeProvider], deploy: Deploy) -> FakeProvider:
    """A fake GitHub OAuth app, deployed as the function's only provider."""
    provider = fake_provider("github")
    deploy({"github": provider})
    return provider


# -- invoking the handler ---------------------------------------------------------


def make_event(
    path: str = "/token",
    body: Any = None,
    *,
    method: str = "POST",
    headers: Mapping[str, str] | None = None,
    content_type: str | None = "application/json",
    origin: str | None = SPA_ORIGIN,
    raw_body: str | None = None,
    base64_body: bool = False,
    query: str = "",
    cookies: Mapping[str, str] | list[str] | None = None,
    domain_name: str = "abc123.lambda-url.us-east-1.on.aws",
) -> dict[str, Any]:
    """A function URL event (payload format 2.0) like AWS sends."""
    all_headers = {"host": "abc123.lambda-url.us-east-1.on.aws", "user-agent": "test"}
    if content_type is not None:
        all_headers["content-type"] = content_type
    if origin is not None:
        all_headers["origin"] = origin
    all_headers.update({name.lower(): value for name, value in (headers or {}).items()})
    text = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
    if text is not None and base64_body:
        text = base64.b64encode(text.encode()).decode()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": all_headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abc123",
            "domainName": domain_name,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9", "userAgent": "test"},
            "requestId": "req-" + secrets.token_hex(6),
            "routeKey": "$default",
            "stage": "$default",
        },
        "isBase64Encoded": base64_body,
    }
    if text is not None:
        event["body"] = text
    if cookies:
        pairs = cookies.items() if isinstance(cookies, Mapping) else (c.partition("=")[::2] for c in cookies)
        event["cookies"] = [f"{name}={value}" for name, value in pairs]
    return event


def lambda_context(seconds_left: float = 30.0) -> SimpleNamespace:
    return SimpleNamespace(
        aws_request_id="ctx-" + secrets.token_hex(6),
        function_name="oauth-exchange",
        get_remaining_time_in_millis=lambda: int(seconds_left * 1000),
    )


Invoke = Callable[..., Reply]
_BUILD = object()
ANY_VERIFIER: Any = object()


@pytest.fixture
def invoke(sensitive: Sensitive) -> Invoke:
    """Call the handler with a function URL event; every reply joins the leak scan."""

    def call(path: str = "/token", body: Any = None, *, event: Any = _BUILD, context: Any = None, **options: Any) -> Reply:
        if event is _BUILD:
            event = make_event(path, body, **options)
        sensitive.provider_names.update(_configured_providers())
        sensitive.capture.enter()
        try:
            raw = handler.handler(event, lambda_context() if context is None else context)
        finally:
            sensitive.capture.leave()
        reply = Reply(raw["statusCode"], raw["headers"], _json_or_text(raw["body"]), path, raw)
        sensitive.replies.append(reply)
        return reply

    return call


def _configured_providers() -> set[str]:
    try:
        return set(json.loads(os.environ.get("OAUTH_CONFIG", "{}")).get("providers", {}))
    except (ValueError, AttributeError):
        return set()


def _json_or_text(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body


@pytest.fixture
def exchange_code(invoke: Invoke, sensitive: Sensitive) -> Callable[..., Reply]:
    """POST /token with an authorization code (and verifier), registering them for the scan."""

    def call(code: str, verifier: str | None = ANY_VERIFIER, *, provider: str | None = "github", **fields: Any) -> Reply:
        """``verifier`` defaults to a well-formed one (for servers that check nothing); None sends none."""
        sensitive.add(code)
        if verifier is ANY_VERIFIER:
            verifier = secrets.token_urlsafe(48)
        body: dict[str, Any] = {"code": code, "redirect_uri": REDIRECT_URI}
        if provider is not None:
            body["provider"] = provider
        if verifier is not None:
            sensitive.add(verifier)
            body["code_verifier"] = verifier
        body.update(fields)
        return invoke("/token", body)

    return call


# -- session mode ------------------------------------------------------------------

SESSION_SITE = "https://d1234abcd.cloudfront.net"
"""The site origin the distribution reports to the function in session mode."""
SESSION_REDIRECT_URI = SESSION_SITE + "/callback/github"
SESSION_COOKIE = "__Host-oauth-exchange"
SITE_ORIGIN_HEADER = "x-oauth-exchange-site-origin"
CSRF_HEADER = "x-oauth-exchange"


class SessionTable:
    """One test's session table in (moto's) DynamoDB, and ways to look inside it."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name

    def items(self) -> list[dict[str, Any]]:
        return self.client.scan(TableName=self.name, ConsistentRead=True)["Items"]

    def only_item(self) -> dict[str, Any]:
        (item,) = self.items()
        return item

    def set_numbers(self, key: str, **values: int) -> None:
        """Change times in an item (sessions age faster this way than by sleeping)."""
        names = {f"#{name}": name for name in values}
        self.client.update_item(
            TableName=self.name,
            Key={"id": {"S": key}},
            UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in values),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":{name}": {"N": str(value)} for name, value in values.items()},
        )

    def drop(self) -> None:
        self.client.delete_table(TableName=self.name)


@pytest.fixture(scope="session")
def dynamodb_server() -> Iterator[SecretsStore]:
    """moto's server, in a process of its own, for DynamoDB.

    The function speaks DynamoDB's protocol over HTTP itself, which in-process
    moto (it patches botocore) would not see; requests to this loopback
    endpoint pass through ``mock_aws`` untouched.
    """
    server = SecretsStore()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def session_table(aws: Any, dynamodb_server: SecretsStore, monkeypatch: pytest.MonkeyPatch) -> SessionTable:
    client = dynamodb_server.client("dynamodb")
    name = f"oauth-exchange-sessions-{secrets.token_hex(4)}"
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    monkeypatch.setenv("OAUTH_SESSION_TABLE", name)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_server.endpoint)
    return SessionTable(client, name)


def session_settings(
    providers: Mapping[str, FakeProvider],
    *,
    api_base_url: str | None = None,
    api_paths: list[dict[str, Any]] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """``OAUTH_CONFIG.session`` as ``infra.settings`` builds it, for fake providers."""
    return {
        "cookie_name": SESSION_COOKIE,
        "csrf_header": CSRF_HEADER,
        "origin_header": SITE_ORIGIN_HEADER,
        "origins": [],
        "idle_seconds": 8 * 3600,
        "max_seconds": 30 * 24 * 3600,
        "expose_access_token": False,
        "providers": {
            name: {
                "callback_path": f"/callback/{name}",
                "userinfo_url": provider.urls["user"],
                "api_base_url": api_base_url or provider.base_url,
                "api_paths": api_paths if api_paths is not None else [{"methods": ["GET"], "prefix": "/user"}],
            }
            for name, provider in providers.items()
        },
        **overrides,
    }


@pytest.fixture
def session_deploy(deploy: Deploy, session_table: SessionTable) -> Callable[..., dict[str, Any]]:
    """Deploy the function in session mode for fake providers; options go to ``session_settings``."""

    def apply(providers: Mapping[str, FakeProvider], **options: Any) -> dict[str, Any]:
        return deploy(providers, session=session_settings(providers, **options))

    return apply


class SessionBrowser:
    """A browser tab on the site, as far as the function sees it: cookies, the SPA's headers, the edge's header."""

    def __init__(self, invoke: Invoke, sensitive: Sensitive, site: str = SESSION_SITE) -> None:
        self._invoke = invoke
        self._sensitive = sensitive
        self.site = site
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        csrf: bool = True,
        fetch_site: str | None = "same-origin",
        origin: str | None = None,
        site_origin: str | None = SESSION_SITE,
        **options: Any,
    ) -> Reply:
        sent = {} if site_origin is None else {SITE_ORIGIN_HEADER: site_origin}
        if csrf:
            sent[CSRF_HEADER] = "1"
        if fetch_site is not None:
            sent["sec-fetch-site"] = fetch_site
        sent.update(headers or {})
        # Browsers send Origin with every non-GET fetch, same-origin ones included.
        if origin is None and method not in ("GET", "HEAD"):
            origin = self.site
        reply = self._invoke(path, body, method=method, headers=sent, origin=origin, cookies=self.cookies, **options)
        for cookie in reply.cookies:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            if "max-age=0" in cookie.lower().replace(" ", ""):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return reply

    def sign_in(self, provider: FakeProvider, *, redirect_uri: str = SESSION_REDIRECT_URI, name: str = "github", **options: Any) -> Reply:
        code, verifier = provider.authorize_pkce(redirect_uri)
        self._sensitive.add(verifier)
        body = {"provider": name, "code": code, "redirect_uri": redirect_uri, "code_verifier": verifier}
        return self.request("POST", "/api/session", body, **options)

    @property
    def cookie(self) -> str | None:
        return self.cookies.get(SESSION_COOKIE)


@pytest.fixture
def browser(invoke: Invoke, sensitive: Sensitive) -> SessionBrowser:
    return SessionBrowser(invoke, sensitive)
