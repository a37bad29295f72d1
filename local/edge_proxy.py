"""The distribution's ``/api/*`` behaviour, locally: what CloudFront does between the SPA and the function URL.

Session mode serves the function on the site's own origin. On AWS the
distribution forwards ``/api/*`` to the function URL, signed by origin
access control; this plays that part for the local site server, in
CloudFront's order (``oauth_exchange.api_edge``):

1. the viewer-request function sets the site origin header from the
   viewer's ``Host``, whatever the viewer sent;
2. the origin request policy keeps only what it lists (the program's own
   ``API_ORIGIN_REQUEST_POLICY`` unless told otherwise);
3. the origin's custom headers are added (the edge secret);
4. OAC signs what is left: a POST or PUT, and any request with a body, must
   still carry ``x-amz-content-sha256`` equal to the SHA-256 of its body,
   otherwise the answer is the 403 Lambda gives a request whose signature
   does not match. The "signature" is a key only the emulator and this proxy
   hold, so the function URL (``AWS_IAM`` in session mode) refuses anyone else.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from oauth_exchange.api_edge import API_ORIGIN_REQUEST_POLICY, OriginRequestPolicy
from oauth_exchange.session_contract import CONTENT_SHA256_HEADER, SITE_ORIGIN_HEADER

SIGNATURE_HEADER = "x-local-oac-signature"
"""What the emulator checks in place of SigV4."""
BODY_HASH_REQUIRED = frozenset({"POST", "PUT"})
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "date", "server"})
SIGNATURE_MISMATCH = json.dumps(
    {"Message": "The request signature we calculated does not match the signature you provided."}
).encode()


@dataclass(frozen=True)
class EdgeAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class EdgeProxy:
    """Forwards ``/api/*`` requests to the function URL as the distribution would."""

    def __init__(
        self,
        function_url: str,
        signing_key: str,
        timeout_seconds: float,
        *,
        origin_headers: Mapping[str, str] | None = None,
        policy: OriginRequestPolicy = API_ORIGIN_REQUEST_POLICY,
    ) -> None:
        """``origin_headers``: the origin's custom headers; ``policy``: the behaviour's origin request policy."""
        self._function_origin = function_url.rstrip("/")
        self._signing_key = signing_key
        self._origin_headers = dict(origin_headers or {})
        self._policy = policy
        self._http = httpx.Client(timeout=timeout_seconds, follow_redirects=False, trust_env=False)

    def forward(self, method: str, target: str, headers: Mapping[str, str], body: bytes, scheme: str) -> EdgeAnswer:
        """``target`` is the request's path and query; ``headers`` its headers, names in any case."""
        viewer = {name.lower(): value for name, value in headers.items()}
        viewer[SITE_ORIGIN_HEADER] = f"{scheme}://{viewer.get('host', '')}"
        sent = {**self._policy.apply(viewer), **self._origin_headers}
        if not _body_hash_matches(method, sent.get(CONTENT_SHA256_HEADER), body):
            return EdgeAnswer(403, [("Content-Type", "application/json")], SIGNATURE_MISMATCH)
        sent[SIGNATURE_HEADER] = self._signing_key
        try:
            answer = self._http.request(method, self._function_origin + target, headers=sent, content=body or None)
        except httpx.HTTPError:
            return EdgeAnswer(502, [("Content-Type", "text/plain")], b"502 Bad Gateway: the function URL did not answer\n")
        kept = [(name, value) for name, value in answer.headers.multi_items() if name.lower() not in _HOP_BY_HOP]
        return EdgeAnswer(answer.status_code, kept, answer.content)

    def close(self) -> None:
        self._http.close()


def _body_hash_matches(method: str, declared: str | None, body: bytes) -> bool:
    if declared is None:
        return method not in BODY_HASH_REQUIRED and not body
    return declared.strip().lower() == hashlib.sha256(body).hexdigest()

