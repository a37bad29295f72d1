"""The session table as one request uses it: every call timed and every failure counted, for the request's metrics.

A wrapper rather than code in ``session_store``: the store stays a plain
DynamoDB adapter, and whatever method it gains is measured too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from session_store import SessionStore, SessionStoreError
from web import RequestNote


class MeasuredStore:
    """Forwards to a ``SessionStore``, adding each call's time and failure to the request's note."""

    def __init__(self, store: SessionStore, note: RequestNote) -> None:
        self._store = store
        self._note = note

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._store, name)
        return self._measured(attribute) if callable(attribute) else attribute

    def _measured(self, call: Callable[..., Any]) -> Callable[..., Any]:
        note = self._note

        def measured(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return call(*args, **kwargs)
            except SessionStoreError:
                note.store_errors += 1
                raise
            finally:
                note.store_calls += 1
                note.store_seconds += time.perf_counter() - started

        return measured
