"""``scripts/run-local rotate-secret PROVIDER``: replace one client secret of a running local stack, as a rotation does.

The new value comes from ``OAUTH_CLIENT_SECRET_<NAME>``, never the command
line, and is never printed. The stack's moto endpoint and secret ARN are in
``run-local --json``'s object (``motoEndpoint``, ``secretArn``). The rest of
the secret's document (other providers, the CMS signing keys) is kept; moto
stores a new version, and the running function picks it up by its own
rules: at once if the provider rejects the secret it has cached, else after
``secretCacheSeconds``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping

from botocore.exceptions import BotoCoreError, ClientError

from oauth_exchange.secrets_document import CMS_SIGNING_KEYS_ENTRY
from local.secrets_store import client, secret_variable


class RotationError(Exception):
    """The secret cannot be rotated; the message says why (never with a secret in it)."""


def rotate(endpoint: str, secret_arn: str, provider: str, value: str) -> str:
    """Store ``value`` as ``provider``'s client secret in a new version; returns the version id."""
    secrets = client(endpoint, "secretsmanager")
    try:
        document = json.loads(secrets.get_secret_value(SecretId=secret_arn)["SecretString"])
        providers = sorted(name for name in document if name != CMS_SIGNING_KEYS_ENTRY)
        if provider not in providers:
            raise RotationError(f"the secret holds no provider named {provider!r}; it holds {', '.join(providers)}")
        document[provider] = value
        answer = secrets.put_secret_value(SecretId=secret_arn, SecretString=json.dumps(document, sort_keys=True))
    except ClientError as error:
        raise RotationError(f"Secrets Manager refused: {error.response['Error'].get('Code', 'error')}") from None
    except BotoCoreError as error:
        raise RotationError(f"cannot reach moto at {endpoint} ({type(error).__name__}); is run-local running?") from None
    return answer["VersionId"]


def main(argv: list[str], environ: Mapping[str, str]) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/run-local rotate-secret",
        description="Replace PROVIDER's client secret in a running local stack's Secrets Manager with the value of "
        "OAUTH_CLIENT_SECRET_<PROVIDER>. The endpoint and ARN are run-local --json's motoEndpoint and secretArn.",
    )
    parser.add_argument("provider")
    parser.add_argument("--moto-endpoint", required=True, metavar="URL")
    parser.add_argument("--secret-arn", required=True, metavar="ARN")
    args = parser.parse_args(argv)
    value = environ.get(secret_variable(args.provider))
    if not value:
        print(f"Set {secret_variable(args.provider)} to the new client secret (read from the environment only).", file=sys.stderr)
        return 2
    try:
        version = rotate(args.moto_endpoint, args.secret_arn, args.provider, value)
    except RotationError as error:
        print(f"Could not rotate: {error}", file=sys.stderr)
        return 1
    print(f"Rotated the client secret of {args.provider} (version {version}).")
    return 0
