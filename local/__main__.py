"""``python3 -m local``: run the whole sign-in flow on this machine until Ctrl-C.

With ``GITHUB_CLIENT_ID`` and ``GITHUB_CLIENT_SECRET`` in the environment the
flow runs against the real GitHub (the secret is read from the environment
only, never from the command line, and never printed); otherwise a fake
GitHub-compatible provider stands in.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from types import FrameType

from local.stack import LocalStack, Log

DEFAULT_SITE_PORT = 8000


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python3 -m local",
        description="Run the SPA, the exchange function behind a function URL emulator, Secrets Manager (moto) "
        "and a fake GitHub on 127.0.0.1. Set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET to use the real GitHub.",
    )
    parser.add_argument("--site-port", type=int, default=DEFAULT_SITE_PORT, help="port of the SPA (0: any free port)")
    parser.add_argument("--function-port", type=int, default=0, help="port of the function URL (default: a free port)")
    parser.add_argument("--provider-port", type=int, default=0, help="port of the fake provider (default: a free port)")
    parser.add_argument(
        "--refresh-tokens",
        action="store_true",
        help="configure GitHub with refresh: true, as for a GitHub App with expiring user tokens "
        "(the fake GitHub then issues 8-hour access tokens and rotating refresh tokens)",
    )
    parser.add_argument(
        "--session",
        action="store_true",
        help="session mode: the site serves the function under /api/ on its own origin (as CloudFront would, "
        "checking x-amz-content-sha256 like origin access control), the browser holds only an HttpOnly cookie, "
        "and sessions live in DynamoDB (moto)",
    )
    return parser.parse_args(argv)


def _printer() -> Log:
    lock = threading.Lock()

    def write(line: str) -> None:
        with lock:
            print(line, flush=True)

    return write


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    client_id = os.environ.get("GITHUB_CLIENT_ID") or None
    client_secret = os.environ.get("GITHUB_CLIENT_SECRET") or None
    if (client_id is None) != (client_secret is None):
        print("Set both GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET to use the real GitHub, or neither.", file=sys.stderr)
        return 2

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    log = _printer()
    try:
        stack = LocalStack(
            site_port=args.site_port,
            function_port=args.function_port,
            provider_port=args.provider_port,
            github_client_id=client_id,
            github_client_secret=client_secret,
            refresh_tokens=args.refresh_tokens,
            session=args.session,
            log=log,
        ).__enter__()
    except OSError as error:
        print(f"Could not start: {error}. Is a port in use? Try --site-port 0 for a free one.", file=sys.stderr)
        return 1
    try:
        _announce(stack, log)
        stop.wait()
        log("Stopping...")
    finally:
        stack.stop()
    log("Stopped.")
    return 0


def _announce(stack: LocalStack, log: Log) -> None:
    provider = "a fake GitHub" if stack.provider is not None else "the real GitHub"
    lines = [
        f"oauth-exchange is running locally against {provider}.",
        f"  Open the demo:    {stack.site_url}",
        f"  Function URL:     {stack.function_url}",
        f"  Secrets Manager:  {stack.secrets.endpoint} (moto)",
    ]
    if stack.settings.session is not None:
        lines[2] = f"  Function URL:     {stack.function_url} (AWS_IAM: only the site's /api/ reaches it)"
        lines.append(f"  Session mode:     {stack.api_url}/ on the site, sessions in DynamoDB table {stack.session_table} (moto)")
    if stack.provider is not None:
        lines.append(f"  Fake provider:    {stack.provider.base_url}/ (signs you in as {stack.provider.user['login']})")
    else:
        lines.append(f"  Callback URL to register in your GitHub OAuth app: {stack.redirect_uri}")
    lines.append("Press Ctrl-C to stop.")
    for line in lines:
        log(line)


if __name__ == "__main__":
    sys.exit(main())
