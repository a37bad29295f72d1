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

from infra.settings import AllowList, ConfigError
from local.stack import FAKE_ORGS, FAKE_TEAMS, LocalStack, Log

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
    restrict = parser.add_argument_group(
        "sign-in access policy",
        f"who may sign in (anyone matching one entry; default: anyone). The fake GitHub's user is in org "
        f"{', '.join(FAKE_ORGS)} and team {', '.join(FAKE_TEAMS)}.",
    )
    for flag, key, metavar, text in ALLOW_FLAGS:
        restrict.add_argument(flag, dest=key, action="append", metavar=metavar, help=f"{text} (repeatable)")
    return parser.parse_args(argv)


ALLOW_FLAGS = (
    ("--allow-user", "users", "LOGIN", "allow the GitHub user LOGIN"),
    ("--allow-org", "orgs", "ORG", "allow active members of the GitHub organisation ORG"),
    ("--allow-team", "teams", "ORG/TEAM", "allow active members of the team (org/team-slug)"),
    ("--allow-email", "emails", "ADDRESS", "allow the verified email ADDRESS"),
    ("--allow-email-domain", "emailDomains", "DOMAIN", "allow verified emails @DOMAIN"),
)


def _allow(args: argparse.Namespace) -> dict[str, list[str]] | None:
    """The ``allow`` the flags ask for; None when none was given."""
    allow = {key: getattr(args, key) for _, key, _, _ in ALLOW_FLAGS if getattr(args, key)}
    return allow or None


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
            allow=_allow(args),
            log=log,
        ).__enter__()
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
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
    if stack.provider is not None:
        lines.append(f"  Fake provider:    {stack.provider.base_url}/ (signs you in as {stack.provider.user['login']})")
    else:
        lines.append(f"  Callback URL to register in your GitHub OAuth app: {stack.redirect_uri}")
    allow = stack.settings.provider("github").allow
    if allow.restricts:
        rules = [f"{label} {', '.join(values)}" for label, values in _allow_rules(allow) if values]
        lines.append(f"  Sign-in allowed for: {'; '.join(rules)}")
    lines.append("Press Ctrl-C to stop.")
    for line in lines:
        log(line)


def _allow_rules(allow: AllowList) -> list[tuple[str, tuple[str, ...]]]:
    return [
        ("users", allow.users),
        ("orgs", allow.orgs),
        ("teams", allow.teams),
        ("emails", allow.emails),
        ("email domains", allow.email_domains),
    ]


if __name__ == "__main__":
    sys.exit(main())
