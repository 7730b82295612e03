"""PostgreSQL access: an asyncpg pool that never hangs a request and never crashes the process.

Why the pool is created by a background task and not at start: asyncpg opens ``init_size``
connections inside ``create_pool`` and raises when PostgreSQL is down, which would turn a
dependency outage at boot into a dead API. Here the app starts at once; a connector task keeps
trying (every 1 to 2 s) until the pool exists and the schema is in place. Until then
every query fails fast with :class:`DatabaseUnavailable` (503) — there is no pool to wait on.
Once the pool exists asyncpg's own floor maintenance (``min_size``) reconnects after an outage.

Two failure kinds, because a client reacts differently to them:

- :class:`DatabaseBusy` — every pooled connection is checked out and none came back within
  ``DB_ACQUIRE_TIMEOUT_S``: the database is fine, we are saturated ("database busy").
- :class:`DatabaseUnavailable` — connecting failed or the connection broke ("database
  unavailable"); ``transient`` marks the ones worth a retry (connection errors, not a query
  that ran past its command timeout).

The database's own circuit breaker (``DB_BREAKER=1``; LangSense runs one breaker per
component): every checkout asks it for a permit, and a checkout plus its query must finish
within ``DB_BREAKER_CALL_TIMEOUT_S`` — a hung PostgreSQL holds no request longer than that, and
each such call counts as a failure, where without the bound the request's deadline would cut it
first and the breaker would never hear of it. While open, a checkout fails at once with
:class:`DatabaseCircuitOpen` (a :class:`DatabaseUnavailable`, so cached reads still fall back).
A busy pool is not the database failing: it neither opens nor closes the breaker.

Readiness uses its own short-lived connection (``SELECT 1`` under a 0.5 s budget), not the
pool: a saturated pool is not an unreachable database, and a probe must not queue behind load.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

import asyncpg

from stack.api.breaker import CircuitBreaker, CircuitOpenError, Permit
from stack.api.config import Settings
from stack.api.logs import log_event
from stack.api.metrics import Metrics

logger = logging.getLogger("stack.api.db")

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    id              BIGSERIAL PRIMARY KEY,
    username        TEXT        NOT NULL,
    item            TEXT        NOT NULL,
    quantity        INTEGER     NOT NULL CHECK (quantity > 0),
    idempotency_key TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT orders_user_idempotency_key UNIQUE (username, idempotency_key)
);
CREATE INDEX IF NOT EXISTS orders_username_id ON orders (username, id DESC);
"""

# errors that mean "the connection is gone or never came": worth a retry, answer 503
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.InterfaceError,
)


class DatabaseError(Exception):
    """Base of the two ways a database call fails from the API's point of view."""


class DatabaseBusy(DatabaseError):
    """The pool is exhausted: no connection came free within the acquire timeout."""


class DatabaseUnavailable(DatabaseError):
    """PostgreSQL could not be reached or the connection broke."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


class DatabaseCircuitOpen(DatabaseUnavailable):
    """The database's breaker refused the call: answered at once, nothing was tried."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__("database circuit open", transient=False)
        self.retry_after_s = retry_after_s


def is_transient_db_error(exc: BaseException) -> bool:
    """Retry predicate: connection-level failures only (never busy pools or slow queries)."""
    return isinstance(exc, DatabaseUnavailable) and exc.transient


class Database:
    """The pool's lifecycle plus a checkout that classifies failures; see module docstring."""

    def __init__(self, settings: Settings, metrics: Metrics,
                 breaker: CircuitBreaker | None = None) -> None:
        self._settings = settings
        self._metrics = metrics
        self.breaker = breaker
        self._pool: asyncpg.Pool | None = None
        self._schema_ready = False
        self._connector: asyncio.Task[None] | None = None
        self._in_use = 0
        # one slot per pooled connection; see connection() for why we queue here, not in asyncpg
        self._slots = asyncio.Semaphore(settings.db_pool_max)
        metrics.on_scrape(self._refresh_gauges)

    @property
    def ready(self) -> bool:
        """The pool exists and the schema is in place."""
        return self._pool is not None and self._schema_ready

    @property
    def in_use(self) -> int:
        return self._in_use

    def start(self) -> None:
        """Begin connecting in the background; returns at once."""
        self._connector = asyncio.create_task(self._connect_until_ready(), name="db-connector")

    async def close(self, timeout_s: float = 5.0) -> None:
        """Stop connecting, then close the pool (terminating it if it will not close in time)."""
        if self._connector is not None:
            self._connector.cancel()
            with suppress(asyncio.CancelledError):
                await self._connector
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), timeout_s)
            except (TimeoutError, Exception):
                pool.terminate()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """Check a connection out of the pool; raise :class:`DatabaseError` subclasses only.

        With a breaker, the checkout and what the caller does with the connection are one
        call: a :class:`DatabaseUnavailable` is its failure, any other outcome (a row, a
        constraint violation — PostgreSQL answered) its success, a cancellation or a busy pool
        no verdict.
        """
        pool = self._pool
        if pool is None or not self._schema_ready:
            raise DatabaseUnavailable("database not connected")
        breaker = self.breaker
        if breaker is None:
            async with self._checkout(pool, None) as conn:
                yield conn
            return
        try:
            permit = breaker.acquire()
        except CircuitOpenError as exc:
            raise DatabaseCircuitOpen(exc.retry_after_s) from exc
        settle: Callable[[Permit], None] = breaker.release
        try:
            async with self._checkout(pool, self._settings.db_breaker_call_timeout_s) as conn:
                yield conn
            settle = breaker.record_success
        except DatabaseBusy:
            raise
        except DatabaseUnavailable:
            settle = breaker.record_failure
            raise
        except Exception:
            settle = breaker.record_success
            raise
        finally:
            settle(permit)

    @asynccontextmanager
    async def _checkout(self, pool: asyncpg.Pool, call_timeout_s: float | None
                        ) -> AsyncIterator[asyncpg.Connection]:
        """Two bounded phases, so the two failures are told apart: waiting for one of the
        ``DB_POOL_MAX`` slots (timeout → busy), then getting a live connection for that slot,
        which may mean connecting (timeout or refusal → unavailable). asyncpg's own
        ``acquire(timeout=)`` covers both at once and cannot say which one ran out.
        ``call_timeout_s`` bounds the second phase and the caller's use of the connection."""
        s = self._settings
        try:
            if s.disable_pool_timeout:  # broken variant: queue for a slot forever
                await self._slots.acquire()
            else:
                async with asyncio.timeout(s.db_acquire_timeout_s):
                    await self._slots.acquire()
        except TimeoutError as exc:
            raise DatabaseBusy("no pooled connection came free in time") from exc
        self._in_use += 1
        self._metrics.db_pool_in_use.set(self._in_use)
        try:
            async with _call_timeout(call_timeout_s), self._live(pool) as conn:
                yield conn
        finally:
            self._in_use -= 1
            self._metrics.db_pool_in_use.set(self._in_use)
            self._slots.release()

    @asynccontextmanager
    async def _live(self, pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
        """A live connection from asyncpg's pool, every connection-level failure converted."""
        s = self._settings
        try:
            conn = await pool.acquire(timeout=s.db_connect_timeout_s + s.db_acquire_timeout_s)
        except TimeoutError as exc:
            raise DatabaseUnavailable("connecting to the database timed out") from exc
        except CONNECTION_ERRORS as exc:
            raise DatabaseUnavailable(f"cannot connect: {exc}") from exc
        try:
            yield conn
        except asyncio.CancelledError:
            # the request was cut (its deadline, or shutdown): the query may still be
            # running, and a graceful release would first wait on the database — through
            # the very slowness that cut it — before the 504 could be answered
            _discard(conn)
            raise
        except TimeoutError as exc:  # command_timeout: the query ran too long
            _discard(conn)  # its state is unknown; a graceful release could hang too
            raise DatabaseUnavailable("query timed out", transient=False) from exc
        except CONNECTION_ERRORS as exc:
            _discard(conn)
            raise DatabaseUnavailable(f"connection lost: {exc}") from exc
        finally:
            with suppress(Exception):
                await pool.release(conn, timeout=s.db_acquire_timeout_s)

    async def ping(self, timeout_s: float) -> float:
        """``SELECT 1`` on a fresh connection within ``timeout_s``; return latency in ms.

        Raises ``TimeoutError`` or a connection error when PostgreSQL does not answer.
        """
        started = time.perf_counter()
        conn: asyncpg.Connection | None = None
        try:
            async with asyncio.timeout(timeout_s):
                conn = await asyncpg.connect(
                    self._settings.database_url, timeout=timeout_s,
                    statement_cache_size=self._settings.db_statement_cache_size)
                await conn.fetchval("SELECT 1")
        finally:
            if conn is not None:
                _discard(conn)
        return (time.perf_counter() - started) * 1000

    async def _connect_until_ready(self) -> None:
        delay_s = 1.0
        failures = 0
        while not self.ready:
            try:
                if self._pool is None:
                    self._pool = await self._create_pool()
                    log_event(logger, logging.INFO, "db_pool_created",
                              size=self._pool.get_size(), max=self._settings.db_pool_max)
                async with asyncio.timeout(self._settings.db_command_timeout_s):
                    await self._pool.execute(SCHEMA)
                self._schema_ready = True
                log_event(logger, logging.INFO, "db_ready")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                if failures == 1 or failures % 30 == 0:
                    log_event(logger, logging.WARNING, "db_connect_failed",
                              attempts=failures, error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(delay_s)
                delay_s = min(delay_s * 2, 2.0)

    async def _create_pool(self) -> asyncpg.Pool:
        s = self._settings
        kwargs: dict[str, Any] = {
            "min_size": s.db_pool_min,
            "max_size": s.db_pool_max,
            "timeout": s.db_connect_timeout_s,  # per connection attempt
            "command_timeout": s.db_command_timeout_s,
            "statement_cache_size": s.db_statement_cache_size,
        }
        async with asyncio.timeout(s.db_connect_timeout_s + 1.0):
            return await asyncpg.create_pool(s.database_url, **kwargs)

    def _refresh_gauges(self) -> None:
        pool = self._pool
        self._metrics.db_pool_size.set(pool.get_size() if pool is not None else 0)
        self._metrics.db_pool_in_use.set(self._in_use)


@asynccontextmanager
async def _call_timeout(timeout_s: float | None) -> AsyncIterator[None]:
    """``asyncio.timeout`` whose expiry is a :class:`DatabaseUnavailable` (not retried: the
    budget is spent); ``None``: no bound."""
    try:
        async with asyncio.timeout(timeout_s):
            yield
    except TimeoutError as exc:
        if timeout_s is None:
            raise
        raise DatabaseUnavailable("database call timed out", transient=False) from exc


def _discard(conn: asyncpg.Connection) -> None:
    """Terminate a connection whose state is unknown. asyncpg may already have handed a broken
    one back to the pool (it does once the connection is lost mid-statement), and terminating
    it then raises: it is gone either way, and the request's own error is what matters."""
    with suppress(asyncpg.InterfaceError):
        conn.terminate()
