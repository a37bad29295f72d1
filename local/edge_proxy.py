"""The distribution's ``/api/*`` behaviour, locally: what CloudFront does between the SPA and the function URL.

Session mode serves the function on the site's own origin. On AWS the
distribution forwards ``/api/*`` to the function URL, signed by origin
access control; this plays that part for the local site server:

* only the session cookie, the query and ``API_FORWARDED_HEADERS`` pass
  (the origin request policy), and the site origin header is set from the
  viewer's ``Host`` whatever the viewer sent (the viewer-request function);
* a POST or PUT, and any request with a body, must carry
  ``x-amz-content-sha256`` equal to the SHA-256 of its body, as OAC needs to
  sign it; otherwise the answer is the 403 Lambda gives a request whose
  signature does not match;
* the request is "signed" with a key only the emulator and this proxy hold,
  so the function URL (``AWS_IAM`` in session mode) refuses anyone else.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from oauth_exchange.settings import API_FORWARDED_HEADERS, CONTENT_SHA256_HEADER, SESSION_COOKIE, SITE_ORIGIN_HEADER

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

    def __init__(self, function_url: str, signing_key: str, timeout_seconds: float) -> None:
        self._function_origin = function_url.rstrip("/")
        self._signing_key = signing_key
        self._http = httpx.Client(timeout=timeout_seconds, follow_redirects=False, trust_env=False)

    def forward(self, method: str, target: str, headers: Mapping[str, str], body: bytes, scheme: str) -> EdgeAnswer:
        """``target`` is the request's path and query; ``headers`` its headers, names in any case."""
        lowered = {name.lower(): value for name, value in headers.items()}
        if not _body_hash_matches(method, lowered.get(CONTENT_SHA256_HEADER), body):
            return EdgeAnswer(403, [("Content-Type", "application/json")], SIGNATURE_MISMATCH)
        sent = {name: lowered[name] for name in API_FORWARDED_HEADERS if name in lowered}
        sent[SITE_ORIGIN_HEADER] = f"{scheme}://{lowered.get('host', '')}"
        session_cookie = _cookie(lowered.get("cookie", ""), SESSION_COOKIE)
        if session_cookie is not None:
            sent["cookie"] = f"{SESSION_COOKIE}={session_cookie}"
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


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None
