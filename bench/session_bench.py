"""Benchmark of session mode against a local fake GitHub (not a test).

    python bench/session_bench.py [--calls N] [--cold-runs N] [--baseline REV|''] [--profile N] [--no-zip]

Side by side in one run, over loopback:

* a proxied API call through ``handler.handler`` (``GET /api/proxy/github/user``:
  CSRF checks, the session lookup in DynamoDB, the provider call) vs the same
  call sent straight to the fake provider with httpx, interleaved;
* DynamoDB (a moto server in a process of its own, as in the local stack) is
  measured on its own too (a bare ``GetItem`` through the function's client:
  botocore's route and signer over httpcore; and through botocore's own
  client), so its latency can be told apart
  from the handler's, and the clients from each other;
* the handler's CPU per call (thread CPU time), minus the CPU of the direct
  call: the handler's overhead. The warm calls run in a process of their own
  with the function (``--worker``); the fake provider, the stand-in below and
  moto answer from other processes, as the provider and DynamoDB do on AWS.
  moto's server closes every connection after its answer, so a client
  reconnects for each call, which DynamoDB's keep-alive spares it; the CPU
  figures are therefore also taken against a keep-alive stand-in that
  answers the same item as moto did. The overhead is split into the
  GetItem, the provider call through the function's own client (httpcore)
  against the direct httpx one, and the rest;
* TCP connections the provider accepts per 100 proxied calls from a fresh container;
* cold start in a fresh interpreter: importing the handler and the first
  ``POST /api/session`` (secret, DynamoDB client, code exchange, user info,
  ``PutItem``) beside browser mode's import and first ``POST /token``, and,
  beside session mode with ``function/`` as it was at the baseline revision
  (``--baseline REV``; by default the function before the metrics), interleaved;
* the proxied call's CPU with the request line's metrics on vs off
  (``metrics_overhead``, against the keep-alive stand-in) and vs ``function/``
  at the baseline revision loaded beside today's in the worker (``baseline``),
  interleaved: the target is metrics on within 2 % of the function before the metrics;
* with ``--profile N``: where the handler's own CPU goes, from cProfile over
  N proxied calls (DynamoDB kept alive), the functions with the most own time;
* the deployment zip, built twice from nothing: its size, and whether the two
  builds are byte-identical (``--no-zip`` skips it: it runs pip).
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import hashlib
import io
import json
import logging
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FUNCTION_DIR = ROOT / "function"
sys.path[:0] = [str(ROOT), str(ROOT / "infra"), str(FUNCTION_DIR)]

import httpx  # noqa: E402
from botocore.config import Config  # noqa: E402

import baseline  # noqa: E402
import metrics  # noqa: E402 - function/metrics.py: names only, it imports nothing of the function's
import metrics_overhead  # noqa: E402
from oauth_exchange.session_contract import CSRF_HEADER, SESSION_COOKIE, SITE_ORIGIN_HEADER  # noqa: E402
from local.fake_provider import FakeProvider  # noqa: E402
from local.secrets_store import DUMMY_CREDENTIALS, REGION, SecretsStore  # noqa: E402

SITE = "https://d1234abcd.cloudfront.net"
REDIRECT_URI = SITE + "/callback/github"
BROWSER_ORIGIN = "http://127.0.0.1:8000"
BROWSER_REDIRECT_URI = BROWSER_ORIGIN + "/callback/github"
WARMUP = 50
SDK_CONFIG = Config(
    connect_timeout=1.0,
    read_timeout=1.0,
    retries={"mode": "standard", "total_max_attempts": 2},
    parameter_validation=False,  # botocore at its leanest, for the comparison
    user_agent="oauth-exchange-bench",
)

COLD_START_SCRIPT = """
import json, sys, time
started, started_cpu = time.perf_counter(), time.process_time()
import handler
imported, imported_cpu = time.perf_counter(), time.process_time()
first = handler.handler(json.loads(sys.argv[1]), None)
answered = time.perf_counter()
print(json.dumps({"import": imported - started, "import_cpu": imported_cpu - started_cpu, "first": answered - imported, "status": first["statusCode"]}))
"""


def event(method: str, path: str, body: Any = None, cookie: str | None = None) -> dict[str, Any]:
    headers = {CSRF_HEADER: "1", SITE_ORIGIN_HEADER: SITE, "sec-fetch-site": "same-origin", "content-type": "application/json"}
    if method != "GET":
        headers["origin"] = SITE
    result: dict[str, Any] = {
        "rawPath": path,
        "headers": headers,
        "requestContext": {"http": {"method": method}, "requestId": "bench"},
        "isBase64Encoded": False,
    }
    if body is not None:
        result["body"] = json.dumps(body)
    if cookie is not None:
        result["cookies"] = [f"{SESSION_COOKIE}={cookie}"]
    return result


def sign_in_event(provider: FakeProvider) -> dict[str, Any]:
    code, verifier = provider.authorize_pkce(REDIRECT_URI)
    return event("POST", "/api/session", {"provider": "github", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier})


def token_event(provider: FakeProvider) -> dict[str, Any]:
    code, verifier = provider.authorize_pkce(BROWSER_REDIRECT_URI)
    body = {"provider": "github", "code": code, "redirect_uri": BROWSER_REDIRECT_URI, "code_verifier": verifier}
    return {
        "rawPath": "/token",
        "headers": {"content-type": "application/json", "origin": BROWSER_ORIGIN},
        "requestContext": {"http": {"method": "POST"}, "requestId": "bench"},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def environments(provider: FakeProvider, store: SecretsStore) -> tuple[dict[str, str], dict[str, str]]:
    """(session mode, browser mode) function environments, both against the same moto server."""
    arn = store.create_secret(f"bench-{time.time_ns()}", json.dumps({"github": provider.client_secret}))
    table = f"bench-sessions-{time.time_ns()}"
    dynamodb = store.client("dynamodb")
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    entry = provider.provider_config()
    common = {
        "AWS_ACCESS_KEY_ID": DUMMY_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": DUMMY_CREDENTIALS["aws_secret_access_key"],
        "AWS_SESSION_TOKEN": DUMMY_CREDENTIALS["aws_session_token"],
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": store.endpoint,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "OAUTH_CLIENT_SECRETS_ARN": arn,
    }
    session_config = {
        "providers": {"github": {**entry, "redirect_uris": [REDIRECT_URI]}},
        "allowed_origins": [],
        "timeout_seconds": 5,
        "session": {
            "cookie_name": SESSION_COOKIE,
            "csrf_header": CSRF_HEADER,
            "origin_header": SITE_ORIGIN_HEADER,
            "origins": [SITE],
            "idle_seconds": 8 * 3600,
            "max_seconds": 30 * 24 * 3600,
            "providers": {
                "github": {
                    "callback_path": "/callback/github",
                    "userinfo_url": provider.urls["user"],
                    "api_base_url": provider.base_url,
                    "api_paths": [{"methods": ["GET"], "prefix": "/user"}],
                }
            },
        },
    }
    browser_config = {
        "providers": {"github": {**entry, "redirect_uris": [BROWSER_REDIRECT_URI]}},
        "allowed_origins": [BROWSER_ORIGIN],
        "timeout_seconds": 5,
    }
    session = {
        **common,
        "OAUTH_CONFIG": json.dumps(session_config),
        "OAUTH_SESSION_TABLE": table,
        "AWS_ENDPOINT_URL_DYNAMODB": store.endpoint,
    }
    return session, {**common, "OAUTH_CONFIG": json.dumps(browser_config)}


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def warm_calls(handler: Any, user_url: str, cookie: str, token: str, table: str, calls: int) -> dict[str, list[float]]:
    """Interleaved: proxied through the handler, direct to the provider, a bare GetItem two ways; wall and thread-CPU seconds."""
    import aws_session
    import dynamodb
    import provider_http

    direct = httpx.Client()
    trusted = provider_http.tls_context(os.environ)
    table_client = dynamodb.DynamoDB.for_table(table, provider_http.ProviderClient(trusted))  # as the function makes it
    provider_client = provider_http.ProviderClient(trusted)
    sdk = aws_session.aws_client("dynamodb", REGION, SDK_CONFIG)
    key = {"id": {"S": hashlib.sha256(cookie.encode()).hexdigest()}}
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    samples: dict[str, list[float]] = {
        name: []
        for kind in ("", "_cpu")
        for name in (f"handler{kind}", f"direct{kind}", f"client{kind}", f"table{kind}", f"sdk{kind}")
    }
    proxied = event("GET", "/api/proxy/github/user", cookie=cookie)
    for round_number in range(calls + WARMUP):
        cpu, wall = time.thread_time(), time.perf_counter()
        answer = handler.handler(proxied, None)
        handler_wall, handler_cpu = time.perf_counter() - wall, time.thread_time() - cpu
        assert answer["statusCode"] == 200, answer

        cpu, wall = time.thread_time(), time.perf_counter()
        reply = direct.get(user_url, headers=headers)
        reply.json()
        direct_wall, direct_cpu = time.perf_counter() - wall, time.thread_time() - cpu
        assert reply.status_code == 200

        cpu, wall = time.thread_time(), time.perf_counter()
        provider_client.send_raw("GET", user_url, timeout=5, headers=headers)
        client_wall, client_cpu = time.perf_counter() - wall, time.thread_time() - cpu

        cpu, wall = time.thread_time(), time.perf_counter()
        table_client.call("GetItem", {"TableName": table, "Key": key, "ConsistentRead": True}, repeatable=True)
        table_wall, table_cpu = time.perf_counter() - wall, time.thread_time() - cpu

        cpu, wall = time.thread_time(), time.perf_counter()
        sdk.get_item(TableName=table, Key=key, ConsistentRead=True)
        sdk_wall, sdk_cpu = time.perf_counter() - wall, time.thread_time() - cpu

        if round_number >= WARMUP:
            for name, value in (
                ("handler", handler_wall),
                ("direct", direct_wall),
                ("client", client_wall),
                ("table", table_wall),
                ("sdk", sdk_wall),
                ("handler_cpu", handler_cpu),
                ("direct_cpu", direct_cpu),
                ("client_cpu", client_cpu),
                ("table_cpu", table_cpu),
                ("sdk_cpu", sdk_cpu),
            ):
                samples[name].append(value)
    direct.close()
    table_client.close()
    provider_client.close()
    return samples


def worker() -> None:
    """The warm measurements, in a process of the function's own (``--worker``), as on Lambda.

    In the benchmark's process the function would share the GIL with the fake
    provider's and the stand-in's server threads, and waiting for the GIL
    after each answer would be charged to the handler's thread: back-to-back
    calls (a GetItem, then the provider) paid about 0.7 ms more than the two
    apart. Here every server is another process, as DynamoDB and the
    provider are to a Lambda function.
    """
    logging.basicConfig(stream=open(os.devnull, "w"), level=logging.WARNING)  # noqa: SIM115
    job = json.loads(sys.stdin.readline())
    import exchange
    import handler

    arguments = (job["user_url"], job["cookie"], job["token"], job["table"], job["calls"])
    through_moto = warm_calls(handler, *arguments)
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = job["stand_in"]
    exchange.reset()
    kept_alive = warm_calls(handler, *arguments)
    proxied = event("GET", "/api/proxy/github/user", cookie=job["cookie"])
    older = None if job["baseline"] is None else baseline.load(Path(job["baseline"]), FUNCTION_DIR)
    with_metrics = metrics_overhead.compare(functools.partial(proxied_call, proxied), handler, job["calls"], older)
    profile = profile_handler(handler, job["cookie"], job["profile"]) if job["profile"] else None
    print(json.dumps({"moto": through_moto, "kept_alive": kept_alive, "metrics": with_metrics, "profile": profile}))


def proxied_call(proxied: dict[str, Any], through: Any) -> Callable[[], None]:
    """The proxied call through a handler module, its answer checked."""

    def call() -> None:
        answer = through.handler(proxied, None)
        assert answer["statusCode"] == 200, answer

    return call


def profile_handler(handler: Any, cookie: str, calls: int) -> dict[str, Any]:
    """Where a proxied call's CPU goes inside the handler (DynamoDB kept alive), two ways.

    Split: thread CPU of each call, and of the GetItem and the provider call
    within it (timed where the handler makes them), so the handler's own
    code is what is left; medians. Then cProfile over the same number of calls
    for the functions behind it (its own overhead inflates code that makes
    many small calls, such as h11's, so its shares are a guide, not figures).
    """
    import dynamodb
    import provider_http

    spent: dict[str, float] = {}

    def timed(name: str, method: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return method(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.thread_time() - started

        return wrapper

    proxied = event("GET", "/api/proxy/github/user", cookie=cookie)
    originals = (dynamodb.DynamoDB.call, provider_http.ProviderClient.send_raw, dynamodb.DynamoDB._signed_headers)
    dynamodb.DynamoDB.call = timed("getitem", originals[0])
    provider_http.ProviderClient.send_raw = timed("provider", originals[1])
    dynamodb.DynamoDB._signed_headers = timed("signing", originals[2])
    split: dict[str, list[float]] = {"handler": [], "getitem": [], "signing": [], "provider": [], "own": []}
    try:
        for _ in range(calls):
            spent.clear()
            started = time.thread_time()
            handler.handler(proxied, None)
            total = time.thread_time() - started
            for name in ("getitem", "signing", "provider"):
                split[name].append(spent.get(name, 0.0))
            split["handler"].append(total)
            split["own"].append(total - spent.get("getitem", 0.0) - spent.get("provider", 0.0))
    finally:
        dynamodb.DynamoDB.call, provider_http.ProviderClient.send_raw, dynamodb.DynamoDB._signed_headers = originals
    profiler = cProfile.Profile(time.thread_time)  # CPU, as the overhead figures: waits on the network left out
    profiler.enable()
    for _ in range(calls):
        handler.handler(proxied, None)
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(35)
    return {"split": {name: statistics.median(values) for name, values in split.items()}, "cprofile": text.getvalue()}


def measure_warm(
    session_env: dict[str, str], job: dict[str, Any]
) -> tuple[dict[str, list[float]], dict[str, list[float]], dict[str, Any], dict[str, Any] | None]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OAUTH_"))}
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker"],
        input=json.dumps(job) + "\n",
        env={**base, **session_env, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the benchmark worker failed:\n{result.stderr}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    return figures["moto"], figures["kept_alive"], figures["metrics"], figures["profile"]


class _CannedDynamoDB(BaseHTTPRequestHandler):
    """Answers every call with the session's item, last used now, keeping the connection open, as DynamoDB does."""

    protocol_version = "HTTP/1.1"
    item: dict[str, Any] = {}

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        answer = json.dumps({"Item": {**self.item, "last_seen_at": {"N": str(int(time.time()))}}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("x-amzn-RequestId", "bench")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


def keep_alive_stand_in(store: SecretsStore, table: str, cookie: str) -> ThreadingHTTPServer:
    """A keep-alive endpoint answering moto's item for this session, so no use is ever recorded."""
    key = {"id": {"S": hashlib.sha256(cookie.encode()).hexdigest()}}
    _CannedDynamoDB.item = store.client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CannedDynamoDB)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def connections_per_100(provider: FakeProvider, handler: Any, exchange: Any, cookie: str) -> int:
    exchange.reset()
    before = provider.connections_accepted
    proxied = event("GET", "/api/proxy/github/user", cookie=cookie)
    for _ in range(100):
        assert handler.handler(proxied, None)["statusCode"] == 200
    return provider.connections_accepted - before


def cold_starts(
    provider: FakeProvider, session_env: dict[str, str], browser_env: dict[str, str], runs: int, older: Path | None
) -> dict[str, list[float]]:
    """Fresh interpreters, the modes interleaved (and session mode with the baseline's function/): import and first-request seconds."""
    modes = ["session", "browser"] + (["baseline"] if older is not None else [])
    figures: dict[str, list[float]] = {f"{mode}_{step}": [] for mode in modes for step in ("import", "import_cpu", "first")}
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OAUTH_"))}
    for _ in range(runs):
        for mode in modes:
            env, first_event = (browser_env, token_event(provider)) if mode == "browser" else (session_env, sign_in_event(provider))
            function_dir = older if mode == "baseline" and older is not None else FUNCTION_DIR
            result = subprocess.run(
                [sys.executable, "-c", COLD_START_SCRIPT, json.dumps(first_event)],
                env={**base, **env, "PYTHONPATH": str(function_dir), "PYTHONDONTWRITEBYTECODE": "1"},
                capture_output=True,
                text=True,
                check=True,
            )
            measured = json.loads(result.stdout.strip().splitlines()[-1])
            assert measured["status"] == 200, result.stderr
            for step in ("import", "import_cpu", "first"):
                figures[f"{mode}_{step}"].append(measured[step])
    return figures


def zip_figures() -> tuple[int, bool]:
    """The deployment zip built twice from nothing: its size in bytes, and whether the two are byte-identical."""
    from oauth_exchange.packaging import build_archive

    with tempfile.TemporaryDirectory() as first, tempfile.TemporaryDirectory() as second:
        a, b = build_archive(FUNCTION_DIR, Path(first)), build_archive(FUNCTION_DIR, Path(second))
        content = Path(a.path).read_bytes()
        return len(content), content == Path(b.path).read_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=500, help="warm proxied calls measured each way")
    parser.add_argument("--cold-runs", type=int, default=5, help="fresh interpreters per mode")
    parser.add_argument(
        "--baseline",
        help=f"a git revision whose function/ session mode's cold start and the proxied call's CPU are compared with "
        f"(default {metrics_overhead.BEFORE_METRICS}, the function before the metrics; '' for none)",
    )
    parser.add_argument("--profile", type=int, default=0, help="proxied calls to profile (0: none)")
    parser.add_argument("--no-zip", action="store_true", help="skip building the deployment zip twice")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.worker:
        worker()
        return
    options.baseline = metrics_overhead.baseline_revision(options.baseline)
    logging.basicConfig(stream=open(os.devnull, "w"), level=logging.WARNING)  # noqa: SIM115
    scratch = tempfile.TemporaryDirectory()
    older = baseline.extract(options.baseline, Path(scratch.name)) if options.baseline else None

    store = SecretsStore()
    provider = FakeProvider("github", client_secret="bench-client-secret", redirect_uris=[REDIRECT_URI, BROWSER_REDIRECT_URI]).start()
    try:
        session_env, browser_env = environments(provider, store)
        for environment in (session_env, browser_env):
            environment[metrics.NAMESPACE_ENV] = "OAuthExchange/oauth-exchange/dev"  # a deployed stack's length
        os.environ.update(session_env)
        import exchange
        import handler

        signed_in = handler.handler(sign_in_event(provider), None)
        assert signed_in["statusCode"] == 200, signed_in
        cookie = signed_in["cookies"][0].split(";", 1)[0].partition("=")[2]
        token = provider.issued_access_tokens[-1]
        table = session_env["OAUTH_SESSION_TABLE"]
        connections = connections_per_100(provider, handler, exchange, cookie)
        stand_in = keep_alive_stand_in(store, table, cookie)
        job = {
            "user_url": provider.urls["user"],
            "cookie": cookie,
            "token": token,
            "table": table,
            "calls": options.calls,
            "stand_in": f"http://127.0.0.1:{stand_in.server_address[1]}",
            "profile": options.profile,
            "baseline": None if older is None else str(older),
        }
        samples, kept_alive, metrics_cpu, profile = measure_warm(session_env, job)
        stand_in.shutdown()
        cold = cold_starts(provider, session_env, browser_env, options.cold_runs, older)
    finally:
        provider.stop()
        store.stop()
        scratch.cleanup()
    zip_size, zip_identical = (0, False) if options.no_zip else zip_figures()

    ms = 1000.0
    p50 = {name: statistics.median(values) for name, values in samples.items()}
    overhead_cpu = p50["handler_cpu"] - p50["direct_cpu"]
    kept = {name: statistics.median(values) for name, values in kept_alive.items()}
    kept_overhead = kept["handler_cpu"] - kept["direct_cpu"]
    provider_delta = kept["client_cpu"] - kept["direct_cpu"]
    median = {name: statistics.median(values) for name, values in cold.items()}
    cold_session = median["session_import"] + median["session_first"]
    cold_browser = median["browser_import"] + median["browser_first"]

    def p50_p90(figures: dict[str, list[float]], name: str) -> str:
        return f"{statistics.median(figures[name]) * ms:.3f} / {percentile(figures[name], 0.9) * ms:.3f} ms"

    def p50_rule(figures: dict[str, float]) -> str:
        bound = figures["direct"] + figures["table"] + 0.002
        return f"{figures['handler'] * ms:.3f} <= {bound * ms:.3f} ms: {'yes' if figures['handler'] <= bound else 'NO'}"

    def clients_cpu(figures: dict[str, float]) -> str:
        return f"{figures['table_cpu'] * ms:.3f} / {figures['sdk_cpu'] * ms:.3f} ms"

    def ratios(figures: dict[str, float]) -> str:
        return f"{figures['sdk_cpu'] / figures['table_cpu']:.2f}x"

    rows = [
        ("proxied call p50 / p90, through handler", p50_p90(samples, "handler"), ""),
        ("same call p50 / p90, direct httpx", p50_p90(samples, "direct"), ""),
        ("bare DynamoDB GetItem (moto) p50 / p90: function's client", p50_p90(samples, "table"), ""),
        ("  the same through botocore's client", p50_p90(samples, "sdk"), ""),
        ("p50 rule (moto): handler <= direct + GetItem + 2 ms", p50_rule(p50), ""),
        ("handler thread CPU per call (p50)", f"{p50['handler_cpu'] * ms:.3f} ms", ""),
        ("direct call thread CPU per call (p50)", f"{p50['direct_cpu'] * ms:.3f} ms", ""),
        ("GetItem CPU (moto) library / botocore", clients_cpu(p50), f"ratio {ratios(p50)}"),
        ("handler CPU overhead per call (moto: a reconnect each call)", f"{overhead_cpu * ms:.3f} ms", ""),
        ("handler CPU overhead per call, DynamoDB kept alive", f"{kept_overhead * ms:.3f} ms", "<= 1.5 ms"),
        ("  GetItem CPU kept alive: library / botocore", clients_cpu(kept), f"ratio {ratios(kept)}"),
        ("  CPU kept alive: handler / direct httpx / function's provider client", f"{kept['handler_cpu'] * ms:.3f} / {kept['direct_cpu'] * ms:.3f} / {kept['client_cpu'] * ms:.3f} ms", ""),
        ("  the provider call: function's client minus direct httpx", f"{provider_delta * ms:+.3f} ms", ""),
        ("  the rest: the handler's code, the two calls in sequence", f"{(kept_overhead - kept['table_cpu'] - provider_delta) * ms:.3f} ms", ""),
        ("proxied call p50 / p90 through handler, DynamoDB kept alive", p50_p90(kept_alive, "handler"), ""),
        ("  bare GetItem p50 / p90 kept alive: function's client", p50_p90(kept_alive, "table"), ""),
        ("p50 rule, DynamoDB kept alive", p50_rule(kept), "yes"),
        ("provider connections per 100 proxied calls", f"{connections}", "1"),
        ("cold start, session mode (import + POST /api/session)", f"{cold_session * ms:.0f} ms", ""),
        ("cold start, browser mode (import + POST /token)", f"{cold_browser * ms:.0f} ms", ""),
        ("cold start ratio session / browser", f"{cold_session / cold_browser:.2f}", "<= 1.30"),
        *metrics_overhead.rows("proxied call (kept alive)", metrics_cpu, options.baseline),
    ]
    if older is not None:
        rows += [
            (f"session init (import) now / at {options.baseline}", f"{median['session_import'] * ms:.0f} / {median['baseline_import'] * ms:.0f} ms", f"{(median['session_import'] - median['baseline_import']) * ms:+.0f} ms (<= +30)"),
            (f"  its CPU (process time) now / at {options.baseline}", f"{median['session_import_cpu'] * ms:.0f} / {median['baseline_import_cpu'] * ms:.0f} ms", f"{(median['session_import_cpu'] - median['baseline_import_cpu']) * ms:+.0f} ms"),
            (f"session first request now / at {options.baseline}", f"{median['session_first'] * ms:.0f} / {median['baseline_first'] * ms:.0f} ms", ""),
        ]
    if not options.no_zip:
        rows.append(("deployment zip: size, two builds byte-identical", f"{zip_size / 1024:.0f} KiB, {'yes' if zip_identical else 'NO'}", "< 1024 KiB, yes"))
    width = max(len(name) for name, _, _ in rows)
    value_width = max(len(value) for _, value, _ in rows)
    print(f"session mode benchmark: {options.calls} warm proxied calls each way, {options.cold_runs} cold starts per mode, loopback fake GitHub, moto in its own process")
    print(f"{'metric':<{width}}  {'value':<{value_width}}  target")
    print(f"{'-' * width}  {'-' * value_width}  ------")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:<{value_width}}  {target}")
    steps = ", ".join(f"{name} {value * ms:.0f} ms" for name, value in median.items())
    print(f"(Python {sys.version.split()[0]}; cold start medians: {steps})")
    if profile:
        split = profile["split"]
        print(
            f"\ninside the handler, DynamoDB kept alive ({options.profile} calls, thread CPU medians): handler {split['handler'] * ms:.3f} ms ="
            f" GetItem {split['getitem'] * ms:.3f} ms (of which signing {split['signing'] * ms:.3f} ms)"
            f" + provider call {split['provider'] * ms:.3f} ms + the handler's own code {split['own'] * ms:.3f} ms"
        )
        print(profile["cprofile"])


if __name__ == "__main__":
    main()
