"""DynamoDB's JSON protocol: operations, error codes and retry rules; botocore routes and signs, httpcore carries.

Session mode reads the session table on every proxied call. The protocol
is small: a POST of a JSON document to the endpoint with ``X-Amz-Target:
DynamoDB_20120810.<Operation>``, answered with a JSON document or, with a
4xx or 5xx status, ``{"__type": "...#<ErrorCode>", "message": ...}``. What
is not small is left to AWS's and httpcore's code:

* Route: botocore's endpoint resolver, asked once at init through a
  botocore DynamoDB client (``AWS_ENDPOINT_URL_DYNAMODB``, config-file
  endpoints, ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS``, FIPS, dual-stack,
  partitions, as in any SDK client); it also names the signing region.
* Signature: ``botocore.auth.SigV4Auth`` on an ``AWSRequest``, with
  credentials from botocore's chain (environment, container provider, ...),
  refreshed by botocore when they are about to expire.
* Bytes: the function's ``httpcore`` pool (``provider_http.ProviderClient``),
  with its deadline backend; a connection holding bytes nobody asked for is
  never reused. The botocore client itself costs about 1 ms more CPU per call
  (its event hooks, model-driven serialiser and parser, urllib3): see
  ``bench/session_bench.py``.

Each attempt has ``ATTEMPT_SECONDS`` for everything (connect, send, the whole
answer), and answers larger than ``MAX_ANSWER_BYTES`` are refused. Two
attempts in all, after a pause of up to 50 ms when DynamoDB answered: a
request is sent again when it cannot have reached DynamoDB, or was throttled
(DynamoDB applies nothing it throttles); and, for requests that may safely be
applied twice (``repeatable``), when its fate is unknown: a connection that
closed before answering, a 5xx, an answer that is not DynamoDB's (an HTML
503 from a front end, a failed CRC32). A timeout is never retried: the
deadline is spent.

Errors are ``DynamoDBError`` (DynamoDB answered one; its code, never its
message, which may quote request values) or ``DynamoDBUnavailable``; the
messages of both are safe to log. Nothing here logs.
"""

from __future__ import annotations

import json
import random
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.config import Config
from botocore.exceptions import BotoCoreError, PartialCredentialsError

from aws_session import aws_client, shared_session
from provider_http import NoAnswer, ProviderClient

TARGET_PREFIX = "DynamoDB_20120810."
CONTENT_TYPE = "application/x-amz-json-1.0"
USER_AGENT = "oauth-exchange/1.0 (+botocore-sigv4; +httpcore)"
ATTEMPT_SECONDS = 1.0
"""Connect, send and the whole answer: DynamoDB answers in milliseconds in-region."""
ATTEMPTS = 2
RETRY_PAUSE_SECONDS = 0.05
MAX_ANSWER_BYTES = 4 * 1024 * 1024
"""An item is at most 400 KB; JSON and DynamoDB's type wrappers stay far below this."""
THROTTLING_CODES = frozenset({"ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded"})
_UNSENT_HEADERS = [(b"user-agent", USER_AGENT.encode()), (b"accept-encoding", b"identity")]
"""Sent, not signed: SigV4 leaves the user agent out, and the coding is the pool's business."""


class DynamoDBError(Exception):
    """DynamoDB answered with an error; ``code`` is its name (``ConditionalCheckFailedException``, ...)."""

    def __init__(self, code: str, status: int) -> None:
        super().__init__(f"{code} (HTTP {status})")
        self.code = code
        self.status = status


class DynamoDBUnavailable(Exception):
    """No usable answer: no connection, a timeout, or an answer that is not DynamoDB's."""


@dataclass(frozen=True)
class Route:
    """Where DynamoDB calls go and how they are signed, as botocore resolved them."""

    url: str
    region: str
    signing_name: str = "dynamodb"

    @property
    def host(self) -> str:
        """The ``Host`` header, as botocore signs it: the port only when it is not the scheme's own."""
        parts = urlsplit(self.url)
        netloc = parts.netloc.rpartition("@")[2]
        default_port = {"http": 80, "https": 443}[parts.scheme]
        return netloc.rpartition(":")[0] if parts.port == default_port else netloc


def resolve_route(table_name: str, session: botocore.session.Session, credentials: Any) -> Route:
    """The route botocore's own DynamoDB client would take to ``table_name``; raises ValueError.

    The client is asked for a ``GetItem`` and answers it itself (a
    ``before-call`` handler, as botocore's Stubber does), after its endpoint
    resolver has run: nothing goes on the wire. It is given the credentials
    already loaded (an account's own endpoint depends on them), so the chain
    runs once. The client is then dropped; its models stay loaded in the session.
    """
    try:
        frozen = credentials.get_frozen_credentials()
        keys = {"aws_access_key_id": frozen.access_key, "aws_secret_access_key": frozen.secret_key, "aws_session_token": frozen.token}
        if getattr(frozen, "account_id", None):  # botocore >= 1.35 knows the account; older ones have no such argument
            keys["aws_account_id"] = frozen.account_id
        client = aws_client("dynamodb", None, Config(parameter_validation=False), session, **keys)
    except BotoCoreError as exc:
        raise ValueError(f"no DynamoDB client ({type(exc).__name__})") from None
    seen: dict[str, Any] = {}

    def answer_locally(params: Mapping[str, Any], context: Mapping[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        seen["url"], seen["signing"] = params["url"], context.get("signing") or {}
        return AWSResponse(params["url"], 200, {}, None), {}

    client.meta.events.register_first("before-call.dynamodb.GetItem", answer_locally)
    try:
        client.get_item(TableName=table_name, Key={"id": {"S": "route"}})
    except BotoCoreError as exc:
        raise ValueError(f"no DynamoDB endpoint ({type(exc).__name__})") from None
    url = seen["url"]
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
        raise ValueError("the DynamoDB endpoint is not an http(s) URL")
    signing = seen["signing"]
    return Route(url, signing.get("region") or client.meta.region_name, signing.get("signing_name") or "dynamodb")


class DynamoDB:
    """A DynamoDB client for one route; safe to share between threads."""

    def __init__(self, route: Route, credentials: Any, http: ProviderClient) -> None:
        """``credentials``: botocore's (``RefreshableCredentials`` included), frozen afresh for each call."""
        self._route = route
        self._host = route.host
        self._credentials = credentials
        self._http = http

    @classmethod
    def for_table(cls, table_name: str, http: ProviderClient, session: botocore.session.Session | None = None) -> DynamoDB:
        """The client botocore's configuration describes (the shared session by default); raises ValueError."""
        chosen = session or shared_session()
        try:  # the chain run afresh: the session's own cache would keep one container's credentials for the next
            credentials = chosen.get_component("credential_provider").load_credentials()
        except PartialCredentialsError as exc:  # its message names the variable missing, never a value
            raise ValueError(f"the AWS credentials could not be loaded ({exc})") from None
        except BotoCoreError as exc:
            raise ValueError(f"the AWS credentials could not be loaded ({type(exc).__name__})") from None
        if credentials is None:
            raise ValueError("no AWS credentials found (environment, container provider, config files)")
        route = resolve_route(table_name, chosen, credentials)
        return cls(route, credentials, http)

    @property
    def route(self) -> Route:
        return self._route

    def call(self, operation: str, payload: Mapping[str, Any], *, repeatable: bool) -> dict[str, Any]:
        """One operation (``GetItem``, ``PutItem``, ...); its answer as JSON.

        ``repeatable``: applying the request twice does no harm (a read, a
        delete, a write whose second application changes nothing). Only such a
        request is sent again when the first attempt's fate is unknown. A
        conditional write that did apply would fail its condition the second
        time and be reported as refused.
        """
        body = json.dumps(payload, separators=(",", ":")).encode()
        attempt = 0
        while True:
            attempt += 1
            last = attempt >= ATTEMPTS
            try:
                answer = self._http.attempt(
                    "POST",
                    self._route.url,
                    self._signed_headers(operation, body),
                    body,
                    deadline=time.monotonic() + ATTEMPT_SECONDS,
                    max_bytes=MAX_ANSWER_BYTES,
                )
            except NoAnswer as failed:
                if last or failed.timed_out or (failed.reached and not repeatable):
                    raise DynamoDBUnavailable(f"{operation}: {failed}") from None
                continue
            status, document, problem = _read(answer.status, answer.headers, answer.body)
            if status == 200 and document is not None:
                return document
            if document is None:
                if last or not repeatable:
                    raise DynamoDBUnavailable(f"{operation}: {problem}")
            else:
                error = DynamoDBError(_error_code(document), status)
                throttled = error.code in THROTTLING_CODES  # refused unapplied
                if last or not (throttled or (repeatable and status >= 500)):
                    raise error
            time.sleep(random.uniform(0, RETRY_PAUSE_SECONDS))

    def close(self) -> None:
        """Closes the pool it was given; the container closes it with the provider client too, which is harmless."""
        self._http.close()

    def _signed_headers(self, operation: str, body: bytes) -> list[tuple[bytes, bytes]]:
        request = AWSRequest(
            method="POST",
            url=self._route.url,
            data=body,
            headers={"Host": self._host, "Content-Type": CONTENT_TYPE, "X-Amz-Target": TARGET_PREFIX + operation},
        )
        try:
            frozen = self._credentials.get_frozen_credentials()
        except BotoCoreError as exc:  # a refresh that failed: the old credentials have expired
            raise DynamoDBUnavailable(f"{operation}: the AWS credentials could not be refreshed ({type(exc).__name__})") from None
        SigV4Auth(frozen, self._route.signing_name, self._route.region).add_auth(request)
        return [(name.encode("ascii"), value.encode("ascii")) for name, value in request.headers.items()] + _UNSENT_HEADERS


def _read(status: int, headers: Mapping[str, str], body: bytes) -> tuple[int, dict[str, Any] | None, str]:
    """(status, the answer's JSON object or None, why it is not DynamoDB's)."""
    checksum = headers.get("x-amz-crc32")
    if checksum is not None and checksum != str(zlib.crc32(body)):
        return status, None, "the answer failed its CRC32 check"
    try:
        parsed = json.loads(body) if body else {}
    except (ValueError, RecursionError):
        parsed = None
    if not isinstance(parsed, dict):
        return status, None, f"the answer (HTTP {status}) is not a JSON object"
    return status, parsed, ""


def _error_code(answer: Mapping[str, Any]) -> str:
    kind = answer.get("__type")
    code = kind.rpartition("#")[2] if isinstance(kind, str) else ""
    return code if code.isidentifier() else "UnknownError"
