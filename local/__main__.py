"""``python3 -m local``: run the whole sign-in flow on this machine until Ctrl-C.

With ``GITHUB_CLIENT_ID`` and ``GITHUB_CLIENT_SECRET`` in the environment the
flow runs against the real GitHub (the secret is read from the environment
only, never from the command line, and never printed); otherwise a fake
GitHub-compatible provider stands in. ``--cms`` adds a Decap CMS admin page
signing in through the function's CMS popup mode.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from types import FrameType

from local.decap_cms import InstallError
from local.stack import CMS_REPO, LocalStack, Log

DEFAULT_SITE_PORT = 8000
DEFAULT_CMS_PORT = 8001


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
        "--cms",
        action="store_true",
        help="CMS popup mode: also serve a Decap CMS admin page (Decap's bundle from the npm registry) "
        "that signs in through the function; the fake GitHub serves its repository",
    )
    parser.add_argument("--cms-port", type=int, default=DEFAULT_CMS_PORT, help="port of the CMS admin page (0: any free port)")
    parser.add_argument(
        "--cms-repo",
        default=None,
        help=f"the repository the CMS edits, owner/name (default with the fake GitHub: {CMS_REPO}; "
        "required with the real GitHub)",
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

    if args.cms and client_id is not None and not args.cms_repo:
        print("With the real GitHub, --cms needs --cms-repo owner/name (a repository you can push to).", file=sys.stderr)
        return 2
    if args.cms_repo is not None and (not args.cms or args.cms_repo.count("/") != 1):
        print("--cms-repo is owner/name, and goes with --cms.", file=sys.stderr)
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
            cms=args.cms,
            cms_port=args.cms_port,
            cms_repo=args.cms_repo or CMS_REPO,
            log=log,
        ).__enter__()
    except OSError as error:
        print(f"Could not start: {error}. Is a port in use? Try --site-port 0 for a free one.", file=sys.stderr)
        return 1
    except InstallError as error:
        print(f"Could not install Decap CMS for --cms: {error}", file=sys.stderr)
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
    if stack.provider is not None:
        lines.append(f"  Fake provider:    {stack.provider.base_url}/ (signs you in as {stack.provider.user['login']})")
    else:
        lines.append(f"  Callback URL to register in your GitHub OAuth app: {stack.redirect_uri}")
    if stack.cms_site is not None:
        lines.append(f"  Decap CMS:        {stack.cms_site.admin_url} (edits {stack.cms_repo})")
        if stack.provider is None:
            lines.append(f"  CMS callback URL to register at GitHub: {stack.cms_callback_url}")
    lines.append("Press Ctrl-C to stop.")
    for line in lines:
        log(line)


if __name__ == "__main__":
    sys.exit(main())
