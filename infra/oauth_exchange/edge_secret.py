"""The secret the distribution adds to every ``/api/`` request, so the function can tell it from other callers.

An ``AWS_IAM`` function URL admits any principal of the account whose own
policy allows ``lambda:InvokeFunctionUrl``; such a caller could name any site
origin. The distribution sends ``EDGE_SECRET_HEADER`` as an origin custom
header; the function accepts a request only with a value from the secret
document. ``session.edgeSecretVersion`` rotates it as ``cms.signingKeyVersion``
rotates the CMS key: the document holds the new and the previous value while
CloudFront's edges move to the new one.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from oauth_exchange.rotating_key import joined, versioned_keys
from oauth_exchange.settings import Settings


@dataclass(frozen=True)
class EdgeSecretArgs:
    settings: Settings


class EdgeSecret(pulumi.ComponentResource):
    """The value the distribution sends, and the values the function accepts."""

    current: pulumi.Output[str]
    """What the distribution sends (a secret Output)."""
    accepted: pulumi.Output[str]
    """The secret document's entry: the current value, then the previous one."""

    def __init__(self, name: str, args: EdgeSecretArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("oauth-exchange:index:EdgeSecret", name, None, opts)
        session = args.settings.session
        if session is None:
            raise ValueError("EdgeSecret needs oauth-exchange:session")
        keys = versioned_keys(name, session.edge_secret_version, self)
        self.current = pulumi.Output.secret(keys[0])
        self.accepted = joined(keys)
        self.register_outputs({})
