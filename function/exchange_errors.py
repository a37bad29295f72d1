"""The error vocabulary of the function's HTTP API (docs/http-api.md, "Errors").

Every failure is an ``ExchangeError`` carrying one of the spec's codes. The HTTP
status is looked up from the code, so a code can never travel with the wrong
status. Descriptions are fixed plain-English sentences: they never quote what
the caller or the provider sent, so nothing secret can be echoed back.
"""

from __future__ import annotations

from collections.abc import Mapping

STATUS_BY_ERROR: Mapping[str, int] = {
    "invalid_request": 400,
    "unsupported_grant_type": 400,
    "invalid_grant": 400,
    "unsupported_operation": 400,
    "not_signed_in": 401,
    "origin_not_allowed": 403,
    "access_denied": 403,
    "csrf_rejected": 403,
    "path_not_allowed": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "request_too_large": 413,
    "unsupported_media_type": 415,
    "server_error": 500,
    "server_misconfigured": 502,
    "provider_error": 502,
    "secret_unavailable": 503,
    "session_unavailable": 503,
    "provider_timeout": 504,
}

DEFAULT_DESCRIPTIONS: Mapping[str, str] = {
    "invalid_request": "The request is malformed.",
    "unsupported_grant_type": "This grant type is not supported.",
    "invalid_grant": "The provider rejected the authorization grant.",
    "unsupported_operation": "The provider does not support this operation.",
    "not_signed_in": "There is no session: sign in first.",
    "origin_not_allowed": "Requests from this origin are not allowed.",
    "access_denied": "This account is not allowed to sign in here.",
    "csrf_rejected": "The request did not come from this site's own pages.",
    "path_not_allowed": "This site does not allow that method and path at the provider's API.",
    "not_found": "There is nothing at this path; use POST /token or POST /revoke.",
    "method_not_allowed": "Only POST is allowed here.",
    "request_too_large": "The request body is larger than 16 KiB.",
    "unsupported_media_type": "The request body must be application/json.",
    "server_error": "An unexpected error occurred.",
    "server_misconfigured": "The provider rejected this server's client credentials.",
    "provider_error": "The provider could not be reached or gave an unusable answer.",
    "secret_unavailable": "The client secret cannot be read right now.",
    "session_unavailable": "Sessions cannot be read or stored right now.",
    "provider_timeout": "The provider did not answer in time.",
}


class ExchangeError(Exception):
    """A failure that becomes one JSON error response."""

    def __init__(
        self,
        error: str,
        description: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        log_detail: str = "",
        cookies: tuple[str, ...] = (),
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = STATUS_BY_ERROR[error]
        self.description = description or DEFAULT_DESCRIPTIONS[error]
        self.headers = dict(headers or {})
        self.cookies = cookies
        """``Set-Cookie`` values the error answer carries (session mode clears a dead session's cookie)."""
        self.log_detail = log_detail
        """Operator-facing reason for the request log line; must hold nothing secret."""

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}
