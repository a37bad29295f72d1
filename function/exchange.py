"""The framework-free core: one request in, one response out, one log line.

``handle(ExchangeRequest) -> ExchangeResponse`` knows nothing of Lambda
events. It routes the request to the mode that serves its path and turns
whatever goes wrong into the spec's error answer. Container state is built
once, when this module is imported (Lambda's init phase), and shared by all
threads; ``reset()`` rebuilds it from the environment, as a new container's
init would.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import cast

import cms
import metrics
import sessions
import token_api
from container import Container, Invocation
from exchange_errors import ExchangeError
from measured_store import MeasuredStore
from session_store import SessionStore
from web import MAX_BODY_BYTES, ExchangeRequest, ExchangeResponse, RequestNote, error_response

__all__ = ["MAX_BODY_BYTES", "ExchangeRequest", "ExchangeResponse", "error_response", "handle", "log_request", "reset"]

log = logging.getLogger("oauth_exchange")
REQUEST_LINE = "request_id=%s route=%s provider=%s outcome=%s status=%d upstream_ms=%d%s"

_container = Container(os.environ)
_container_lock = threading.Lock()


def reset() -> None:
    """Rebuild the container state from the environment (tests change it between requests)."""
    global _container
    fresh = Container(os.environ)
    with _container_lock:
        old, _container = _container, fresh
    old.close()


def handle(request: ExchangeRequest) -> ExchangeResponse:
    """Answer one request; never raises."""
    note = RequestNote()
    try:
        response = _dispatch(_container, request, note)
        outcome = note.outcome or "ok"
    except ExchangeError as exc:
        response = error_response(exc)
        outcome = exc.error
        note.detail = exc.log_detail
    except Exception as exc:  # noqa: BLE001 - the contract is a 500, never a crash
        response = error_response(ExchangeError("server_error"))
        outcome = "server_error"
        note.detail = f"unexpected {type(exc).__name__} at {_where(exc)}"
    log_request(request.request_id, outcome, response.status, note, method=request.method)
    return response


def log_request(request_id: str, outcome: str, status: int, note: RequestNote, *, method: str = "") -> None:
    """The one log line per request; every value in it is safe to log.

    The fields are in the message for the text log format and in ``extra``,
    which Lambda's JSON log format turns into top-level keys: with a metrics
    namespace configured, the line is also the request's EMF document
    (``metrics``). A provider name the stack does not configure is logged as
    ``unknown``: it is a metric dimension, and a caller must not mint those.
    """
    if not log.isEnabledFor(logging.INFO):
        return
    container = _container
    route, detail = note.route, note.detail
    provider = metrics.provider_dimension(note.provider, () if container.config is None else container.config.providers)
    upstream_ms = round(note.upstream_seconds * 1000)
    extra = {
        "request_id": request_id,
        "route": route,
        "provider": provider,
        "outcome": outcome,
        "status": status,
        "upstream_ms": upstream_ms,
        "detail": detail,
    }
    if container.metrics_namespace:
        extra.update(metrics.emf_members(container.metrics_namespace, route, method, status, note, int(time.time() * 1000)))
    arguments = (request_id, route, provider, outcome, status, upstream_ms, f" detail={detail}" if detail else "")
    # Made and handed on directly: Logger.info would also walk the stack for the caller's file and line
    # (as much CPU as the metrics cost, bench/function_bench.py), which no Lambda log format shows.
    log.handle(log.makeRecord(log.name, logging.INFO, "", 0, REQUEST_LINE, arguments, None, extra=extra))


def _where(exc: BaseException) -> str:
    """File and line of the innermost frame: enough to find the bug, no values."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return "unknown"
    return f"{os.path.basename(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno}"


def _route(request: ExchangeRequest) -> tuple[str, Callable[[Invocation], ExchangeResponse]] | None:
    """The mode serving a path, and the route name its log line shows."""
    if request.path in token_api.ROUTES:
        return request.path, token_api.handle
    if cms.serves(request.path):
        return cms.route_name(request.path), cms.handle
    if request.path.startswith(sessions.PATH_PREFIX):
        return sessions.route_name(request.path), sessions.handle
    return None


def _dispatch(container: Container, request: ExchangeRequest, note: RequestNote) -> ExchangeResponse:
    config, secrets, http = container.config, container.secrets, container.provider
    if config is None or secrets is None or http is None:
        container.report_problem()
        raise ExchangeError("server_error", log_detail=container.problem)
    route = _route(request)
    if route is None:
        raise ExchangeError("not_found")
    note.route, serve = route
    # Measured per request, for its metrics; it offers every SessionStore method.
    store = None if container.sessions is None else cast(SessionStore, MeasuredStore(container.sessions, note))
    return serve(Invocation(config, secrets, http, request, note, sessions=store))
