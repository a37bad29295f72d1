"""``python3 -m local``: run the whole sign-in flow on this machine until Ctrl-C.

Without ``--config`` it runs the demo against a fake GitHub. ``--config
Pulumi.dev.yaml`` takes the providers, origins and the rest from a stack file:
``github`` without a secret still gets the fake GitHub, and every other
provider runs against its real endpoints with the client secret from the
environment variable ``OAUTH_CLIENT_SECRET_<NAME>``. Secrets are read from the
environment only, never from the command line, and never printed.
``GITHUB_CLIENT_ID`` and ``GITHUB_CLIENT_SECRET`` together still mean the real
GitHub. ``--site-dir`` serves your own built SPA instead of the demo.
``--cms [decap|sveltia|static]`` adds that CMS's admin page signing in
through the function's CMS popup mode; ``--cms-origin`` names your own.
``--json`` prints one JSON object for scripts once ready (``local.ready``),
and ``rotate-secret`` replaces a client secret while it runs
(``local.rotate_secret``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from oauth_exchange.cms_endpoints import cms_origins
from oauth_exchange.origins import allowed_origins, redirect_uris
from oauth_exchange.settings import NAMESPACE, AllowList, ConfigError, Settings, check_origin
from oauth_exchange.site_settings import SiteSettings
from oauth_exchange.stack_values import conflicting_modes, load_stack_values
from local.console import console
from local.cms_bundles import BUNDLES, InstallError
from local.http_server import LOOPBACK, PortInUse
from local.stack import (
    CMS_REPO,
    FAKE_CLIENT_ID,
    FAKE_ORGS,
    FAKE_REPLACES,
    FAKE_TEAMS,
    PROVIDER,
    REPO,
    LocalStack,
    Log,
    MissingClientSecret,
)
from local import rotate_secret
from local.ready import ready_document
from local.secrets_store import secret_variable
from local.stack_file import StackFile, StackFileError, read_stack_file

DEFAULT_SITE_PORT = 8000
DEFAULT_CMS_PORT = 8001
PORT_FLAGS = {
    "site": ("site", "--site-port"),
    "function": ("function URL", "--function-port"),
    "provider": ("fake provider", "--provider-port"),
    "cms": ("CMS admin page", "--cms-port"),
    "moto": ("moto (Secrets Manager)", "--moto-port"),
}


class SetupError(Exception):
    """What the command line asks for cannot run; the message says what to change."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _origin_flag(flag: str) -> Callable[[str], str]:
    def origin(value: str) -> str:
        try:
            return check_origin(flag, value)
        except ConfigError as error:
            raise argparse.ArgumentTypeError(error.problem) from None

    return origin


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/run-local",
        description="Run the SPA, the exchange function behind a function URL emulator, Secrets Manager (moto) "
        "and a fake GitHub on 127.0.0.1. Client secrets of real providers come from OAUTH_CLIENT_SECRET_<NAME> "
        "(GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET for the real GitHub).",
    )
    parser.add_argument("--site-port", type=int, default=DEFAULT_SITE_PORT, help="port of the SPA (0: any free port)")
    parser.add_argument("--function-port", type=int, default=0, help="port of the function URL (default: a free port)")
    parser.add_argument("--provider-port", type=int, default=0, help="port of the fake provider (default: a free port)")
    parser.add_argument(
        "--moto-port", type=int, default=0, help="port of moto's server: Secrets Manager, DynamoDB (default: a free port)"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="once ready, print one JSON object to stdout with every URL, port, callback URL, moto's endpoint and "
        "the secret's ARN (the rest goes to stderr); rotate a client secret with: rotate-secret PROVIDER "
        "--moto-endpoint URL --secret-arn ARN",
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="STACK_FILE",
        help="a Pulumi stack file (e.g. Pulumi.dev.yaml) to take oauth-exchange:providers, extraOrigins, "
        "callbackPath, siteDir and the rest from",
    )
    parser.add_argument("--site-dir", type=Path, metavar="DIR", help="serve this built SPA (with an index.html) instead of the demo")
    parser.add_argument(
        "--extra-origin",
        action="append",
        default=[],
        type=_origin_flag("--extra-origin"),
        metavar="URL",
        help="another SPA origin the function serves, e.g. a dev server's http://localhost:5173 (repeatable)",
    )
    parser.add_argument(
        "--refresh-tokens",
        action="store_true",
        help="configure GitHub with refresh: true, as for a GitHub App with expiring user tokens "
        "(the fake GitHub then issues 8-hour access tokens and rotating refresh tokens)",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="also print static-file requests, AWS SDK log records and moto's requests"
    )
    parser.add_argument(
        "--cms",
        nargs="?",
        const="decap",
        choices=sorted(BUNDLES),
        help="CMS popup mode: also serve that CMS's admin page (its published bundle from the npm registry; "
        "default decap) that signs in through the function; the fake GitHub serves its repository",
    )
    parser.add_argument(
        "--cms-origin",
        action="append",
        default=[],
        type=_origin_flag("--cms-origin"),
        metavar="URL",
        help="the origin of another CMS admin page that may sign in, e.g. your own at http://localhost:1313 "
        "(repeatable; turns CMS mode on)",
    )
    parser.add_argument("--cms-port", type=int, default=DEFAULT_CMS_PORT, help="port of the CMS admin page (0: any free port)")
    parser.add_argument(
        "--cms-repo",
        default=None,
        help=f"the repository the CMS edits, owner/name (default with the fake GitHub: {CMS_REPO}; "
        "required with the real GitHub)",
    )
    restrict = parser.add_argument_group(
        "sign-in access policy",
        f"who may sign in (anyone matching one entry; default: anyone). The fake GitHub's user is in org "
        f"{', '.join(FAKE_ORGS)} and team {', '.join(FAKE_TEAMS)}.",
    )
    for flag, key, metavar, text in ALLOW_FLAGS:
        restrict.add_argument(flag, dest=key, action="append", metavar=metavar, help=f"{text} (repeatable)")
    parser.add_argument(
        "--session",
        action="store_true",
        help="session mode: the site serves the function under /api/ on its own origin (as CloudFront would, "
        "checking x-amz-content-sha256 like origin access control), the browser holds only an HttpOnly cookie, "
        "and sessions live in DynamoDB (moto)",
    )
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


@dataclass
class Plan:
    """What to start: LocalStack's arguments, worked out from the flags, the stack file and the environment."""

    providers: dict[str, dict[str, Any]]
    client_secrets: dict[str, str] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    site_root: Path = REPO / "site"


def make_plan(args: argparse.Namespace, environ: Mapping[str, str]) -> Plan:
    """The flags and the environment layered on the stack file, checked as ``pulumi up`` checks it."""
    stack_file = read_stack_file(args.config) if args.config is not None else None
    values: dict[str, Any] = dict(stack_file.values) if stack_file is not None else {}
    providers = values.get("providers", {PROVIDER: {}} if stack_file is None else None)
    plan = Plan(providers={}, config={k: v for k, v in values.items() if k != "providers"})
    if isinstance(providers, Mapping):
        plan.providers = {name: dict(entry) if isinstance(entry, Mapping) else entry for name, entry in providers.items()}

    github_id, github_secret = environ.get("GITHUB_CLIENT_ID") or None, environ.get("GITHUB_CLIENT_SECRET") or None
    if (github_id is None) != (github_secret is None):
        raise SetupError("Set both GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET to use the real GitHub, or neither.")
    if github_id is not None and github_secret is not None:
        plan.providers[PROVIDER] = {**(plan.providers.get(PROVIDER) or {}), "clientId": github_id}
        plan.client_secrets[PROVIDER] = github_secret
    for name in plan.providers:
        secret = environ.get(secret_variable(name))
        if secret:
            plan.client_secrets[name] = secret

    if args.extra_origin:
        listed = values.get("extraOrigins") or []
        plan.config["extraOrigins"] = [*listed, *args.extra_origin] if isinstance(listed, list) else listed

    site_root = REPO / "site"
    stacked: tuple[Settings, SiteSettings] | None = None
    if stack_file is not None:
        stacked = _check_stack(stack_file, plan)
        site_root = stacked[1].site_dir if stack_file.values.get("siteDir") else site_root
    _check_flag_modes(args, stacked)
    plan.site_root = (args.site_dir.resolve() if args.site_dir is not None else site_root)
    if not plan.site_root.is_dir():
        raise SetupError(f"The site folder {plan.site_root} does not exist.")
    if not (plan.site_root / "index.html").is_file():
        raise SetupError(f"{plan.site_root} has no index.html: the site serves it for / and for client-side routes.")
    return plan


def _check_flag_modes(args: argparse.Namespace, stacked: tuple[Settings, SiteSettings] | None) -> None:
    """The program's refusal of modes that cannot be deployed together, for the modes a flag turns on.

    The stack file's own modes were checked with it; the message names the flag.
    """
    if not (args.session or args.cms or args.cms_origin):
        return
    settings, site = stacked if stacked is not None else (None, None)
    session_by = "--session" if args.session else None
    if session_by is None and settings is not None and settings.session is not None:
        session_by = f"{NAMESPACE}:session"
    cms_by = "--cms" if args.cms else "--cms-origin" if args.cms_origin else None
    if cms_by is None and settings is not None and settings.cms is not None:
        cms_by = f"{NAMESPACE}:cms"
    error = conflicting_modes(session=session_by is not None, cms=cms_by is not None, deploy_site=site is None or site.deploy)
    if error is None:
        return
    if error.key == "session":
        raise SetupError(f"{session_by}: {error.problem} (the stack file sets {NAMESPACE}:deploySite false)")
    raise SetupError(f"{cms_by} with {session_by}: {error.problem}")


def _check_stack(stack_file: StackFile, plan: Plan) -> tuple[Settings, SiteSettings]:
    """The program's own checks on what this run deploys locally; only the fake GitHub's stand-ins are added.

    A ``github`` entry without a local secret runs against the fake GitHub,
    which brings its own client id and secret; a provider whose secret comes
    from the environment has one, whatever the file says.
    """
    providers = dict(plan.providers)
    if _runs_against_fake_github(plan):
        providers[PROVIDER] = {**providers[PROVIDER], "clientId": FAKE_CLIENT_ID}
    secret_names = stack_file.secret_names if stack_file.secret_names is not None else frozenset(providers)
    given = stack_file.values.get("providers")
    values = {**plan.config, "providers": providers if isinstance(given, Mapping) else given}
    try:
        settings, site, _ = load_stack_values(
            values,
            {*secret_names, *plan.client_secrets, *([PROVIDER] if _runs_against_fake_github(plan) else [])},
            region=stack_file.region,
            base_dir=stack_file.project_dir,
        )
    except ConfigError as error:
        raise SetupError(str(error)) from None
    return settings, site


def _runs_against_fake_github(plan: Plan) -> bool:
    entry = plan.providers.get(PROVIDER)
    return isinstance(entry, Mapping) and PROVIDER not in plan.client_secrets and not FAKE_REPLACES.intersection(entry)


def _start(args: argparse.Namespace, plan: Plan, log: Log) -> LocalStack:
    """The running stack; raises SetupError with what to do when it cannot start."""
    try:
        return LocalStack(
            site_port=args.site_port,
            function_port=args.function_port,
            provider_port=args.provider_port,
            providers=plan.providers,
            client_secrets=plan.client_secrets,
            config=plan.config,
            refresh_tokens=args.refresh_tokens,
            allow=_allow(args),
            cms=args.cms or False,
            cms_origins=tuple(args.cms_origin),
            cms_port=args.cms_port,
            cms_repo=args.cms_repo or CMS_REPO,
            moto_port=args.moto_port,
            session=args.session,
            site_root=plan.site_root,
            log=log,
            verbose=args.verbose,
        ).__enter__()
    except MissingClientSecret as error:
        raise SetupError(
            f"Provider {error.provider!r} runs against its real endpoints locally: set {secret_variable(error.provider)} "
            "to its client secret (read from the environment only; the stack file's clientSecrets are encrypted). "
            "Only github without a secret runs against the fake GitHub."
        ) from None
    except ConfigError as error:
        raise SetupError(f"Bad configuration: {error}") from None
    except PortInUse as error:
        name, flag = PORT_FLAGS.get(error.server, (error.server, "the port flags"))
        raise SetupError(
            f"Could not start: the {name} port {error.port} is already in use (another run-local?). "
            f"Pick another with {flag} PORT, or {flag} 0 for any free one.",
            exit_code=1,
        ) from None
    except InstallError as error:
        raise SetupError(f"Could not install {BUNDLES[args.cms].label} for --cms: {error}", exit_code=1) from None
    except OSError as error:
        raise SetupError(f"Could not start: {error}.", exit_code=1) from None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["rotate-secret"]:
        return rotate_secret.main(argv[1:], os.environ)
    args = _parse(argv)
    try:
        plan = make_plan(args, os.environ)
    except (SetupError, StackFileError, ConfigError) as error:
        print(error, file=sys.stderr)
        return 2

    if args.cms and PROVIDER in plan.client_secrets and not args.cms_repo:
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
    human = sys.stderr if args.json else sys.stdout
    log = console(args.verbose, lambda line: print(line, file=human, flush=True))
    try:
        stack = _start(args, plan, log)
    except SetupError as error:
        print(error, file=sys.stderr)
        return error.exit_code
    try:
        _announce(stack, plan, log)
        if args.json:
            print(json.dumps(ready_document(stack), sort_keys=True), flush=True)
        stop.wait()
        log("Stopping...")
    finally:
        stack.stop()
    log("Stopped.")
    return 0


def _announce(stack: LocalStack, plan: Plan, log: Log) -> None:
    fake = stack.provider is not None
    names = [p.name for p in stack.settings.providers]
    against = ", ".join(f"a fake {p.label}" if fake and p.name == PROVIDER else f"the real {p.label}" for p in stack.settings.providers)
    demo = plan.site_root == REPO / "site"
    lines = [
        f"oauth-exchange is running locally against {against}.",
        f"  {'Open the demo:' if demo else 'Open your SPA:'}    {stack.site_url}",
        f"  Function URL:     {stack.function_url}",
        f"  Secrets Manager:  {stack.secrets.endpoint} (moto)",
    ]
    if stack.settings.session is not None:
        lines[2] = f"  Function URL:     {stack.function_url} (AWS_IAM: only the site's /api/ reaches it)"
        lines.append(f"  Session mode:     {stack.api_url}/ on the site, sessions in DynamoDB table {stack.session_table} (moto)")
    localhost = stack.site_origin.replace(LOOPBACK, "localhost", 1)
    if localhost not in allowed_origins(stack.settings, stack.site_origin):
        lines.append(
            f"  Open {LOOPBACK}, not localhost: the callback URLs and the function's CORS name {stack.site_origin} exactly, "
            f"and {localhost} is another origin to the browser, so a sign-in from it fails at the provider "
            "(or add it with --extra-origin)."
        )
    if not demo:
        lines.append(f"  Site folder:      {plan.site_root}")
    if stack.settings.extra_origins:
        lines.append(f"  Extra origins:    {' '.join(stack.settings.extra_origins)} (the SPA's config: {stack.site_url}config.js)")
    if fake:
        lines.append(f"  Fake provider:    {stack.provider.base_url}/ (signs you in as {stack.provider.user['login']})")
    for provider in stack.settings.providers:
        if fake and provider.name == PROVIDER:
            continue
        uris = " ".join(redirect_uris(stack.settings, stack.site_origin, provider))
        lines.append(f"  Callback URL to register in your {provider.label} OAuth app: {uris}")
    if len(names) > 1:
        lines.append(f"  Providers:        {', '.join(names)}")
    allow = stack.settings.provider(PROVIDER).allow if PROVIDER in names else None
    if allow is not None and allow.restricts:
        rules = [f"{label} {', '.join(values)}" for label, values in _allow_rules(allow) if values]
        lines.append(f"  Sign-in allowed for: {'; '.join(rules)}")
    if stack.cms_site is not None:
        lines.append(f"  {stack.cms_site.bundle.label + ':':<18}{stack.cms_site.admin_url} (edits {stack.cms_repo})")
    if stack.settings.cms is not None:
        lines.extend(_cms_lines(stack, fake))
    lines.append(f"  Metrics:          {stack.site_url}__metrics (counted from the function's EMF records)")
    lines.append("Press Ctrl-C to stop.")
    for line in lines:
        log(line)


def _cms_lines(stack: LocalStack, fake: bool) -> list[str]:
    """What a CMS's config.yml needs, and the callback URLs to register: printed whenever CMS mode is on."""
    outputs = stack.outputs()
    lines = [
        f"  CMS origins:      {' '.join(cms_origins(stack.settings, stack.site_origin))}",
        f"  CMS config.yml:   base_url: {outputs['cmsBaseUrl']}  auth_endpoint: {outputs['cmsAuthEndpoint']}",
    ]
    for name, url in outputs["cmsCallbackUrls"].items():
        register = "" if fake and name == PROVIDER else f" (register it in your {stack.settings.provider(name).label} OAuth app)"
        lines.append(f"  CMS callback URL: {url}{register}")
    return lines


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
