"""The key that signs CMS popup mode's sign-in cookies: generated at deploy time, kept only as a secret.

Each ``signingKeyVersion`` has its own random key resource, so bumping the
version adds a new key and keeps the previous one (the same resource, the
same value in state): the secret then holds ``"<new> <previous>"``, and
sign-ins started under the previous key still finish. The bump after that
drops the oldest key. The value never leaves Pulumi's secret handling: it
goes from the random resource into the Secrets Manager document only.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_random as random

from oauth_exchange.settings import Settings

KEY_LENGTH = 64
"""Letters and digits: 64 of them are about 381 bits."""


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
        versions = [cms.signing_key_version, cms.signing_key_version - 1]
        keys = [
            random.RandomPassword(
                f"{name}-v{version}",
                length=KEY_LENGTH,
                special=False,
                opts=pulumi.ResourceOptions(parent=self),
            ).result
            for version in versions
            if version >= 1
        ]
        self.keys = pulumi.Output.secret(pulumi.Output.all(*keys).apply(" ".join))
        self.register_outputs({})
