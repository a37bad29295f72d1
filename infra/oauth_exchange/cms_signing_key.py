"""The key that signs CMS popup mode's sign-in cookies: generated at deploy time, kept only as a secret.

Each ``signingKeyVersion`` has its own random key resource (``rotating_key``):
after a bump the secret holds ``"<new> <previous>"``, and sign-ins started
under the previous key still finish. The bump after that drops the oldest key. The value never leaves Pulumi's secret handling: it
goes from the random resource into the Secrets Manager document only.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from oauth_exchange.rotating_key import joined, versioned_keys
from oauth_exchange.settings import Settings


@dataclass(frozen=True)
class CmsSigningKeyArgs:
    settings: Settings


class CmsSigningKey(pulumi.ComponentResource):
    """The current cookie signing key and the previous one, as one secret Output (current first)."""

    keys: pulumi.Output[str]

    def __init__(self, name: str, args: CmsSigningKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("oauth-exchange:index:CmsSigningKey", name, None, opts)
        cms = args.settings.cms
        if cms is None:
            raise ValueError("CmsSigningKey needs oauth-exchange:cms")
        self.keys = joined(versioned_keys(name, cms.signing_key_version, self))
        self.register_outputs({})
