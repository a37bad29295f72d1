"""Sessions in DynamoDB: the one place the function reads and writes them.

One item per session, keyed by the SHA-256 of the cookie value: the value
itself is never stored, so the table alone cannot be replayed as cookies (the
value has 256 random bits, so an unsalted hash cannot be reversed). The item
holds the tokens, the session's lifetimes and a version number.

Refreshing is guarded by a conditional write: a request that finds the
access token due claims the refresh (``claim_refresh``: succeeds only if the
version it read is still current and no other claim is live); a request that
loses re-reads until the winner has stored the new tokens (``store_tokens``:
succeeds only while its claim holds). So a rotating refresh token is spent
once, however many requests find it due together.

Calls go through ``dynamodb`` (DynamoDB's JSON protocol over kept-alive
connections, each attempt bounded to a few seconds, two attempts). A write
that must not be applied twice (the sign-in's item, a refresh claim, the
refreshed tokens) is not sent again when a first attempt's fate is unknown:
that request then fails instead. Any failure but a failed condition is
``SessionStoreError``, whose message is safe to log.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from dynamodb import DynamoDB, DynamoDBError, DynamoDBUnavailable

CONDITION_FAILED = "ConditionalCheckFailedException"


class SessionStoreError(Exception):
    """The table could not be read or written; the message holds nothing secret."""


def session_key(cookie_value: str) -> str:
    """The item key for a cookie value."""
    return hashlib.sha256(cookie_value.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class StoredSession:
    """One session as the table holds it. Times are whole seconds since the epoch."""

    key: str
    provider: str
    access_token: str
    token_type: str
    scope: str
    refresh_token: str | None
    access_expires_at: int | None
    refresh_at: int | None
    """When to refresh: shortly before ``access_expires_at``; None when the token does not expire."""
    created_at: int
    last_seen_at: int
    expires_at: int
    """When the session ends unless used again: the earlier of the idle and the absolute limit (the TTL)."""
    user: Mapping[str, Any] | None
    version: int = 1
    lock_until: int | None = None
    """While a refresh is claimed: when the claim lapses if its request died."""

    def with_tokens(
        self,
        access_token: str,
        token_type: str,
        scope: str,
        refresh_token: str | None,
        access_expires_at: int | None,
        refresh_at: int | None,
    ) -> StoredSession:
        return replace(
            self,
            access_token=access_token,
            token_type=token_type,
            scope=scope,
            refresh_token=refresh_token,
            access_expires_at=access_expires_at,
            refresh_at=refresh_at,
            version=self.version + 1,
            lock_until=None,
        )


class SessionStore:
    """The session table, through the container's DynamoDB client."""

    def __init__(self, table_name: str, client: DynamoDB) -> None:
        self._table = table_name
        self._client = client

    def get(self, key: str) -> StoredSession | None:
        answer = self._call("GetItem", repeatable=True, Key=_key(key), ConsistentRead=True)
        item = answer.get("Item")
        return None if item is None else _from_item(item)

    def create(self, session: StoredSession) -> None:
        try:
            self._call("PutItem", repeatable=False, Item=_to_item(session), ConditionExpression="attribute_not_exists(id)")
        except _ConditionFailed:
            raise SessionStoreError("DynamoDB refused PutItem (the session key exists)") from None

    def touch(self, key: str, last_seen_at: int, expires_at: int) -> bool:
        """Record use (the idle limit restarts); False when the session is gone."""
        return self._update(
            key,
            "SET last_seen_at = :seen, expires_at = :expires",
            "attribute_exists(id)",
            {":seen": _number(last_seen_at), ":expires": _number(expires_at)},
            repeatable=True,
        )

    def claim_refresh(self, key: str, version: int, claim: str, until: int, now: int) -> bool:
        """Take the right to refresh: only from the version read, and only if no live claim exists."""
        return self._update(
            key,
            "SET refresh_claim = :claim, lock_until = :until",
            "version = :version AND (attribute_not_exists(lock_until) OR lock_until < :now)",
            {":claim": {"S": claim}, ":until": _number(until), ":version": _number(version), ":now": _number(now)},
            repeatable=False,
        )

    def store_tokens(self, session: StoredSession, claim: str) -> bool:
        """Store refreshed tokens and end the claim; False when the claim no longer holds (or the session is gone)."""
        values: dict[str, Any] = {
            ":access": {"S": session.access_token},
            ":type": {"S": session.token_type},
            ":scope": {"S": session.scope},
            ":version": _number(session.version),
            ":claim": {"S": claim},
        }
        assignments = ["access_token = :access", "token_type = :type", "#scope = :scope", "version = :version"]
        removals = ["refresh_claim", "lock_until"]
        for name, value in (
            ("refresh_token", session.refresh_token),
            ("access_expires_at", session.access_expires_at),
            ("refresh_at", session.refresh_at),
        ):
            if value is None:
                removals.append(name)
            else:
                assignments.append(f"{name} = :{name}")
                values[f":{name}"] = {"S": value} if isinstance(value, str) else _number(value)
        return self._update(
            session.key,
            f"SET {', '.join(assignments)} REMOVE {', '.join(removals)}",
            "refresh_claim = :claim",
            values,
            names={"#scope": "scope"},
            repeatable=False,
        )

    def release(self, key: str, claim: str) -> None:
        """Give up a claim without new tokens (the provider failed), so the next request may try."""
        self._update(
            key, "REMOVE refresh_claim, lock_until", "refresh_claim = :claim", {":claim": {"S": claim}}, repeatable=True
        )

    def delete(self, key: str) -> None:
        self._call("DeleteItem", repeatable=True, Key=_key(key))

    def close(self) -> None:
        self._client.close()

    def _update(
        self,
        key: str,
        expression: str,
        condition: str,
        values: Mapping[str, Any],
        names: Mapping[str, str] | None = None,
        *,
        repeatable: bool,
    ) -> bool:
        extra = {"ExpressionAttributeNames": dict(names)} if names else {}
        try:
            self._call(
                "UpdateItem",
                repeatable=repeatable,
                Key=_key(key),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues=dict(values),
                **extra,
            )
        except _ConditionFailed:
            return False
        return True

    def _call(self, operation: str, *, repeatable: bool, **arguments: Any) -> dict[str, Any]:
        """``repeatable``: applied twice, the call changes nothing more (see ``dynamodb.DynamoDB.call``)."""
        try:
            return self._client.call(operation, {"TableName": self._table, **arguments}, repeatable=repeatable)
        except DynamoDBError as exc:
            if exc.code == CONDITION_FAILED:
                raise _ConditionFailed() from None
            raise SessionStoreError(f"DynamoDB refused {operation} ({exc.code})") from None
        except DynamoDBUnavailable as exc:
            raise SessionStoreError(f"DynamoDB could not be reached: {exc}") from None


class _ConditionFailed(Exception):
    pass


def _key(key: str) -> dict[str, Any]:
    return {"id": {"S": key}}


def _number(value: int) -> dict[str, str]:
    return {"N": str(int(value))}


_NUMBERS = ("access_expires_at", "refresh_at", "created_at", "last_seen_at", "expires_at", "version", "lock_until")


def _to_item(session: StoredSession) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": {"S": session.key},
        "provider": {"S": session.provider},
        "access_token": {"S": session.access_token},
        "token_type": {"S": session.token_type},
        "scope": {"S": session.scope},
    }
    if session.refresh_token is not None:
        item["refresh_token"] = {"S": session.refresh_token}
    if session.user is not None:
        item["user"] = {"S": json.dumps(session.user, separators=(",", ":"), sort_keys=True)}
    for name in _NUMBERS:
        value = getattr(session, name)
        if value is not None:
            item[name] = _number(value)
    return item


def _from_item(item: Mapping[str, Any]) -> StoredSession:
    def text(name: str) -> str | None:
        value = item.get(name)
        return value["S"] if isinstance(value, dict) and "S" in value else None

    def number(name: str) -> int | None:
        value = item.get(name)
        return int(value["N"]) if isinstance(value, dict) and "N" in value else None

    try:
        user_text = text("user")
        return StoredSession(
            key=item["id"]["S"],
            provider=item["provider"]["S"],
            access_token=item["access_token"]["S"],
            token_type=text("token_type") or "bearer",
            scope=text("scope") or "",
            refresh_token=text("refresh_token"),
            access_expires_at=number("access_expires_at"),
            refresh_at=number("refresh_at"),
            created_at=number("created_at") or 0,
            last_seen_at=number("last_seen_at") or 0,
            expires_at=number("expires_at") or 0,
            user=None if user_text is None else json.loads(user_text),
            version=number("version") or 1,
            lock_until=number("lock_until"),
        )
    except (KeyError, TypeError, ValueError):
        raise SessionStoreError("a session item is malformed") from None
