"""Short-lived values the browser carries for the function, signed so it cannot change them.

A sealed value is ``v1.<key id>.<claims>.<mac>``: the claims are compact JSON
in base64url, the MAC is HMAC-SHA256 over everything before it, with a key
derived from a signing key in the stack's secret. The claims are readable by
whoever holds the cookie (the browser's user), so they hold nothing secret;
``derive`` gives values (a PKCE verifier) that only the key holder can compute.

Keys rotate: the secret holds the current key and the previous one
(``"<current> <previous>"``). New values are signed with the current key;
values signed with either are accepted, so rotation breaks no sign-in that is
in flight. The key id says which key signed a value, so a container whose
cached secret predates a rotation can tell it must read the secret again.

Every failure raises ``CookieRejected`` whose reason is safe to log.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

VERSION = "v1"
MAX_VALUE_CHARS = 2048
MIN_KEY_CHARS = 32
_B64URL = re.compile(r"[A-Za-z0-9_-]+")


class CookieRejected(Exception):
    """A sealed value is missing, malformed, forged, expired or signed with an unknown key."""

    def __init__(self, reason: str, claims: Mapping[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        """One of ``malformed``, ``unknown_key``, ``bad_signature``, ``expired``: safe to log."""
        self.claims = claims
        """For ``expired`` only: the authentic claims, so the caller may still say where the value came from."""


class KeysUnusable(ValueError):
    """The signing keys in the secret are missing or too short; the message holds no key material."""


@dataclass(frozen=True)
class SigningKeys:
    """The current signing key and the ones still accepted (the previous one, during a rotation)."""

    current: bytes
    accepted: tuple[bytes, ...]
    """Every key a value may be signed with, the current one first."""

    @classmethod
    def parse(cls, text: str) -> SigningKeys:
        """Keys as the secret stores them: whitespace-separated, the current one first."""
        keys = [key.encode("utf-8") for key in text.split()]
        if not keys:
            raise KeysUnusable("no signing key")
        if any(len(key) < MIN_KEY_CHARS for key in keys):
            raise KeysUnusable(f"a signing key is shorter than {MIN_KEY_CHARS} characters")
        return cls(current=keys[0], accepted=tuple(dict.fromkeys(keys)))


def key_id(key: bytes) -> str:
    """A short public name for a key: a hash that reveals nothing about it."""
    return _b64(hashlib.sha256(b"oauth-exchange signing key id\x00" + key).digest()[:6])


def derive(key: bytes, purpose: str, message: str) -> str:
    """An unguessable value (43 base64url characters) that only the key holder can compute again."""
    return _b64(hmac.new(_subkey(key, purpose), message.encode("utf-8"), hashlib.sha256).digest())


def seal(claims: Mapping[str, Any], keys: SigningKeys, *, purpose: str, issued_at: float, lifetime: int) -> str:
    """Sign ``claims`` (JSON-serialisable) with the current key; valid for ``lifetime`` seconds."""
    body = {**claims, "exp": int(issued_at) + lifetime}
    encoded = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    signed = f"{VERSION}.{key_id(keys.current)}.{encoded}"
    value = f"{signed}.{_mac(keys.current, purpose, signed)}"
    if len(value) > MAX_VALUE_CHARS:
        raise ValueError("sealed value too long")
    return value


def unseal(value: str | None, keys: SigningKeys, *, purpose: str, now: float) -> tuple[dict[str, Any], bytes]:
    """The claims of a value sealed by ``seal``, and the key that signed it; raises ``CookieRejected``."""
    if not value or len(value) > MAX_VALUE_CHARS:
        raise CookieRejected("malformed")
    parts = value.split(".")
    if len(parts) != 4 or parts[0] != VERSION or not all(_B64URL.fullmatch(part) for part in parts[1:]):
        raise CookieRejected("malformed")
    kid, encoded, mac = parts[1:]
    key = next((k for k in keys.accepted if hmac.compare_digest(key_id(k), kid)), None)
    if key is None:
        raise CookieRejected("unknown_key")
    if not hmac.compare_digest(_mac(key, purpose, f"{VERSION}.{kid}.{encoded}"), mac):
        raise CookieRejected("bad_signature")
    try:
        claims = json.loads(_unb64(encoded))
    except (ValueError, UnicodeDecodeError):
        raise CookieRejected("malformed") from None
    expires = claims.get("exp") if isinstance(claims, dict) else None
    if not isinstance(expires, int) or isinstance(expires, bool):
        raise CookieRejected("malformed")
    if now >= expires:
        raise CookieRejected("expired", claims)
    return claims, key


def set_cookie(name: str, value: str, max_age: int) -> str:
    """A ``Set-Cookie`` value only this origin's server sees: no script, HTTPS only, top-level cross-site GETs."""
    return f"{name}={value}; Max-Age={max_age}; Path=/; Secure; HttpOnly; SameSite=Lax"


def clear_cookie(name: str) -> str:
    """The ``Set-Cookie`` value that deletes the cookie ``set_cookie`` made."""
    return f"{name}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax"


def _subkey(key: bytes, purpose: str) -> bytes:
    """One key per purpose, so a MAC made for one use is never valid for another."""
    return hmac.new(key, b"oauth-exchange " + purpose.encode("utf-8"), hashlib.sha256).digest()


def _mac(key: bytes, purpose: str, signed: str) -> str:
    return _b64(hmac.new(_subkey(key, "cookie " + purpose), signed.encode("ascii"), hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None
