"""``/api/orders``: the database-backed part of the API, with idempotent creates and a cache.

Creates
    ``Idempotency-Key`` makes a create safe to repeat: the same user and key return the same row
    (201 the first time, 200 after), enforced by a unique constraint (see ``store``). Only such
    creates are retried on connection errors — a keyless create is not idempotent, so a retry
    could insert twice. ``DISABLE_IDEMPOTENCY=1`` ignores the key (and so never retries);
    ``UNSAFE_ACK=1`` answers 201 before writing and writes from a background task, which a
    crash, a drain or a database outage silently loses.

List
    Read-through cache (``X-Cache: hit|miss``). Redis down → read PostgreSQL (``bypass``).
    PostgreSQL down → the last-known-good copy if there is one (``stale``), else 503.
    ``DISABLE_CACHE_FALLBACK=1``: a Redis error is a 500 and there is no stale copy.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import FastAPI, Header, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from stack.api.auth import CurrentUser
from stack.api.cache import CacheError
from stack.api.db import DatabaseError, is_transient_db_error
from stack.api.errors import CIRCUIT_OPEN_HEADER, ApiError
from stack.api.logs import log_event
from stack.api.notify import Outcome
from stack.api.retry import RetryPolicy, call_with_retries
from stack.api.services import Services, ServicesDep
from stack.api.store import (
    create_order,
    get_order,
    insert_order_with_id,
    list_orders,
)

logger = logging.getLogger("stack.api.orders")
T = TypeVar("T")
MAX_ID = 2**63 - 1

# UNSAFE_ACK promises an id before the row exists: microseconds since the epoch, far above any
# sequence value, strictly increasing within the process
_unsafe_ids = itertools.count(time.time_ns() // 1000)


class OrderIn(BaseModel):
    item: str = Field(min_length=1, max_length=200)
    quantity: int = Field(gt=0, le=1_000_000, strict=True)


async def with_db_retries(services: Services, fn: Callable[[], Awaitable[T]]) -> T:
    """Retry an idempotent database operation on connection errors."""
    return await call_with_retries(
        fn, RetryPolicy.from_settings(services.settings), is_transient_db_error,
        lambda _: services.metrics.retries_total.labels(target="database").inc(),
    )


async def create(
    body: OrderIn,
    user: CurrentUser,
    services: ServicesDep,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
    ] = None,
) -> JSONResponse:
    if services.settings.disable_idempotency:
        idempotency_key = None
    if services.settings.unsafe_ack:
        return _ack_before_write(services, user, body)

    async def insert() -> tuple[Any, bool]:
        return await create_order(services.db, user, body.item, body.quantity, idempotency_key)

    if idempotency_key is not None:
        order, created = await with_db_retries(services, insert)
    else:
        order, created = await insert()
    await _invalidate(services, user)
    headers: dict[str, str] = {}
    if created and services.notifier is not None:
        outcome = await services.notifier.publish(
            {"event": "order_created", "user": user, "order": order.to_json()})
        if outcome is Outcome.REFUSED:  # created all the same; its notification dropped
            headers[CIRCUIT_OPEN_HEADER] = "notifications"
    return JSONResponse(order.to_json(), status_code=201 if created else 200, headers=headers)


async def read(
    order_id: Annotated[int, Path(ge=1, le=MAX_ID)], user: CurrentUser, services: ServicesDep
) -> dict[str, Any]:
    order = await with_db_retries(services, lambda: get_order(services.db, user, order_id))
    if order is None:
        raise ApiError(404, "not found")
    return order.to_json()


async def list_(user: CurrentUser, services: ServicesDep) -> JSONResponse:
    fallback_allowed = not services.settings.disable_cache_fallback
    cache_state = "miss"
    try:
        cached = await services.cache.get_fresh(user)
    except CacheError:
        if not fallback_allowed:
            raise
        cached = None
        cache_state = "bypass"
        services.metrics.fallbacks_total.labels(reason="cache_unavailable").inc()
    if cached is not None:
        return _list_response(cached, "hit")
    try:
        orders = [o.to_json() for o in await with_db_retries(
            services, lambda: list_orders(services.db, user))]
    except DatabaseError:
        stale = await _stale_copy(services, user) if fallback_allowed else None
        if stale is None:
            raise
        services.metrics.fallbacks_total.labels(reason="database_unavailable").inc()
        return _list_response(stale, "stale")
    if cache_state == "miss":
        try:
            await services.cache.put(user, orders)
        except CacheError:
            cache_state = "bypass"
    return _list_response(orders, cache_state)


def _list_response(orders: list[dict[str, Any]], cache_state: str) -> JSONResponse:
    return JSONResponse({"orders": orders}, headers={"X-Cache": cache_state})


async def _stale_copy(services: Services, user: str) -> list[dict[str, Any]] | None:
    try:
        return await services.cache.get_stale(user)
    except CacheError:
        return None


async def _invalidate(services: Services, user: str) -> None:
    """Best effort: the write is committed; a stale list lives at most CACHE_TTL_S."""
    try:
        await services.cache.invalidate(user)
    except CacheError as exc:
        log_event(logger, logging.WARNING, "cache_invalidate_failed", error=str(exc))


def _ack_before_write(services: Services, user: str, body: OrderIn) -> JSONResponse:
    """UNSAFE_ACK (broken variant): promise the row, then try to write it in the background."""
    order_id = next(_unsafe_ids)
    created_at = datetime.now(UTC)

    async def write_later() -> None:
        try:
            await insert_order_with_id(
                services.db, order_id, user, body.item, body.quantity, created_at
            )
            await _invalidate(services, user)
        except Exception as exc:
            log_event(logger, logging.ERROR, "acknowledged_write_lost", order_id=order_id,
                      error=f"{type(exc).__name__}: {exc}")

    services.spawn(write_later(), name=f"unsafe-ack-{order_id}")
    return JSONResponse(
        {"id": order_id, "item": body.item, "quantity": body.quantity, "user": user,
         "created_at": created_at.isoformat()},
        status_code=201,
    )


def register(app: FastAPI) -> None:
    app.add_api_route("/api/orders", create, methods=["POST"], status_code=201)
    app.add_api_route("/api/orders", list_, methods=["GET"])
    app.add_api_route("/api/orders/{order_id}", read, methods=["GET"])
