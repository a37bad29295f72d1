"""Benchmark of the exchange function against a local fake GitHub provider (not a test).

    python bench/function_bench.py [--exchanges N] [--cold-runs N]

Everything is measured side by side in one run, over loopback:

* warm exchange latency through ``handler.handler`` vs a direct ``httpx`` call
  to the same provider (interleaved, so both see the same machine load);
* TCP connections the provider accepts during 100 warm exchanges from a fresh
  container (over HTTPS each one would also be a TLS handshake);
* handler module import time and first-request time (secret fetch from a moto
  server over HTTP included), each in a fresh interpreter;
* the size of the deployment zip (``oauth_exchange.packaging.build_archive``: function/
  plus its arm64 wheels, deflated).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FUNCTION_DIR = ROOT / "function"
sys.path[:0] = [str(ROOT), str(ROOT / "infra"), str(FUNCTION_DIR)]

import boto3  # noqa: E402
import httpx  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

from oauth_exchange.packaging import build_archive  # noqa: E402
from local.fake_provider import FakeProvider  # noqa: E402

REDIRECT_URI = "http://127.0.0.1:8000/callback/github"
REGION = "us-east-1"
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": REGION,
}

COLD_START_SCRIPT = """
import json, sys, time
started = time.perf_counter()
import handler
imported = time.perf_counter()
event = json.loads(sys.argv[1])
first = handler.handler(event, None)
answered = time.perf_counter()
print(json.dumps({"import": imported - started, "first": answered - imported, "status": first["statusCode"]}))
"""


def token_event(grant: tuple[str, str]) -> dict[str, Any]:
    code, verifier = grant
    body = json.dumps({"provider": "github", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier})
    return {
        "rawPath": "/token",
        "headers": {"content-type": "application/json", "origin": "http://127.0.0.1:8000"},
        "requestContext": {"http": {"method": "POST"}, "requestId": "bench"},
        "body": body,
        "isBase64Encoded": False,
    }


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def deploy(provider: FakeProvider, moto_url: str) -> dict[str, str]:
    """Create the secret in the moto server; return the function's environment."""
    client = boto3.client("secretsmanager", region_name=REGION, endpoint_url=moto_url, **_credentials())
    arn = client.create_secret(
        Name=f"bench-{time.time_ns()}", SecretString=json.dumps({"github": provider.client_secret})
    )["ARN"]
    config = {
        "providers": {"github": provider.provider_config()},
        "allowed_origins": ["http://127.0.0.1:8000"],
        "timeout_seconds": 5,
    }
    return {
        **FAKE_AWS,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_url,
        "OAUTH_CONFIG": json.dumps(config),
        "OAUTH_CLIENT_SECRETS_ARN": arn,
    }


def _credentials() -> dict[str, str]:
    return {"aws_access_key_id": FAKE_AWS["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": FAKE_AWS["AWS_SECRET_ACCESS_KEY"]}


def warm_latency(provider: FakeProvider, handler: Any, exchanges: int) -> tuple[list[float], list[float]]:
    """Interleaved warm exchanges: (through the handler, direct httpx), in seconds."""
    direct = httpx.Client()
    form = {"client_id": provider.client_id, "client_secret": provider.client_secret, "redirect_uri": REDIRECT_URI}
    via_handler: list[float] = []
    via_httpx: list[float] = []
    for round_number in range(exchanges + 50):
        event = token_event(provider.authorize_pkce(REDIRECT_URI))
        started = time.perf_counter()
        answer = handler.handler(event, None)
        handler_time = time.perf_counter() - started
        assert answer["statusCode"] == 200, answer

        code, verifier = provider.authorize_pkce(REDIRECT_URI)
        started = time.perf_counter()
        reply = direct.post(
            provider.urls["token"],
            data={**form, "code": code, "code_verifier": verifier},
            headers={"Accept": "application/json"},
        )
        reply.json()
        direct_time = time.perf_counter() - started
        assert reply.status_code == 200

        if round_number >= 50:  # the first rounds warm both clients up
            via_handler.append(handler_time)
            via_httpx.append(direct_time)
    direct.close()
    return via_handler, via_httpx


def connections_per_100(provider: FakeProvider, handler: Any, exchange: Any) -> tuple[int, int]:
    """Connections accepted for 100 exchanges from a fresh container: (handler, direct httpx)."""
    exchange.reset()
    before = provider.connections_accepted
    for _ in range(100):
        assert handler.handler(token_event(provider.authorize_pkce(REDIRECT_URI)), None)["statusCode"] == 200
    through_handler = provider.connections_accepted - before

    before = provider.connections_accepted
    form = {"client_id": provider.client_id, "client_secret": provider.client_secret, "redirect_uri": REDIRECT_URI}
    with httpx.Client() as direct:
        for _ in range(100):
            code, verifier = provider.authorize_pkce(REDIRECT_URI)
            direct.post(provider.urls["token"], data={**form, "code": code, "code_verifier": verifier})
    return through_handler, provider.connections_accepted - before


def cold_starts(provider: FakeProvider, environment: dict[str, str], runs: int) -> tuple[list[float], list[float]]:
    """(import seconds, first-request seconds) measured in fresh interpreters."""
    imports: list[float] = []
    firsts: list[float] = []
    env = {**os.environ, **environment, "PYTHONPATH": str(FUNCTION_DIR), "PYTHONDONTWRITEBYTECODE": "1"}
    for _ in range(runs):
        event = json.dumps(token_event(provider.authorize_pkce(REDIRECT_URI)))
        result = subprocess.run(
            [sys.executable, "-c", COLD_START_SCRIPT, event], env=env, capture_output=True, text=True, check=True
        )
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        assert figures["status"] == 200, result.stderr
        imports.append(figures["import"])
        firsts.append(figures["first"])
    return imports, firsts


def zip_size() -> tuple[int, str]:
    with tempfile.TemporaryDirectory(prefix="function-bench-") as build_dir:
        archive = build_archive(FUNCTION_DIR, Path(build_dir))
        return archive.path.stat().st_size, archive.path.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--exchanges", type=int, default=500, help="warm exchanges measured each way")
    parser.add_argument("--cold-runs", type=int, default=5, help="fresh interpreters for import/first request")
    options = parser.parse_args()

    # Lambda writes every log line somewhere; so does the benchmark, just not to the screen.
    logging.basicConfig(stream=open(os.devnull, "w"), level=logging.WARNING)  # noqa: SIM115
    os.environ.update(FAKE_AWS)

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    moto_url = f"http://{host}:{port}"
    provider = FakeProvider("github", client_secret="bench-client-secret", redirect_uris=[REDIRECT_URI]).start()
    try:
        environment = deploy(provider, moto_url)
        os.environ.update(environment)
        import exchange
        import handler

        via_handler, via_httpx = warm_latency(provider, handler, options.exchanges)
        handler_connections, direct_connections = connections_per_100(provider, handler, exchange)
        imports, firsts = cold_starts(provider, environment, options.cold_runs)
        exchange.reset()
    finally:
        provider.stop()
        moto.stop()
    size, zip_name = zip_size()

    handler_p50, direct_p50 = statistics.median(via_handler), statistics.median(via_httpx)
    ms = 1000.0
    rows = [
        ("warm exchange p50, through handler", f"{handler_p50 * ms:.3f} ms", ""),
        ("warm exchange p50, direct httpx", f"{direct_p50 * ms:.3f} ms", ""),
        ("ratio handler / direct (p50)", f"{handler_p50 / direct_p50:.2f}", "<= 1.2"),
        ("warm exchange p90, handler / direct", f"{percentile(via_handler, 0.9) * ms:.3f} / {percentile(via_httpx, 0.9) * ms:.3f} ms", ""),
        ("TCP connections per 100 warm exchanges", f"{handler_connections} (direct httpx: {direct_connections})", "1"),
        ("handler module import, fresh process (median)", f"{statistics.median(imports) * ms:.0f} ms", ""),
        ("first request incl. secret fetch (median)", f"{statistics.median(firsts) * ms:.0f} ms", ""),
        ("deployment zip (function + arm64 deps)", f"{size / 1024:.0f} KiB ({size} bytes)", "< 1 MB"),
    ]
    width = max(len(name) for name, _, _ in rows)
    value_width = max(len(value) for _, value, _ in rows)
    print(f"exchange function benchmark: {options.exchanges} warm exchanges each way, {options.cold_runs} cold starts, loopback fake GitHub")
    print(f"{'metric':<{width}}  {'value':<{value_width}}  target")
    print(f"{'-' * width}  {'-' * value_width}  ------")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:<{value_width}}  {target}")
    print(f"(zip: {zip_name}; Python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
