"""Client secrets read from AWS Secrets Manager and cached per container.

The secret's ``SecretString`` is a JSON object ``{"<provider>": "<client secret>"}``.
It is cached for a bounded time so a rotated secret is picked up without a
redeploy, and re-read at once when a provider rejects the cached one. While
the provider keeps rejecting it (a wrong secret, not a rotation), the store is
re-read at most once per ``REREAD_INTERVAL_SECONDS`` per container, not on
every request. A failed read is never papered over with a stale value: the
request fails with ``secret_unavailable`` and the next request tries again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from aws_session import aws_client

# botocore logs raw response bodies at DEBUG, and this response body is the secret.
# Keep that one logger at INFO unless someone chose its level explicitly.
if logging.getLogger("botocore.parsers").level == logging.NOTSET:
    logging.getLogger("botocore.parsers").setLevel(logging.INFO)


# Bounds on one read of the store, whatever the provider timeout. An invocation
# reads at most twice (cold cache, then once after the provider rejects the
# secret), and the second read starts once the provider has answered, by its
# deadline, so the invocation ends within timeout_seconds plus one worst-case
# read: two attempts of connect + read plus botocore's first retry backoff (up
# to 1 s), 5 s at most and about 3 s for a store that hangs. The stack's Lambda
# timeout is 2 * timeout_seconds + 5 (infra/oauth_exchange/settings.py), timeout_seconds >= 1.
# GetSecretValue answers in tens of milliseconds in-region; botocore's default
# timeouts (60 s each, with retries) would outlast any Lambda timeout.
CONNECT_TIMEOUT_SECONDS = 1.0
READ_TIMEOUT_SECONDS = 1.0
READ_ATTEMPTS = 2
# How often rejected credentials may send the container back to the store: a rotation is picked up
# by the first rejection, a secret that is simply wrong costs one read per interval, whatever the traffic.
REREAD_INTERVAL_SECONDS = 10.0


class SecretUnavailable(Exception):
    """The secret cannot be read; the message is safe to log (it holds no secret)."""


SecretSource = Callable[[], Mapping[str, str]]


class ClientSecrets:
    """Thread-safe cache in front of a ``SecretSource``.

    Each successful read bumps a generation number. A caller whose secret was
    rejected passes the generation it used to ``reread``: when several requests
    hit the same rejection together, only the first one reads the store again,
    and rejections read it at most once per ``reread_interval_seconds``.
    """

    def __init__(
        self,
        source: SecretSource,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        reread_interval_seconds: float = REREAD_INTERVAL_SECONDS,
    ) -> None:
        self._source = source
        self._ttl = ttl_seconds
        self._clock = clock
        self._reread_interval = reread_interval_seconds
        self._lock = threading.Lock()
        self._values: Mapping[str, str] | None = None
        self._read_at = 0.0
        self._reread_at: float | None = None
        self._generation = 0

    def get(self, provider: str) -> tuple[str, int]:
        """The provider's client secret and the generation it came from."""
        with self._lock:
            if self._values is None or self._clock() - self._read_at >= self._ttl:
                self._read()
            return self._lookup(provider), self._generation

    def reread(self, provider: str, rejected_generation: int) -> tuple[str, int]:
        """Read the store again, unless a newer read already replaced the rejected secret or a
        rejection made one less than the interval ago; either way, the secret to use now."""
        with self._lock:
            now = self._clock()
            recently = self._reread_at is not None and now - self._reread_at < self._reread_interval
            if self._generation == rejected_generation and not recently:
                self._reread_at = now
                self._read()
            return self._lookup(provider), self._generation

    def _read(self) -> None:
        self._values = self._source()
        self._read_at = self._clock()
        self._generation += 1

    def _lookup(self, provider: str) -> str:
        assert self._values is not None
        secret = self._values.get(provider)
        if not isinstance(secret, str) or not secret:
            raise SecretUnavailable(f"the secret has no client secret for provider {provider}")
        return secret


def _new_client(region: str | None) -> Any:
    """A Secrets Manager client that gives up within the bounds above."""
    return aws_client(
        "secretsmanager",
        region,
        Config(
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=READ_TIMEOUT_SECONDS,
            retries={"mode": "standard", "total_max_attempts": READ_ATTEMPTS},
        ),
    )


class SecretsManagerSource:
    """Reads the secrets document with one botocore client, created with the container.

    Creating the client (loading the service model and endpoint data, finding
    the credentials) is the slow part, so it happens when the container is
    built, at init. A client that cannot be created then (no region, say) is
    tried again by each read, which reports the failure as ``SecretUnavailable``.
    The client honours ``AWS_ENDPOINT_URL_SECRETS_MANAGER``, which local runs
    point at moto. Calls are expected to be serialised by ``ClientSecrets``.
    """

    def __init__(self, arn: str) -> None:
        self._arn = arn
        try:
            self._client: Any = _new_client(_region_of(arn))
        except (BotoCoreError, ValueError):  # the first read tries again and reports it
            self._client = None

    def __call__(self) -> Mapping[str, str]:
        try:
            if self._client is None:
                self._client = _new_client(_region_of(self._arn))
            answer = self._client.get_secret_value(SecretId=self._arn)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "unknown")
            raise SecretUnavailable(f"Secrets Manager refused the read ({code})") from None
        except BotoCoreError as exc:
            raise SecretUnavailable(f"Secrets Manager could not be reached ({type(exc).__name__})") from None
        return _parse_document(answer.get("SecretString"))


def _region_of(arn: str) -> str | None:
    """The region in ``arn:aws:secretsmanager:<region>:...``; None lets boto3 decide."""
    parts = arn.split(":")
    if len(parts) >= 7 and parts[0] == "arn" and parts[3]:
        return parts[3]
    return None


def _parse_document(text: object) -> Mapping[str, str]:
    if not isinstance(text, str):
        raise SecretUnavailable("the secret has no SecretString")
    try:
        document = json.loads(text)
    except ValueError:
        raise SecretUnavailable("the secret's SecretString is not JSON") from None
    if not isinstance(document, dict):
        raise SecretUnavailable("the secret's SecretString is not a JSON object")
    return {name: value for name, value in document.items() if isinstance(value, str)}
