"""Stack config the program refuses, with the exact message: one table for ``pulumi up`` and ``run-local --config``.

Each case overrides the dev stack (``Pulumi.dev.yaml`` with a real-looking
client id and an encrypted GitHub client secret); None removes a key. The
message may name ``{project}``, the folder a relative ``siteDir`` is read from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oauth_exchange.stack_values import known_keys

KNOWN = ", ".join(sorted(known_keys()))
IDP = {"authorizeUrl": "https://idp.example.com/authorize", "tokenUrl": "https://idp.example.com/token"}


@dataclass(frozen=True)
class Refusal:
    name: str
    overrides: dict[str, Any]
    message: str

    def expected(self, project: Path) -> str:
        return self.message.format(project=project)


REFUSALS = (
    Refusal(
        "misspelt-key",
        {"extraOrigin": ["http://localhost:5173"]},
        f"oauth-exchange:extraOrigin: is not a setting of this program; did you mean extraOrigins? known: {KNOWN}",
    ),
    Refusal(
        "placeholder-client-id",
        {"providers": {"my-idp": {"clientId": "replace-with-your-client-id", **IDP}}, "clientSecrets": ["my-idp"]},
        "oauth-exchange:providers.my-idp.clientId: is still the placeholder 'replace-with-your-client-id'; set your "
        "OAuth app's client id with pulumi config set --path 'providers.my-idp.clientId' <client id>",
    ),
    Refusal(
        "session-without-site",
        {"session": True, "deploySite": False},
        "oauth-exchange:session: session mode serves /api/ on the stack's own site: it needs deploySite true",
    ),
    Refusal(
        "cms-with-session",
        {"session": True, "cms": {"origins": ["https://cms.example.com"]}},
        "oauth-exchange:cms: CMS popups open the function URL directly, which session mode makes private",
    ),
    Refusal(
        "empty-cms",
        {"cms": {}},
        "oauth-exchange:cms: is empty; name the CMS admin pages' origins, e.g. {{origins: [https://www.example.com]}}, "
        "or remove the key",
    ),
    Refusal(
        "wildcard-origin",
        {"extraOrigins": ["*"]},
        "oauth-exchange:extraOrigins[0]: a wildcard origin is never allowed; list each SPA origin",
    ),
    Refusal(
        "origin-with-path",
        {"extraOrigins": ["https://app.example.com/app"]},
        "oauth-exchange:extraOrigins[0]: 'https://app.example.com/app' is not an origin: drop the path, "
        "e.g. https://app.example.com",
    ),
    Refusal(
        "missing-site-dir",
        {"siteDir": "no-such-folder"},
        "oauth-exchange:siteDir: {project}/no-such-folder is not a folder; build the SPA first or fix the path",
    ),
    Refusal(
        "unsafe-script-source",
        {"contentSecurityPolicy": {"scriptSrc": ["'unsafe-inline'"]}},
        "oauth-exchange:contentSecurityPolicy.scriptSrc[0]: 'unsafe-inline' is never allowed for scripts: it would "
        "let injected script run and read the tokens",
    ),
    Refusal(
        "domain-without-zone-or-certificate",
        {"customDomain": {"domain": "app.example.com"}},
        "oauth-exchange:customDomain: needs hostedZoneId (a Route 53 zone to validate a new certificate in) "
        "or certificateArn (an issued certificate in us-east-1)",
    ),
    Refusal("bad-region", {"aws:region": "moon-base"}, "aws:region: 'moon-base' is not an AWS region name"),
    Refusal(
        "rate-limit-without-session",
        {"rateLimit": 100},
        "oauth-exchange:rateLimit: limits /api/* at the edge, which exists only in session mode; set session too",
    ),
)
"""``clientSecrets`` is given as the list of providers that have one."""
