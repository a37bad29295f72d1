"""What the distribution does to an ``/api/*`` request before the function URL sees it, as plain data.

The Pulumi program declares it (``session_edge``) and the local stack plays it
(``local.edge_proxy``), in CloudFront's order: the viewer-request function
sets the site origin header, the origin request policy keeps only what it
lists, the origin's custom headers are added, and origin access control signs
what is left. No Pulumi import: the local stack uses it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from oauth_exchange.session_contract import API_FORWARDED_HEADERS, SESSION_COOKIE

MAX_POLICY_HEADERS = 10
"""CloudFront's quota of headers in one origin request policy (adjustable only by a quota increase)."""


@dataclass(frozen=True)
class OriginRequestPolicy:
    """A whitelist origin request policy: these headers and cookies pass, with every query string."""

    headers: tuple[str, ...]
    """Lower-case header names."""
    cookies: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.headers) > MAX_POLICY_HEADERS:
            raise ValueError(f"an origin request policy lists at most {MAX_POLICY_HEADERS} headers, not {len(self.headers)}")

    def apply(self, headers: dict[str, str]) -> dict[str, str]:
        """What reaches the origin of the viewer's (lower-cased) headers: the listed ones, the listed cookies."""
        kept = {name: headers[name] for name in self.headers if name in headers}
        cookies = [f"{name}={value}" for name, value in _cookies(headers.get("cookie", "")) if name in self.cookies]
        if cookies:
            kept["cookie"] = "; ".join(cookies)
        return kept


API_ORIGIN_REQUEST_POLICY = OriginRequestPolicy(headers=API_FORWARDED_HEADERS, cookies=(SESSION_COOKIE,))
"""The ``/api/*`` behaviour's policy: the session cookie, the query and the headers the function reads."""


def _cookies(header: str) -> list[tuple[str, str]]:
    pairs = []
    for part in header.split(";"):
        name, separator, value = part.strip().partition("=")
        if separator:
            pairs.append((name, value))
    return pairs
