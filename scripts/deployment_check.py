"""``scripts/smoke``: does a deployed stack work? One verdict per check, non-zero exit on any failure.

It reads the stack's outputs (``pulumi stack output --json``, a file holding
them, or URLs given as flags) and checks, over HTTP only:

- the site: it answers ``index.html``, with the security headers the product
  promises, and its ``config.js`` points at this function and is never cached;
- the function URL's CORS: a preflight from the site's origin is allowed, one
  from a foreign origin is refused;
- each provider's client secret: a ``/token`` call with a made-up code and a
  well-formed PKCE verifier. The provider checks the client credentials before
  the code, so ``invalid_grant`` proves the secret is right and
  ``server_misconfigured`` says it is wrong.

Nothing here needs AWS credentials, and nothing secret is sent or printed: the
code and verifier are random and mean nothing to the provider. A failed check
names the section of ``docs/runbook.md`` that says what to do.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

FOREIGN_ORIGIN = "https://smoke-check.invalid"
TIMEOUT_SECONDS = 15.0
PULUMI_TIMEOUT_SECONDS = 120.0
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
HSTS_MIN_SECONDS = 31536000
UNSAFE_SCRIPT_SOURCES = frozenset({"'unsafe-inline'", "'unsafe-eval'", "*"})
SAFE_REFERRER_POLICIES = frozenset({"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"})
RUNBOOK = "docs/runbook.md"
RUNBOOK_SECTIONS = (("client secret", "server-misconfigured"), ("CORS preflight", "smoke-cors"), ("", "smoke-site"))
"""A check's name prefix, and the runbook section for when it fails (the first prefix that matches)."""


def runbook_for(check: str) -> str:
    """Where the runbook says what to do when ``check`` fails."""
    section = next(section for prefix, section in RUNBOOK_SECTIONS if check.startswith(prefix))
    return f"{RUNBOOK}#{section}"


class UsageError(Exception):
    """The check cannot run as asked; the message says what to give instead."""


@dataclass(frozen=True)
class Verdict:
    name: str
    ok: bool | None
    """True passed, False failed, None skipped."""
    detail: str

    @property
    def label(self) -> str:
        return {True: "PASS", False: "FAIL", None: "SKIP"}[self.ok]


@dataclass
class Target:
    """What to check, from the stack outputs and the flags."""

    function_url: str
    site_url: str | None = None
    origin: str | None = None
    callback_urls: Any = None
    """The ``callbackUrls`` output: a list of URLs, or provider name -> list."""
    spa_config: Mapping[str, Any] | None = None
    providers: list[str] = field(default_factory=list)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.lower()}"


def is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in LOOPBACK_HOSTS


def with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def pulumi_outputs(stack: str | None) -> dict[str, Any]:
    """``pulumi stack output --json`` of the selected (or named) stack."""
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise UsageError("pulumi is not on PATH: run this where you run pulumi up, or give --site-url and --function-url")
    command = [pulumi, "stack", "output", "--json", *(["--stack", stack] if stack else [])]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=PULUMI_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise UsageError("pulumi stack output did not answer in time") from None
    if result.returncode != 0:
        raise UsageError(f"pulumi stack output failed: {result.stderr.strip() or result.stdout.strip()}")
    try:
        outputs = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise UsageError("pulumi stack output --json did not print JSON") from None
    if not isinstance(outputs, dict):
        raise UsageError("pulumi stack output --json did not print an object")
    return outputs


def make_target(args: argparse.Namespace, read_outputs: Callable[[str | None], dict[str, Any]] = pulumi_outputs) -> Target:
    if args.outputs is not None:
        try:
            with open(args.outputs, encoding="utf-8") as file:
                outputs = json.load(file)
        except (OSError, json.JSONDecodeError) as error:
            raise UsageError(f"{args.outputs}: not a JSON file of stack outputs ({error})") from None
    elif args.function_url is None:
        outputs = read_outputs(args.stack)
    else:
        outputs = {}
    function_url = args.function_url or outputs.get("functionUrl")
    if not isinstance(function_url, str) or not function_url:
        raise UsageError("no function URL: the stack has no functionUrl output; give --function-url")
    site_url = args.site_url or outputs.get("siteUrl") or None
    origin = args.origin or (origin_of(site_url) if site_url else None)
    spa_config = outputs.get("spaConfig") if isinstance(outputs.get("spaConfig"), Mapping) else None
    return Target(
        function_url=with_slash(function_url),
        site_url=with_slash(site_url) if site_url else None,
        origin=origin,
        callback_urls=args.callback_url or outputs.get("callbackUrls"),
        spa_config=spa_config,
        providers=list(args.provider),
    )


def parse_config_js(text: str) -> dict[str, Any]:
    """The object inside the generated ``export default Object.freeze({...});``."""
    start, end = text.find("("), text.rfind(")")
    if start < 0 or end <= start:
        raise ValueError("not the generated config.js (no Object.freeze(...))")
    value = json.loads(text[start + 1 : end])
    if not isinstance(value, dict):
        raise ValueError("config.js does not export an object")
    return value


def csp_directives(policy: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            directives.setdefault(words[0].lower(), [w.lower() for w in words[1:]])
    return directives


def header_problems(site_url: str, headers: httpx.Headers) -> list[str]:
    problems = []
    policy = headers.get("content-security-policy")
    if not policy:
        problems.append("no Content-Security-Policy")
    else:
        directives = csp_directives(policy)
        scripts = directives.get("script-src", directives.get("default-src"))
        if scripts is None:
            problems.append("the CSP does not restrict scripts (no script-src or default-src)")
        elif UNSAFE_SCRIPT_SOURCES.intersection(scripts):
            problems.append(f"the CSP's script-src allows {' '.join(sorted(UNSAFE_SCRIPT_SOURCES.intersection(scripts)))}")
    framing = csp_directives(policy or "").get("frame-ancestors")
    if framing not in (["'none'"], ["'self'"]) and headers.get("x-frame-options", "").upper() not in ("DENY", "SAMEORIGIN"):
        problems.append("framing is not refused (no frame-ancestors 'none' nor X-Frame-Options DENY)")
    if headers.get("x-content-type-options", "").lower() != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if headers.get("referrer-policy", "").lower() not in SAFE_REFERRER_POLICIES:
        problems.append("no Referrer-Policy that keeps URLs (and codes in them) from other sites")
    if not is_loopback(site_url):
        hsts = headers.get("strict-transport-security", "")
        max_age = next((int(p.split("=", 1)[1]) for p in hsts.split(";") if p.strip().startswith("max-age=") and p.split("=", 1)[1].strip().isdigit()), 0)
        if max_age < HSTS_MIN_SECONDS:
            problems.append("no Strict-Transport-Security of at least a year")
    return problems


class Checks:
    """Runs the checks in order; each one appends a verdict and never raises."""

    def __init__(self, target: Target, http: httpx.Client) -> None:
        self.target = target
        self.http = http
        self.verdicts: list[Verdict] = []
        self.config: dict[str, Any] | None = None

    def record(self, name: str, ok: bool | None, detail: str) -> None:
        self.verdicts.append(Verdict(name, ok, detail))

    def run(self) -> list[Verdict]:
        self.site()
        self.preflights()
        for provider in self.provider_names():
            self.token(provider)
        return self.verdicts

    def _get(self, url: str) -> httpx.Response | str:
        try:
            return self.http.get(url)
        except httpx.HTTPError as error:
            return f"{url} could not be reached ({type(error).__name__})"

    def site(self) -> None:
        site_url = self.target.site_url
        if site_url is None:
            self.record("site", None, "no site URL (deploySite: false?): site checks skipped")
            self.config = dict(self.target.spa_config) if self.target.spa_config else None
            return
        page = self._get(site_url)
        if isinstance(page, str):
            self.record("site answers", False, page)
        elif page.status_code != 200 or not page.headers.get("content-type", "").startswith("text/html"):
            self.record("site answers", False, f"{site_url} answered {page.status_code} {page.headers.get('content-type', '')}")
        else:
            https = site_url.startswith("https://") or is_loopback(site_url)
            self.record("site answers", https, f"{page.status_code} {page.headers['content-type']}" + ("" if https else ", but not over HTTPS"))
            problems = header_problems(site_url, page.headers)
            self.record("site security headers", not problems, "; ".join(problems) or "CSP, framing refused, nosniff, Referrer-Policy" + ("" if is_loopback(site_url) else ", HSTS"))
        self.config_js(site_url)

    def config_js(self, site_url: str) -> None:
        name = "config.js"
        response = self._get(site_url + "config.js")
        if isinstance(response, str):
            self.record(name, False, response)
            return
        media = response.headers.get("content-type", "")
        if response.status_code != 200 or "javascript" not in media:
            self.record(name, False, f"answered {response.status_code} {media}: the SPA's configuration is missing")
            return
        try:
            config = parse_config_js(response.text)
        except ValueError as error:
            self.record(name, False, str(error))
            return
        self.config = config
        expected = self.target.function_url.rstrip("/")
        if str(config.get("functionUrl", "")).rstrip("/") != expected:
            self.record(name, False, f"functionUrl is {config.get('functionUrl')!r}, not this stack's {expected}")
        elif "no-store" not in response.headers.get("cache-control", ""):
            self.record(name, False, "is cacheable: after a redeploy browsers could keep a stale function URL")
        elif self.target.spa_config is not None and dict(self.target.spa_config) != config:
            self.record(name, False, "differs from the stack's spaConfig output: the site was not published from this stack")
        else:
            names = ", ".join(str(p.get("name")) for p in config.get("providers", []) if isinstance(p, Mapping))
            self.record(name, True, f"points at this function URL; providers: {names or 'none'}")

    def _preflight(self, origin: str) -> httpx.Response | str:
        headers = {"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
        try:
            return self.http.options(self.target.function_url + "token", headers=headers)
        except httpx.HTTPError as error:
            return f"the function URL could not be reached ({type(error).__name__})"

    def preflights(self) -> None:
        origin = self.target.origin
        if origin is None:
            self.record("CORS preflight from the site", None, "no site origin known: give --origin")
        else:
            answer = self._preflight(origin)
            if isinstance(answer, str):
                self.record(f"CORS preflight from {origin}", False, answer)
            else:
                allowed = answer.headers.get("access-control-allow-origin") == origin
                methods = answer.headers.get("access-control-allow-methods", "").upper()
                ok = allowed and "POST" in methods
                detail = "allowed (POST)" if ok else (
                    f"refused (HTTP {answer.status_code}): add {origin} to extraOrigins, or check the function URL's CORS"
                )
                self.record(f"CORS preflight from {origin}", ok, detail)
        answer = self._preflight(FOREIGN_ORIGIN)
        if isinstance(answer, str):
            self.record(f"CORS preflight from {FOREIGN_ORIGIN}", False, answer)
            return
        granted = answer.headers.get("access-control-allow-origin")
        if granted in (FOREIGN_ORIGIN, "*"):
            self.record(f"CORS preflight from {FOREIGN_ORIGIN}", False, f"allowed ({granted}): any web page may call the function")
        else:
            self.record(f"CORS preflight from {FOREIGN_ORIGIN}", True, "refused")

    def provider_names(self) -> list[str]:
        if self.target.providers:
            return self.target.providers
        providers = (self.config or self.target.spa_config or {}).get("providers")
        names = [p["name"] for p in providers if isinstance(p, Mapping) and isinstance(p.get("name"), str)] if isinstance(providers, list) else []
        if not names:
            self.record("client secret", None, "no providers known (no config.js or spaConfig): give --provider NAME")
        return names

    def redirect_uri(self, provider: str) -> str | None:
        """One of this provider's redirect URIs, on the site's origin when there is one."""
        urls = self.target.callback_urls
        if isinstance(urls, Mapping):
            urls = urls.get(provider)
        candidates = [u for u in (urls or []) if isinstance(u, str)] if isinstance(urls, list | tuple) else []
        origin = self.target.origin
        on_origin = [u for u in candidates if origin is None or origin_of(u) == origin]
        named = [u for u in on_origin if urlsplit(u).path.rstrip("/").endswith("/" + provider)]
        for choice in (named, on_origin, candidates):
            if choice:
                return choice[0]
        entry = self.provider_entry(provider)
        if origin is not None and isinstance(entry.get("callbackPath"), str):
            return origin + entry["callbackPath"]
        return None

    def provider_entry(self, provider: str) -> Mapping[str, Any]:
        """The provider's entry in config.js (or the spaConfig output); empty when unknown."""
        providers = (self.config or self.target.spa_config or {}).get("providers")
        entries = [p for p in providers if isinstance(p, Mapping) and p.get("name") == provider] if isinstance(providers, list) else []
        return entries[0] if entries else {}

    def token(self, provider: str) -> None:
        name = f"client secret ({provider})"
        redirect_uri = self.redirect_uri(provider)
        if redirect_uri is None:
            self.record(name, None, "no redirect URI known (no callbackUrls output): give --callback-url")
            return
        body = {
            "provider": provider,
            "code": "smoke-check-" + secrets.token_hex(8),
            "redirect_uri": redirect_uri,
            "code_verifier": secrets.token_urlsafe(48),
        }
        headers = {"Origin": self.target.origin} if self.target.origin else {}
        try:
            answer = self.http.post(self.target.function_url + "token", json=body, headers=headers)
        except httpx.HTTPError as error:
            self.record(name, False, f"the function URL could not be reached ({type(error).__name__})")
            return
        try:
            payload = answer.json()
        except ValueError:
            payload = {}
        error = payload.get("error") if isinstance(payload, dict) else None
        described = f"{answer.status_code} {error}: {payload.get('error_description', '')}".rstrip(": ") if error else f"HTTP {answer.status_code}"
        if answer.status_code == 400 and error == "invalid_grant":
            self.record(name, True, "accepted: the provider refused only the made-up code (invalid_grant)")
        elif error == "server_misconfigured":
            self.record(
                name,
                False,
                f"WRONG: the provider rejected the client id or secret ({described}). Set it with "
                f"pulumi config set --secret --path 'clientSecrets.{provider}' <secret>, then pulumi up",
            )
        elif error == "invalid_request" and "redirect_uri" in str(payload.get("error_description", "")):
            self.record(name, False, f"the function refused the redirect URI {redirect_uri} ({described})")
        else:
            self.record(name, False, f"unexpected answer {described}")


def report(target: Target, verdicts: Iterable[Verdict], write: Callable[[str], None]) -> int:
    verdicts = list(verdicts)
    write("oauth-exchange smoke check")
    write(f"  site:     {target.site_url or '(none)'}")
    write(f"  function: {target.function_url}")
    write(f"  origin:   {target.origin or '(unknown)'}")
    for verdict in verdicts:
        write(f"{verdict.label}  {verdict.name}: {verdict.detail}")
        if verdict.ok is False:
            write(f"      what to do: {runbook_for(verdict.name)}")
    failed = sum(v.ok is False for v in verdicts)
    passed = sum(v.ok is True for v in verdicts)
    skipped = sum(v.ok is None for v in verdicts)
    write(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return 1 if failed or not passed else 0


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/smoke",
        description="Check a deployed oauth-exchange stack over HTTP: the site, the function URL's CORS and each "
        "provider's client secret. Reads pulumi stack output --json unless URLs are given.",
    )
    parser.add_argument("--stack", help="the Pulumi stack to read outputs from (default: the selected one)")
    parser.add_argument("--outputs", metavar="FILE", help="a file holding pulumi stack output --json")
    parser.add_argument("--site-url", help="the SPA's URL (default: the siteUrl output)")
    parser.add_argument("--function-url", help="the function URL (default: the functionUrl output)")
    parser.add_argument("--origin", help="the SPA origin to test CORS from (default: the site's)")
    parser.add_argument("--callback-url", action="append", default=[], metavar="URL", help="a redirect URI the function accepts (repeatable; default: the callbackUrls output)")
    parser.add_argument("--provider", action="append", default=[], metavar="NAME", help="check this provider (repeatable; default: those in config.js)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, read_outputs: Callable[[str | None], dict[str, Any]] = pulumi_outputs) -> int:
    args = _parse(argv)
    try:
        target = make_target(args, read_outputs)
    except UsageError as error:
        print(f"scripts/smoke: {error}", file=sys.stderr)
        return 2
    with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False) as http:
        verdicts = Checks(target, http).run()
    return report(target, verdicts, lambda line: print(line, flush=True))


if __name__ == "__main__":
    sys.exit(main())
