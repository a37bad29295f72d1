"""Benchmark of session mode against a local fake GitHub (not a test).

    python bench/session_bench.py [--calls N] [--cold-runs N]

Side by side in one run, over loopback:

* a proxied API call through ``handler.handler`` (``GET /api/proxy/github/user``:
  CSRF checks, the session lookup in DynamoDB, the provider call) vs the same
  call sent straight to the fake provider with httpx, interleaved;
* DynamoDB (a moto server in a process of its own, as in the local stack) is
  measured on its own too (a bare ``GetItem`` through the function's client,
  and through botocore beside it), so its latency can be told apart from the
  handler's, and the function's client from the SDK's;
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
  ``PutItem``) beside browser mode's import and first ``POST /token``;
* the proxied call's CPU with the request line's metrics on vs off
  (``metrics_overhead``, against the keep-alive stand-in).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import logging
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FUNCTION_DIR = ROOT / "function"
sys.path[:0] = [str(ROOT), str(ROOT / "infra"), str(FUNCTION_DIR)]

import httpx  # noqa: E402
from botocore.config import Config  # noqa: E402

import metrics  # noqa: E402 - function/metrics.py: names only, it imports nothing of the function's
import metrics_overhead  # noqa: E402
from oauth_exchange.settings import CSRF_HEADER, SESSION_COOKIE, SITE_ORIGIN_HEADER  # noqa: E402
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
started = time.perf_counter()
import handler
imported = time.perf_counter()
first = handler.handler(json.loads(sys.argv[1]), None)
answered = time.perf_counter()
print(json.dumps({"import": imported - started, "first": answered - imported, "status": first["statusCode"]}))
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
    import client_secrets
    import dynamodb
    import provider_http

    direct = httpx.Client()
    trusted = provider_http.tls_context(os.environ)
    table_client = dynamodb.DynamoDB.from_environment(os.environ, trusted)  # as the function makes them
    provider_client = provider_http.ProviderClient(trusted)
    sdk = client_secrets.aws_client("dynamodb", REGION, SDK_CONFIG)
    key = {"id": {"S": hashlib.sha256(cookie.encode()).hexdigest()}}
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    samples: dict[str, list[float]] = {
        name: []
        for name in ("handler", "direct", "client", "table", "sdk", "handler_cpu", "direct_cpu", "client_cpu", "table_cpu", "sdk_cpu")
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
    with_metrics = metrics_overhead.compare(lambda: functools.partial(handler.handler, proxied, None), exchange, job["calls"])
    print(json.dumps({"moto": through_moto, "kept_alive": kept_alive, "metrics": with_metrics}))


def measure_warm(session_env: dict[str, str], job: dict[str, Any]) -> tuple[dict[str, list[float]], ...]:
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
    return figures["moto"], figures["kept_alive"], figures["metrics"]


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


def cold_starts(provider: FakeProvider, session_env: dict[str, str], browser_env: dict[str, str], runs: int) -> dict[str, list[float]]:
    """Fresh interpreters, the two modes interleaved: import and first-request seconds."""
    figures: dict[str, list[float]] = {"session_import": [], "session_first": [], "browser_import": [], "browser_first": []}
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OAUTH_"))}
    for _ in range(runs):
        for mode, env, first_event in (
            ("session", session_env, sign_in_event(provider)),
            ("browser", browser_env, token_event(provider)),
        ):
            result = subprocess.run(
                [sys.executable, "-c", COLD_START_SCRIPT, json.dumps(first_event)],
                env={**base, **env, "PYTHONPATH": str(FUNCTION_DIR), "PYTHONDONTWRITEBYTECODE": "1"},
                capture_output=True,
                text=True,
                check=True,
            )
            measured = json.loads(result.stdout.strip().splitlines()[-1])
            assert measured["status"] == 200, result.stderr
            figures[f"{mode}_import"].append(measured["import"])
            figures[f"{mode}_first"].append(measured["first"])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=500, help="warm proxied calls measured each way")
    parser.add_argument("--cold-runs", type=int, default=5, help="fresh interpreters per mode")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.worker:
        worker()
        return
    logging.basicConfig(stream=open(os.devnull, "w"), level=logging.WARNING)  # noqa: SIM115

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
        }
        samples, kept_alive, metrics_cpu = measure_warm(session_env, job)
        stand_in.shutdown()
        cold = cold_starts(provider, session_env, browser_env, options.cold_runs)
    finally:
        provider.stop()
        store.stop()

    ms = 1000.0
    p50 = {name: statistics.median(values) for name, values in samples.items()}
    table_cpu = p50["table_cpu"]
    overhead_cpu = p50["handler_cpu"] - p50["direct_cpu"]
    kept = {name: statistics.median(values) for name, values in kept_alive.items()}
    kept_overhead = kept["handler_cpu"] - kept["direct_cpu"]
    provider_delta = kept["client_cpu"] - kept["direct_cpu"]
    cold_session = statistics.median(cold["session_import"]) + statistics.median(cold["session_first"])
    cold_browser = statistics.median(cold["browser_import"]) + statistics.median(cold["browser_first"])

    def p50_p90(name: str) -> str:
        return f"{p50[name] * ms:.3f} / {percentile(samples[name], 0.9) * ms:.3f} ms"

    rows = [
        ("proxied call p50 / p90, through handler", p50_p90("handler"), ""),
        ("same call p50 / p90, direct httpx", p50_p90("direct"), ""),
        ("bare DynamoDB GetItem (moto) p50 / p90", p50_p90("table"), ""),
        ("  the same through botocore", p50_p90("sdk"), ""),
        ("handler thread CPU per call (p50)", f"{p50['handler_cpu'] * ms:.3f} ms", ""),
        ("direct call thread CPU per call (p50)", f"{p50['direct_cpu'] * ms:.3f} ms", ""),
        ("bare GetItem CPU (p50): function's client / botocore", f"{table_cpu * ms:.3f} / {p50['sdk_cpu'] * ms:.3f} ms", f"ratio {p50['sdk_cpu'] / table_cpu:.1f}x"),
        ("handler CPU overhead per call (moto: a reconnect each call)", f"{overhead_cpu * ms:.3f} ms", ""),
        ("handler CPU overhead per call, DynamoDB kept alive", f"{kept_overhead * ms:.3f} ms", "<= 1 ms"),
        ("  of which the GetItem (kept alive; botocore's would be)", f"{kept['table_cpu'] * ms:.3f} ms ({kept['sdk_cpu'] * ms:.3f} ms)", ""),
        ("  the provider call: function's client minus direct httpx", f"{provider_delta * ms:+.3f} ms", ""),
        ("  the rest: the handler's code, the two calls in sequence", f"{(kept_overhead - kept['table_cpu'] - provider_delta) * ms:.3f} ms", ""),
        ("provider connections per 100 proxied calls", f"{connections}", "1"),
        ("cold start, session mode (import + POST /api/session)", f"{cold_session * ms:.0f} ms", ""),
        ("cold start, browser mode (import + POST /token)", f"{cold_browser * ms:.0f} ms", ""),
        ("cold start ratio session / browser", f"{cold_session / cold_browser:.2f}", "<= 1.30"),
        *metrics_overhead.rows("proxied call (kept alive)", metrics_cpu),
    ]
    width = max(len(name) for name, _, _ in rows)
    value_width = max(len(value) for _, value, _ in rows)
    print(f"session mode benchmark: {options.calls} warm proxied calls each way, {options.cold_runs} cold starts per mode, loopback fake GitHub, moto in its own process")
    print(f"{'metric':<{width}}  {'value':<{value_width}}  target")
    print(f"{'-' * width}  {'-' * value_width}  ------")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:<{value_width}}  {target}")
    print(f"(Python {sys.version.split()[0]}; cold start medians: session import {statistics.median(cold['session_import']) * ms:.0f} ms + first {statistics.median(cold['session_first']) * ms:.0f} ms, browser import {statistics.median(cold['browser_import']) * ms:.0f} ms + first {statistics.median(cold['browser_first']) * ms:.0f} ms)")


if __name__ == "__main__":
    main()
