"""Signed values the browser carries: forgery, expiry, key rotation and purpose separation."""

from __future__ import annotations

import base64
import json
import secrets

import pytest

from signed_cookie import (
    CookieRejected,
    KeysUnusable,
    SigningKeys,
    clear_cookie,
    derive,
    key_id,
    seal,
    set_cookie,
    unseal,
)

NOW = 1_800_000_000.0
CURRENT, PREVIOUS, STRANGER = (secrets.token_urlsafe(48) for _ in range(3))
KEYS = SigningKeys.parse(f"{CURRENT} {PREVIOUS}")


def reject_reason(value, keys=KEYS, *, purpose="test", now=NOW) -> str:
    with pytest.raises(CookieRejected) as rejected:
        unseal(value, keys, purpose=purpose, now=now)
    return rejected.value.reason


def test_a_sealed_value_opens_with_its_claims_and_the_key_that_signed_it():
    value = seal({"state": "abc", "origin": "https://cms.example"}, KEYS, purpose="test", issued_at=NOW, lifetime=600)

    claims, key = unseal(value, KEYS, purpose="test", now=NOW + 599)

    assert claims == {"state": "abc", "origin": "https://cms.example", "exp": int(NOW) + 600}
    assert key == CURRENT.encode()


def test_it_expires_after_its_lifetime_and_says_so_with_the_authentic_claims():
    value = seal({"state": "abc"}, KEYS, purpose="test", issued_at=NOW, lifetime=600)

    with pytest.raises(CookieRejected) as rejected:
        unseal(value, KEYS, purpose="test", now=NOW + 600)

    assert rejected.value.reason == "expired"
    assert rejected.value.claims["state"] == "abc"


def test_changing_any_part_breaks_the_signature():
    value = seal({"state": "abc", "admin": False}, KEYS, purpose="test", issued_at=NOW, lifetime=600)
    version, kid, encoded, mac = value.split(".")
    claims = json.loads(base64.urlsafe_b64decode(encoded + "=="))
    forged = base64.urlsafe_b64encode(json.dumps({**claims, "admin": True}).encode()).rstrip(b"=").decode()

    assert reject_reason(".".join([version, kid, forged, mac])) == "bad_signature"
    assert reject_reason(".".join([version, kid, encoded, mac[::-1]])) == "bad_signature"


def test_a_value_signed_for_one_purpose_is_not_valid_for_another():
    value = seal({"state": "abc"}, KEYS, purpose="cms sign-in", issued_at=NOW, lifetime=600)

    assert reject_reason(value, purpose="session") == "bad_signature"


def test_the_previous_key_is_accepted_and_an_unknown_one_is_named_as_such():
    by_previous = seal({"n": 1}, SigningKeys.parse(PREVIOUS), purpose="test", issued_at=NOW, lifetime=60)
    by_stranger = seal({"n": 1}, SigningKeys.parse(STRANGER), purpose="test", issued_at=NOW, lifetime=60)

    assert unseal(by_previous, KEYS, purpose="test", now=NOW)[1] == PREVIOUS.encode()
    assert reject_reason(by_stranger) == "unknown_key"


@pytest.mark.parametrize(
    "value",
    [None, "", "v1", "v1.a.b", "v1.a.b.c.d", "v2.a.b.c", "v1.a+b.c.d", "v1." + "A" * 3000, "v1.a.b.c\n"],
)
def test_malformed_values_are_refused_before_any_key_is_tried(value):
    assert reject_reason(value) == "malformed"


def test_key_ids_reveal_nothing_and_differ_per_key():
    assert key_id(CURRENT.encode()) != key_id(PREVIOUS.encode())
    assert CURRENT[:6] not in key_id(CURRENT.encode())


def test_derived_values_depend_on_key_purpose_and_message():
    base = derive(CURRENT.encode(), "pkce", "state-1")

    assert len(base) == 43
    assert derive(CURRENT.encode(), "pkce", "state-1") == base
    assert len({base, derive(PREVIOUS.encode(), "pkce", "state-1"), derive(CURRENT.encode(), "other", "state-1"), derive(CURRENT.encode(), "pkce", "state-2")}) == 4


@pytest.mark.parametrize("text", ["", "   ", "short", f"{CURRENT} short"])
def test_keys_that_are_missing_or_short_are_unusable(text):
    with pytest.raises(KeysUnusable) as raised:
        SigningKeys.parse(text)
    assert CURRENT not in str(raised.value)


def test_cookie_headers_are_host_only_https_only_script_proof_and_lax():
    assert set_cookie("__Host-x", "v", 600) == "__Host-x=v; Max-Age=600; Path=/; Secure; HttpOnly; SameSite=Lax"
    assert clear_cookie("__Host-x") == "__Host-x=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax"
