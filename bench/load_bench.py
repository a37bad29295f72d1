"""Load benchmark: hundreds of concurrent code exchanges through the function URL emulator.

Not a test: it prints a table. Each exchange uses a fresh authorization code
from the fake provider's consent page (obtained before the clock starts) and
is sent as the SPA sends it: POST /token on the function URL, which runs the
real handler in warm containers, reads the client secret from moto and calls
the fake provider. The same number of exchanges is then sent straight to the
provider's token endpoint, as the function itself sends them, for a baseline.
Everything runs on 127.0.0.1 and is bounded in count and time.

    python3 bench/load_bench.py [--total 400] [--concurrency 64] [--containers 4]
"""

from __future__ import annotations

import argparse
import multiprocessing
import queue
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from local.signin import Callback, Spa  # noqa: E402
from local.stack import LocalStack  # noqa: E402

MAX_TOTAL = 5000
MAX_CONCURRENCY = 256
REQUEST_TIMEOUT_SECONDS = 30.0
STACK_SECONDS = 60.0

RequestFor = Callable[[Callback], dict[str, Any]]
"""Keyword arguments of the POST that exchanges one grant."""


@dataclass(frozen=True)
class Run:
    """One timed batch of exchanges."""

    total: int
    errors: int
    latencies_ms: list[float]
    wall_seconds: float

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.latencies_ms) if self.latencies_ms else float("nan")

    @property
    def throughput(self) -> float:
        return (self.total - self.errors) / self.wall_seconds


@dataclass(frozen=True)
class StackInfo:
    """What the load generator needs to know about the stack running in the other process."""

    site_url: str
    token_url: str
    client_id: str
    client_secret: str


def timed_batch(
    request_for: RequestFor,
    grants: list[Callback],
    clients: queue.Queue[httpx.Client],
    deadline: float,
    in_flight: int | None = None,
) -> Run:
    """Send every grant, by default one thread per client; an exchange is an error unless it returns a token.

    Each request borrows a keep-alive client of its own: one shared httpx pool becomes the bottleneck at
    this concurrency, and building clients (an SSL context each) must not be timed.
    """

    def one(grant: Callback) -> float | None:
        if time.monotonic() > deadline:
            return None
        client = clients.get()
        started = time.perf_counter()
        try:
            response = client.post(**request_for(grant))
            ok = response.status_code == 200 and "access_token" in response.json()
        except (httpx.HTTPError, ValueError):
            ok = False
        finally:
            clients.put(client)
        return (time.perf_counter() - started) * 1000 if ok else None

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=in_flight or clients.qsize()) as pool:
        results = list(pool.map(one, grants))
    wall = time.perf_counter() - started
    latencies = [latency for latency in results if latency is not None]
    return Run(len(grants), len(grants) - len(latencies), latencies, wall)


def fresh_grants(spa: Spa, count: int) -> list[Callback]:
    """Codes from the consent page, one per exchange (codes are single-use)."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda _: spa.consent(), range(count)))


def serve_stack(connection: Connection, containers: int) -> None:
    """The child process: run a LocalStack until the parent says stop, then report what the function logged."""
    function_logs: list[str] = []
    with LocalStack(max_concurrency=containers, log=function_logs.append) as stack:
        provider = stack.provider
        assert provider is not None
        connection.send(StackInfo(stack.site_url, provider.urls["token"], provider.client_id, provider.client_secret))
        try:
            connection.recv()
        except EOFError:  # the benchmark failed and went away
            return
        cold_starts = stack.containers.cold_starts
    problems = [line for line in function_logs if "[ERROR]" in line or "[WARNING]" in line]
    connection.send((cold_starts, problems))


def run_batches(info: StackInfo, args: argparse.Namespace) -> tuple[Run, Run, int]:
    """Warm the containers and the connections, then time exchanges through the function URL and straight to the provider."""
    clients: queue.Queue[httpx.Client] = queue.Queue()
    for _ in range(args.concurrency):
        clients.put(httpx.Client(timeout=REQUEST_TIMEOUT_SECONDS))
    try:
        spa = Spa(clients.queue[0], info.site_url)

        def via_function(grant: Callback) -> dict[str, Any]:
            return spa.token_request(grant.code, grant.verifier)

        def direct(grant: Callback) -> dict[str, Any]:
            form = {
                "client_id": info.client_id,
                "client_secret": info.client_secret,
                "code": grant.code,
                "redirect_uri": spa.redirect_uri,
                "code_verifier": grant.verifier,
            }
            return {"url": info.token_url, "data": form, "headers": {"Accept": "application/json"}}

        deadline = time.monotonic() + args.max_seconds
        # Open every connection one at a time (a burst of connects would measure listen backlogs), then
        # start every container with a concurrent batch: the timed batches find everything warm.
        warm_up = [
            timed_batch(send, fresh_grants(spa, args.concurrency), clients, deadline, in_flight=1)
            for send in (via_function, direct)
        ]
        warm_up.append(timed_batch(via_function, fresh_grants(spa, args.concurrency), clients, deadline))
        via = timed_batch(via_function, fresh_grants(spa, args.total), clients, deadline)
        baseline = timed_batch(direct, fresh_grants(spa, args.total), clients, deadline)
    finally:
        for client in clients.queue:
            client.close()
    return via, baseline, sum(run.errors for run in warm_up)


def table(args: argparse.Namespace, via: Run, direct: Run) -> str:
    def ratio(a: float, b: float) -> str:
        return f"{a / b:.1f}x" if b else "-"

    rows = [
        ("exchanges", f"{via.total}", f"{direct.total}", ""),
        ("in flight", f"{args.concurrency}", f"{args.concurrency}", ""),
        ("errors", f"{via.errors}", f"{direct.errors}", ""),
        *(
            (f"p{p} latency (ms)", f"{via.percentile(p):.1f}", f"{direct.percentile(p):.1f}",
             ratio(via.percentile(p), direct.percentile(p)))
            for p in (50, 90, 99)
        ),
        ("mean latency (ms)", f"{via.mean:.1f}", f"{direct.mean:.1f}", ratio(via.mean, direct.mean)),
        ("throughput (req/s)", f"{via.throughput:.0f}", f"{direct.throughput:.0f}", ratio(via.throughput, direct.throughput)),
        ("wall time (s)", f"{via.wall_seconds:.2f}", f"{direct.wall_seconds:.2f}", ""),
    ]
    header = ("", "via function URL", "direct to provider", "ratio")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row))
        for row in [header, *rows]
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--total", type=int, default=400, help=f"exchanges per batch (max {MAX_TOTAL})")
    parser.add_argument("--concurrency", type=int, default=64, help=f"exchanges in flight (max {MAX_CONCURRENCY})")
    parser.add_argument("--containers", type=int, default=4, help="maximum function containers (Lambda concurrency)")
    parser.add_argument("--max-seconds", type=float, default=120, help="exchanges not started by then count as errors")
    args = parser.parse_args()
    if not (1 <= args.total <= MAX_TOTAL and 1 <= args.concurrency <= MAX_CONCURRENCY and args.containers >= 1):
        parser.error(f"--total must be 1..{MAX_TOTAL}, --concurrency 1..{MAX_CONCURRENCY}, --containers >= 1")

    # The stack runs in a process of its own so the load generator does not share its interpreter lock.
    spawn = multiprocessing.get_context("spawn")
    parent, child = spawn.Pipe()
    server = spawn.Process(target=serve_stack, args=(child, args.containers))
    server.start()
    try:
        if not parent.poll(STACK_SECONDS):
            raise SystemExit("the local stack did not start")
        via, baseline, warm_up_errors = run_batches(parent.recv(), args)
        parent.send("stop")
        cold_starts, problems = parent.recv() if parent.poll(STACK_SECONDS) else (0, ["the stack did not stop"])
    finally:
        parent.close()
        server.join(STACK_SECONDS)
        if server.is_alive():
            server.kill()
            server.join()

    print(
        f"Load benchmark: {args.total} code exchanges per batch, {args.concurrency} in flight, "
        f"up to {args.containers} function containers ({cold_starts} started), warm, loopback only.\n"
        f"Load from httpx in {args.concurrency} threads of one process; the stack runs in another.\n"
    )
    print(table(args, via, baseline))
    if warm_up_errors:
        print(f"warm-up (not timed): {warm_up_errors} errors")
    for line in problems[:10]:
        print(line)
    return 1 if via.errors or baseline.errors or warm_up_errors else 0


if __name__ == "__main__":
    sys.exit(main())
