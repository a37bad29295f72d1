"""Session mode's shared names: what the distribution forwards, the function reads and the local stack plays.

The function serves the SPA's own origin under ``API_PATH`` (a CloudFront
behaviour in front of the function URL), keeps the tokens in DynamoDB and
gives the browser only an HttpOnly cookie; these names must agree in all three.
"""

from __future__ import annotations


API_PATH = "/api"
SESSION_COOKIE = "__Host-oauth-exchange"
"""``__Host-``: the browser keeps it to this exact origin, path ``/``, HTTPS only."""
CSRF_HEADER_LABEL = "X-OAuth-Exchange"
CSRF_HEADER = CSRF_HEADER_LABEL.lower()
"""Every ``/api/`` request carries it; another origin cannot send it without a CORS preflight, which ``/api/`` never answers."""
SITE_ORIGIN_HEADER = "x-oauth-exchange-site-origin"
"""Set by the distribution (a CloudFront Function on the viewer's ``Host``), replacing whatever the viewer sent."""
CONTENT_SHA256_HEADER = "x-amz-content-sha256"
"""What origin access control signs a body with: the SPA sends the SHA-256 of every body it sends."""
SESSION_TABLE_ENV = "OAUTH_SESSION_TABLE"
SESSION_KEY_ATTRIBUTE = "id"
"""The table's partition key: the SHA-256 (hex) of the cookie value."""
SESSION_TTL_ATTRIBUTE = "expires_at"
"""Epoch seconds after which DynamoDB may delete the item (the function refuses it from then on anyway)."""
API_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
API_FORWARDED_HEADERS = (
    CSRF_HEADER,
    SITE_ORIGIN_HEADER,
    "origin",
    "sec-fetch-site",
    "content-type",
    "accept",
    "if-none-match",
    "if-modified-since",
    "x-github-api-version",
    CONTENT_SHA256_HEADER,
)
"""The viewer headers the distribution passes to the function (plus the session cookie and the query).

``x-amz-content-sha256`` must be among them: a whitelist origin request
policy drops what it does not list, and OAC signs a body only with it.
"""
EDGE_SECRET_HEADER = "x-oauth-exchange-edge"
"""An origin custom header the distribution adds to every ``/api/`` request: a secret only it and the function know."""
