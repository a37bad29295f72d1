"""Benchmark of the exchange function against local fake GitHub providers (not a test).

    python3 bench/function_bench.py [--exchanges N] [--cold-runs N] [--baseline REV|'']

Everything is measured side by side in one run, over loopback, against two
fake GitHubs: one on plain HTTP and one on HTTPS with a certificate from a
throwaway CA made for this run (``local.loopback_tls``; the function trusts
it through ``SSL_CERT_FILE`` and trusts nothing else).

* warm exchange latency through ``handler.handler`` vs a direct ``httpx`` call
  to the same provider, all four interleaved in each round so every column
  sees the same machine load;
* TCP connections the provider accepts during 100 warm exchanges from a fresh
  container (over HTTPS each one is also a full TLS handshake);
* cold start, in fresh interpreters laid out as Lambda lays them out: the
  deployment zip unpacked (the function plus its pinned dependencies) and the
  runtime's boto3/botocore beside it, with no other site-packages, so nothing
  installed on this machine for the tests changes what the import pulls in.
  Import, first invoke (HTTPS provider) and second invoke, each as wall and
  CPU time (``time.process_time``), and the first invoke projected to a
  256 MB Lambda; with the secret read from moto over plain HTTP and over
  HTTPS, where botocore opens a TLS connection as it does in AWS. The trust
  bundle is certifi's plus the throwaway CA, so loading it costs what loading
  the real one does;
* the size of the deployment zip (``oauth_exchange.packaging.build_archive``);
* the warm HTTPS exchange's CPU with the request line's metrics on vs off
  (``metrics_overhead``), the line encoded as Lambda's JSON log format does,
  and vs ``function/`` as it was at a git revision (``--baseline REV``; by
  default the function before the metrics, the 2 % target's reference),
  loaded beside today's in the same process (``baseline``), interleaved.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import logging
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FUNCTION_DIR = ROOT / "function"
sys.path[:0] = [str(ROOT), str(ROOT / "infra"), str(FUNCTION_DIR)]

import boto3  # noqa: E402
import certifi  # noqa: E402
import httpx  # noqa: E402
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

import baseline  # noqa: E402
import metrics  # noqa: E402 - function/metrics.py: names only, it imports nothing of the function's
import metrics_overhead  # noqa: E402
from oauth_exchange.packaging import build_archive  # noqa: E402
from local.fake_provider import FakeProvider  # noqa: E402
from local.loopback_tls import LoopbackCA  # noqa: E402

BENCH_NAMESPACE = "OAuthExchange/oauth-exchange/dev"
"""As long as a deployed stack's (``monitoring_plan.metrics_namespace``): the line's size is part of the cost."""
SPA_ORIGIN = "http://127.0.0.1:8000"
REGION = "us-east-1"
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": REGION,
}
SCHEMES = ("http", "https")
WARMUP_ROUNDS = 50
POLICY_SUFFIX = "-policy"
POLICY = {"users": ["octocat"]}
"""The fake GitHub's user; checking it costs the function one ``GET /user`` after the exchange."""
GITHUB_API_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}

FULL_VCPU_MB = 1769
"""Lambda memory size that gets one full vCPU; CPU share scales linearly with memory below it."""
PROJECTED_MB = 256

RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
"""What Lambda's Python runtime provides beside the deployment zip (boto3 and its dependencies)."""

COLD_START_SCRIPT = """
import json, sys, time
events = json.loads(sys.stdin.read())
modules_before = len(sys.modules)
wall, cpu = time.perf_counter(), time.process_time()
import handler
marks = [(time.perf_counter(), time.process_time())]
modules = len(sys.modules) - modules_before
statuses = [handler.handler(event, None)["statusCode"] for event in events[:1]]
marks.append((time.perf_counter(), time.process_time()))
statuses += [handler.handler(event, None)["statusCode"] for event in events[1:]]
marks.append((time.perf_counter(), time.process_time()))
spans = []
for end_wall, end_cpu in marks:
    spans.append((end_wall - wall, end_cpu - cpu))
    wall, cpu = end_wall, end_cpu
print(json.dumps({"spans": spans, "modules": modules, "statuses": statuses}))
"""


def redirect_uri(name: str) -> str:
    return f"{SPA_ORIGIN}/callback/{name}"


def token_event(name: str, grant: tuple[str, str]) -> dict[str, Any]:
    code, verifier = grant
    body = json.dumps({"provider": name, "code": code, "redirect_uri": redirect_uri(name), "code_verifier": verifier})
    return {
        "rawPath": "/token",
        "headers": {"content-type": "application/json", "origin": SPA_ORIGIN},
        "requestContext": {"http": {"method": "POST"}, "requestId": "bench"},
        "body": body,
        "isBase64Encoded": False,
    }


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass
class Target:
    """One fake GitHub as the function knows it (``name`` in OAUTH_CONFIG) and a direct client for it.

    With ``allow``, the function checks the user against it with the fake's
    API after each exchange, and the direct client makes the same call.
    """

    scheme: str
    name: str
    provider: FakeProvider
    direct_client: Callable[[], httpx.Client]
    allow: dict[str, Any] | None = None

    @property
    def policy(self) -> Target:
        """The same provider under another name, with an access policy only the fake's user passes."""
        return Target(self.scheme, f"{self.name}{POLICY_SUFFIX}", self.provider, self.direct_client, POLICY)

    def handler_event(self) -> dict[str, Any]:
        """POST /token for a fresh code, as the SPA sends it (the code is issued before any clock starts)."""
        return token_event(self.name, self.provider.authorize_pkce(redirect_uri(self.name)))

    def direct_form(self) -> dict[str, str]:
        """The token request the function would send for a fresh code."""
        provider = self.provider
        code, verifier = provider.authorize_pkce(redirect_uri(self.name))
        return {
            "client_id": provider.client_id,
            "client_secret": provider.client_secret,
            "redirect_uri": redirect_uri(self.name),
            "code": code,
            "code_verifier": verifier,
        }

    def exchange_via_handler(self, handler: Any, event: dict[str, Any]) -> None:
        answer = handler.handler(event, None)
        assert answer["statusCode"] == 200, answer

    def exchange_directly(self, client: httpx.Client, form: dict[str, str]) -> None:
        """One code exchange as the function sends it, without the function."""
        reply = client.post(self.provider.urls["token"], data=form, headers={"Accept": "application/json"})
        token = reply.json()["access_token"]
        assert reply.status_code == 200, reply.text
        if self.allow is not None:
            user = client.get(f"{self.provider.urls['api']}/user", headers={**GITHUB_API_HEADERS, "Authorization": f"Bearer {token}"})
            assert user.json()["login"] in self.allow["users"], user.text


def deploy(targets: list[Target], moto_url: str, ca_bundle: Path) -> dict[str, str]:
    """Create the secret in the moto server; return the function's environment."""
    client = boto3.client("secretsmanager", region_name=REGION, endpoint_url=moto_url, **_credentials())
    document = {target.name: target.provider.client_secret for target in targets}
    arn = client.create_secret(Name=f"bench-{time.time_ns()}", SecretString=json.dumps(document))["ARN"]
    config = {
        "providers": {target.name: target.provider.provider_config(allow=target.allow) for target in targets},
        "allowed_origins": [SPA_ORIGIN],
        "timeout_seconds": 5,
    }
    return {
        **FAKE_AWS,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_url,
        "OAUTH_CONFIG": json.dumps(config),
        "OAUTH_CLIENT_SECRETS_ARN": arn,
        "SSL_CERT_FILE": str(ca_bundle),
        "AWS_CA_BUNDLE": str(ca_bundle),
    }


def _credentials() -> dict[str, str]:
    return {"aws_access_key_id": FAKE_AWS["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": FAKE_AWS["AWS_SECRET_ACCESS_KEY"]}


class MotoServer:
    """moto's Secrets Manager on 127.0.0.1, over HTTPS when given a server context.

    Every moto server in a process shares one backend: a secret created
    through one is read through any other.
    """

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self._server = make_server("127.0.0.1", 0, DomainDispatcherApplication(create_backend_app), threaded=True, ssl_context=tls)
        self.url = f"{'http' if tls is None else 'https'}://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()


def trust_bundle(ca: LoopbackCA, directory: Path) -> Path:
    """certifi's CAs plus the throwaway one: as costly to load as the real bundle, and it trusts the fakes."""
    path = directory / "ca-bundle.pem"
    path.write_bytes(Path(certifi.where()).read_bytes() + b"\n" + ca.cert_pem)
    return path


@dataclass
class Samples:
    """Warm exchanges of one scheme, in seconds: wall time and CPU time, each way.

    CPU time is the calling thread's own (``time.thread_time``): the work of
    the handler and its HTTP client, or of the direct client, without the fake
    provider's threads. Unlike wall time it barely moves when other work
    crowds the machine.
    """

    handler_wall: list[float] = field(default_factory=list)
    direct_wall: list[float] = field(default_factory=list)
    handler_cpu: list[float] = field(default_factory=list)
    direct_cpu: list[float] = field(default_factory=list)


def warm_latency(targets: list[Target], handler: Any, exchanges: int) -> dict[str, Samples]:
    """Per scheme, exchanges through the handler and direct httpx.

    Each round times all four kinds back to back, handler and direct taking
    turns to go first, so drifting machine load hits every column alike.
    """
    clients = {target.name: target.direct_client() for target in targets}
    samples = {target.name: Samples() for target in targets}
    for round_number in range(exchanges + WARMUP_ROUNDS):
        for target in targets:
            event, form = target.handler_event(), target.direct_form()
            via_handler = functools.partial(target.exchange_via_handler, handler, event)
            direct = functools.partial(target.exchange_directly, clients[target.name], form)
            if round_number % 2:
                direct_time, handler_time = _timed(direct), _timed(via_handler)
            else:
                handler_time, direct_time = _timed(via_handler), _timed(direct)
            if round_number >= WARMUP_ROUNDS:
                kept = samples[target.name]
                kept.handler_wall.append(handler_time[0])
                kept.handler_cpu.append(handler_time[1])
                kept.direct_wall.append(direct_time[0])
                kept.direct_cpu.append(direct_time[1])
    for client in clients.values():
        client.close()
    return samples


def _timed(call: Callable[[], None]) -> tuple[float, float]:
    """(wall, this thread's CPU) seconds the call took."""
    wall, cpu = time.perf_counter(), time.thread_time()
    call()
    return time.perf_counter() - wall, time.thread_time() - cpu


def connections_per_100(target: Target, handler: Any, exchange: Any) -> tuple[int, int]:
    """Connections the provider accepted for 100 exchanges from a fresh container: (handler, direct httpx)."""
    provider = target.provider
    exchange.reset()
    before, user_calls = provider.connections_accepted, len(provider.requests_to("/user"))
    for _ in range(100):
        target.exchange_via_handler(handler, target.handler_event())
    through_handler = provider.connections_accepted - before
    checks = len(provider.requests_to("/user")) - user_calls
    if checks != (0 if target.allow is None else 100):
        raise SystemExit(f"{target.name}: the function called GET /user {checks} times in 100 exchanges")

    before = provider.connections_accepted
    with target.direct_client() as client:
        for _ in range(100):
            target.exchange_directly(client, target.direct_form())
    return through_handler, provider.connections_accepted - before


def lambda_layout(archive: Path, directory: Path) -> list[Path]:
    """The import path Lambda gives the function: the unpacked zip, then the runtime's boto3 and its dependencies."""
    task, runtime = directory / "task", directory / "runtime"
    with zipfile.ZipFile(archive) as unpacked:
        unpacked.extractall(task)
    runtime.mkdir()
    for module in RUNTIME_MODULES:
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            raise SystemExit(f"{module} is not installed; the cold start needs what Lambda's runtime provides")
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (runtime / source.name).symlink_to(source)
    return [task, runtime]


@dataclass(frozen=True)
class ColdStart:
    """Medians over fresh interpreters, in milliseconds (wall, CPU)."""

    import_ms: tuple[float, float]
    first_ms: tuple[float, float]
    second_ms: tuple[float, float]
    modules: int

    @property
    def projected_first_ms(self) -> float:
        """First invoke on a 256 MB Lambda: its CPU time stretched by the CPU share, waits unchanged."""
        wall, cpu = self.first_ms
        return cpu * FULL_VCPU_MB / PROJECTED_MB + max(0.0, wall - cpu)


def cold_starts(
    target: Target, environments: dict[str, dict[str, str]], import_path: list[Path], runs: int
) -> dict[str, ColdStart]:
    """Per environment, fresh interpreters (``-S``: no site-packages) importing the handler and invoking it twice.

    The environments take turns, run by run, so they see the same machine load.
    """
    figures: dict[str, list[dict[str, Any]]] = {name: [] for name in environments}
    for _ in range(runs):
        for name, environment in environments.items():
            figures[name].append(_cold_start(target, environment, import_path))
    return {name: _medians(runs_of) for name, runs_of in figures.items()}


def _cold_start(target: Target, environment: dict[str, str], import_path: list[Path]) -> dict[str, Any]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        **environment,
        "PYTHONPATH": os.pathsep.join(str(path) for path in import_path),
        "PYTHONDONTWRITEBYTECODE": "1",  # /var/task is read-only on Lambda: the zip's modules compile on every cold start
    }
    events = [target.handler_event(), target.handler_event()]
    result = subprocess.run(
        [sys.executable, "-S", "-c", COLD_START_SCRIPT],
        input=json.dumps(events),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"cold start failed:\n{result.stderr}")
    run = json.loads(result.stdout.strip().splitlines()[-1])
    if run["statuses"] != [200, 200]:
        raise SystemExit(f"cold start answered {run['statuses']}:\n{result.stderr}")
    return run


def _medians(figures: list[dict[str, Any]]) -> ColdStart:
    def median_span(index: int) -> tuple[float, float]:
        return (
            statistics.median(run["spans"][index][0] for run in figures) * 1000,
            statistics.median(run["spans"][index][1] for run in figures) * 1000,
        )

    return ColdStart(median_span(0), median_span(1), median_span(2), round(statistics.median(r["modules"] for r in figures)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--exchanges", type=int, default=500, help="warm exchanges measured each way, per scheme")
    parser.add_argument("--cold-runs", type=int, default=7, help="fresh interpreters for the cold start")
    parser.add_argument(
        "--baseline",
        help=f"a git revision whose function/ the warm HTTPS exchange's CPU is compared with "
        f"(default {metrics_overhead.BEFORE_METRICS}, the function before the metrics; '' for none)",
    )
    options = parser.parse_args()
    options.baseline = metrics_overhead.baseline_revision(options.baseline)

    # Lambda writes every log line somewhere; so does the benchmark, just not to the screen.
    logging.basicConfig(stream=open(os.devnull, "w"), level=logging.WARNING)  # noqa: SIM115
    os.environ.update(FAKE_AWS)

    ca = LoopbackCA()
    stores = {"http": MotoServer(), "https": MotoServer(ca.server_context())}
    plain = [
        Target("http", "github-http", _fake_github("github-http"), httpx.Client),
        Target("https", "github-https", _fake_github("github-https", ca), lambda: httpx.Client(verify=ca.client_context())),
    ]
    targets = plain + [target.policy for target in plain]
    with tempfile.TemporaryDirectory(prefix="function-bench-") as scratch:
        scratch_dir = Path(scratch)
        archive = build_archive(FUNCTION_DIR, scratch_dir / "build")
        size = archive.path.stat().st_size
        try:
            environment = deploy(targets, stores["http"].url, trust_bundle(ca, scratch_dir))
            environment[metrics.NAMESPACE_ENV] = BENCH_NAMESPACE
            os.environ.update(environment)
            import exchange
            import handler

            older = None if options.baseline is None else baseline.load(baseline.extract(options.baseline, scratch_dir), FUNCTION_DIR)
            latency = warm_latency(targets, handler, options.exchanges)
            https = plain[1]
            metrics_cpu = metrics_overhead.compare(
                lambda through: functools.partial(https.exchange_via_handler, through, https.handler_event()),
                handler,
                options.exchanges,
                older,
            )
            connections = {target.name: connections_per_100(target, handler, exchange) for target in targets}
            cold = cold_starts(
                plain[1],
                {scheme: {**environment, "AWS_ENDPOINT_URL_SECRETS_MANAGER": store.url} for scheme, store in stores.items()},
                lambda_layout(archive.path, scratch_dir),
                options.cold_runs,
            )
            exchange.reset()
        finally:
            for target in plain:
                target.provider.stop()
            for store in stores.values():
                store.stop()

    print_table(options, latency, connections, cold, size)
    print()
    metrics_rows = metrics_overhead.rows("warm HTTPS exchange", metrics_cpu, options.baseline)
    _print_rows(["metric", "value", "target"], [list(row) for row in metrics_rows])
    print(f"(zip: {archive.path.name}; Python {sys.version.split()[0]}; {os.cpu_count()} CPUs shared with other work)")


def _fake_github(name: str, ca: LoopbackCA | None = None) -> FakeProvider:
    return FakeProvider(
        "github",
        client_secret=f"bench-client-secret-{name}",
        redirect_uris=[redirect_uri(name), redirect_uri(name + POLICY_SUFFIX)],
        tls=None if ca is None else ca.server_context(),
    ).start()


def print_table(
    options: argparse.Namespace,
    latency: dict[str, Samples],
    connections: dict[str, tuple[int, int]],
    cold: dict[str, ColdStart],
    zip_bytes: int,
) -> None:
    ms = 1000.0

    def per_scheme(render: Callable[[Samples], str]) -> list[str]:
        return [render(latency[target_name(scheme)]) for scheme in SCHEMES]

    median, mean = statistics.median, statistics.fmean
    rows: list[list[str]] = [
        ["warm exchange p50, through handler", *per_scheme(lambda s: f"{median(s.handler_wall) * ms:.3f} ms"), ""],
        ["warm exchange p50, direct httpx", *per_scheme(lambda s: f"{median(s.direct_wall) * ms:.3f} ms"), ""],
        ["ratio handler / direct (p50)", *per_scheme(lambda s: f"{median(s.handler_wall) / median(s.direct_wall):.2f}"), "<= 1.10 over TLS"],
        [
            "ratio handler / direct, median of per-round ratios",
            *per_scheme(lambda s: f"{median(h / d for h, d in zip(s.handler_wall, s.direct_wall, strict=True)):.2f}"),
            "(each round back to back)",
        ],
        [
            "warm exchange p90, handler / direct",
            *per_scheme(lambda s: f"{percentile(s.handler_wall, 0.9) * ms:.3f} / {percentile(s.direct_wall, 0.9) * ms:.3f} ms"),
            "",
        ],
        [
            "client CPU per warm exchange, handler / direct",
            *per_scheme(lambda s: f"{mean(s.handler_cpu) * ms:.3f} / {mean(s.direct_cpu) * ms:.3f} ms = {mean(s.handler_cpu) / mean(s.direct_cpu):.2f}"),
            "(thread CPU, provider excluded)",
        ],
        [
            "connections per 100 warm exchanges, handler / direct",
            *(f"{connections[target_name(scheme)][0]} / {connections[target_name(scheme)][1]}" for scheme in SCHEMES),
            "1",
        ],
        [
            "with access-policy check (allow.users): p50, handler / direct",
            *(_policy_cell(latency[target_name(scheme, policy=True)]) for scheme in SCHEMES),
            "one more round trip each",
        ],
        [
            "  its connections per 100 warm exchanges, handler / direct",
            *(f"{connections[target_name(scheme, policy=True)][0]} / {connections[target_name(scheme, policy=True)][1]}" for scheme in SCHEMES),
            "1",
        ],
    ]

    def per_store(render: Callable[[ColdStart], str]) -> list[str]:
        return [render(cold[scheme]) for scheme in SCHEMES]

    cold_rows: list[list[str]] = [
        ["handler import (init)", *per_store(lambda c: f"{c.import_ms[0]:.0f} ms wall, {c.import_ms[1]:.0f} ms CPU"), ""],
        ["modules the import loads", *per_store(lambda c: str(c.modules)), ""],
        ["first invoke (secret read + exchange)", *per_store(lambda c: f"{c.first_ms[0]:.1f} ms wall, {c.first_ms[1]:.1f} ms CPU"), "<= 25 ms, waits aside"],
        ["second invoke (warm, for comparison)", *per_store(lambda c: f"{c.second_ms[0]:.1f} ms wall, {c.second_ms[1]:.1f} ms CPU"), ""],
        [f"first invoke projected to {PROJECTED_MB} MB", *per_store(lambda c: f"~{c.projected_first_ms:.0f} ms"), ""],
    ]
    print(
        f"exchange function benchmark: {options.exchanges} warm exchanges each way per scheme, "
        f"{options.cold_runs} cold starts, loopback fake GitHubs"
    )
    _print_rows(["metric", "HTTP", "HTTPS (TLS 1.3, throwaway CA)", "target"], rows)
    print()
    print(f"cold start, HTTPS fake GitHub, medians of {options.cold_runs} fresh interpreters in a Lambda-like layout:")
    _print_rows(["metric", "secret from moto over HTTP", "secret from moto over HTTPS", "target"], cold_rows)
    print(
        f"projection: Lambda runs init (the import) on a full vCPU and an invocation on {PROJECTED_MB}/{FULL_VCPU_MB} "
        f"of one (~1/{FULL_VCPU_MB / PROJECTED_MB:.1f}); projected = first-invoke CPU x {FULL_VCPU_MB / PROJECTED_MB:.1f} "
        "+ its waits (wall - CPU) unchanged, assuming one core here ~ one Lambda vCPU."
    )
    print(f"deployment zip (function + arm64 deps): {zip_bytes / 1024:.0f} KiB ({zip_bytes} bytes), target < 1 MB")


def target_name(scheme: str, *, policy: bool = False) -> str:
    return f"github-{scheme}{POLICY_SUFFIX if policy else ''}"


def _policy_cell(samples: Samples) -> str:
    handler, direct = statistics.median(samples.handler_wall), statistics.median(samples.direct_wall)
    return f"{handler * 1000:.3f} / {direct * 1000:.3f} ms = {handler / direct:.2f}"


def _print_rows(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    for row in [header, ["-" * width for width in widths], *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    main()
