"""Session mode: only the site's distribution may call ``/api/``, proven by the edge secret it adds.

The function URL's ``AWS_IAM`` auth also admits any principal of the account
whose own policy allows ``lambda:InvokeFunctionUrl``, and such a caller can
set the site origin header to anything. The distribution adds
``edge_header`` (an origin custom header) with a random value the secret
document holds; a request without one of the document's values is refused
before anything else is read. The values are compared in constant time; a
value this container does not know yet (a rotation) reads the document
again, at most once per ``ClientSecrets`` re-read interval.
"""

from __future__ import annotations

import hmac

from client_secrets import ClientSecrets, SecretUnavailable
from exchange_errors import ExchangeError

EDGE_SECRETS = "_edge_secrets"
"""The secret document's entry: the accepted values, space-separated, current first."""


def check(secrets: ClientSecrets, sent: str | None) -> None:
    """Raise ``csrf_rejected`` unless ``sent`` is one of the accepted edge secrets."""
    if not sent:
        raise ExchangeError("csrf_rejected", log_detail="no edge secret: not called through the distribution")
    text, generation = _accepted(secrets, None)
    if _matches(text, sent):
        return
    text, _ = _accepted(secrets, generation)
    if not _matches(text, sent):
        raise ExchangeError("csrf_rejected", log_detail="wrong edge secret: not called through the distribution")


def _accepted(secrets: ClientSecrets, rejected_generation: int | None) -> tuple[str, int]:
    try:
        if rejected_generation is None:
            return secrets.get(EDGE_SECRETS)
        return secrets.reread(EDGE_SECRETS, rejected_generation)
    except SecretUnavailable as exc:  # its message names no secret
        raise ExchangeError("secret_unavailable", log_detail=f"edge secrets: {exc}") from None


def _matches(accepted: str, sent: str) -> bool:
    """Compare with every accepted value, never stopping early, so timing tells nothing."""
    found = False
    for value in accepted.split():
        found |= hmac.compare_digest(value.encode(), sent.encode())
    return found
