"""Random keys generated at deploy time that rotate by a version number, kept only as secrets.

Each version has its own random resource, so bumping the version adds a new
key and keeps the previous one (the same resource, the same value in state):
whoever checks the keys accepts both until the next bump drops the older.
"""

from __future__ import annotations

import pulumi
import pulumi_random as random

KEY_LENGTH = 64
"""Letters and digits: 64 of them are about 381 bits."""


def versioned_keys(name: str, version: int, parent: pulumi.Resource) -> list[pulumi.Output[str]]:
    """The keys of ``version`` and of the one before it (when there is one), current first."""
    return [
        random.RandomPassword(
            f"{name}-v{number}", length=KEY_LENGTH, special=False, opts=pulumi.ResourceOptions(parent=parent)
        ).result
        for number in (version, version - 1)
        if number >= 1
    ]


def joined(keys: list[pulumi.Output[str]]) -> pulumi.Output[str]:
    """The keys as the secret document holds them: one secret string, space-separated, current first."""
    return pulumi.Output.secret(pulumi.Output.all(*keys).apply(" ".join))
