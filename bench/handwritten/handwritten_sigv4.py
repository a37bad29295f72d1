"""For reference only: the hand-written SigV4 signer the function used before issue 16 (commit 3ae44ea).

Kept so ``bench/session_bench.py`` can show its row beside the library-based client and
botocore's in one run; the function neither ships nor imports it.

AWS Signature Version 4 for the function's own DynamoDB calls.

botocore signs the same way, but through its request objects and event
hooks, which on the benchmark machine cost more CPU than the rest of a
proxied call; a JSON POST to one endpoint needs only the algorithm's core.
The tests hold every signature to botocore's signer, the reference.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

ALGORITHM = "AWS4-HMAC-SHA256"


class MissingCredentials(Exception):
    """The environment holds no AWS credentials; the message names variables, never values."""


@dataclass(frozen=True)
class Credentials:
    """An access key pair and, for a role's temporary credentials, its session token."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


def credentials_from_environment(environ: Mapping[str, str]) -> Credentials:
    """Lambda puts the execution role's credentials in the environment for the container's life."""
    key_id, secret = environ.get("AWS_ACCESS_KEY_ID", ""), environ.get("AWS_SECRET_ACCESS_KEY", "")
    if not key_id or not secret:
        raise MissingCredentials("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set")
    return Credentials(key_id, secret, environ.get("AWS_SESSION_TOKEN") or None)


class Signer:
    """Signs POSTs with a body for one service in one region; safe to share between threads."""

    def __init__(self, credentials: Credentials, region: str, service: str) -> None:
        self._credentials = credentials
        self._region = region
        self._service = service
        self._day_key: tuple[str, bytes] = ("", b"")
        """The signing key of the last day used: it depends on the date only, so it is derived once a day."""

    def headers(
        self,
        host: str,
        path: str,
        body: bytes,
        content_type: str,
        amz_headers: Mapping[str, str],
        now: float | None = None,
    ) -> dict[str, str]:
        """The headers to send besides ``Host`` and ``Content-Length``, ``Authorization`` included.

        ``host`` is the ``Host`` header exactly as sent; ``amz_headers`` are
        further ``x-amz-*`` headers to sign (lower-case names), such as
        DynamoDB's ``x-amz-target``. ``now`` (seconds since the epoch) is for tests.
        """
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        day = amz_date[:8]
        signed: dict[str, str] = {"content-type": content_type, "host": host, "x-amz-date": amz_date}
        if self._credentials.session_token is not None:
            signed["x-amz-security-token"] = self._credentials.session_token
        signed.update(amz_headers)
        names = sorted(signed)
        signed_names = ";".join(names)
        canonical_headers = "".join(f"{name}:{' '.join(signed[name].split())}\n" for name in names)
        canonical_request = (
            f"POST\n{path}\n\n{canonical_headers}\n{signed_names}\n{hashlib.sha256(body).hexdigest()}"
        )
        scope = f"{day}/{self._region}/{self._service}/aws4_request"
        string_to_sign = (
            f"{ALGORITHM}\n{amz_date}\n{scope}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"
        )
        signature = hmac.new(self._signing_key(day), string_to_sign.encode(), hashlib.sha256).hexdigest()
        sent = {name: value for name, value in signed.items() if name != "host"}
        sent["authorization"] = (
            f"{ALGORITHM} Credential={self._credentials.access_key_id}/{scope}, "
            f"SignedHeaders={signed_names}, Signature={signature}"
        )
        return sent

    def _signing_key(self, day: str) -> bytes:
        cached_day, key = self._day_key
        if cached_day != day:
            key = f"AWS4{self._credentials.secret_access_key}".encode()
            for part in (day, self._region, self._service, "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            self._day_key = (day, key)
        return key
