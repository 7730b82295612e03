"""PostgreSQL for the ledger: an asyncpg pool with a bounded wait, its one table, a readiness check.

The service starts without its database: the pool connects lazily (``min_size=0``), the table is
created by a background task that retries until PostgreSQL answers, and readiness says "no"
until both the table exists and a ``SELECT 1`` answers within ``LEDGER_READY_CHECK_S`` on a
connection of its own (so a pool exhausted by traffic never makes the service look unready).

Every failure of the database reaches the API as a :class:`StoreError` with the reason it gives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from tests.services.ledger.settings import Settings

logger = logging.getLogger("ledger.store")

SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger_entries (
    entry_id      bigserial PRIMARY KEY,
    memo          text        NOT NULL,
    cents         bigint      NOT NULL,
    request_token text        UNIQUE,
    booked_at     timestamptz NOT NULL DEFAULT now()
)
"""
SCHEMA_RETRY_S = 1.0
LIST_LIMIT = 20

# what asyncpg raises when the database is away, refuses, or drops the connection
_DB_ERRORS: tuple[type[BaseException], ...] = (OSError, asyncpg.PostgresError,
                                              asyncpg.InterfaceError)


async def _no_reset(conn: asyncpg.Connection) -> None:
    """Each statement runs on its own (no transactions, no session state), so the default reset
    round trip on every release would only double each request's time on a slow database."""


def _discard(conn: asyncpg.Connection) -> None:
    """Drop a connection in an unknown state. Once a connection is lost mid-statement, asyncpg
    (0.32) has already handed it back to the pool, and ``terminate()`` on it then raises
    InterfaceError — from inside the handler, so the request answered 500 instead of 503. A CI
    run caught it (one 500 among 700 answers while the database was down); flapping the proxy
    under 30 clients gave 25 in 90 s. The connection is gone either way."""
    with contextlib.suppress(asyncpg.InterfaceError):
        conn.terminate()


class StoreError(Exception):
    """The database could not serve the request; ``reason`` is what the API answers."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PoolBusy(StoreError):
    """No connection came free within ``LEDGER_POOL_WAIT_S``."""


@dataclass(frozen=True)
class Entry:
    entry_id: int
    memo: str
    cents: int
    booked_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"entry_id": self.entry_id, "memo": self.memo, "cents": self.cents,
                "booked_at": self.booked_at.isoformat()}


class Store:
    """The pool, the schema task and the readiness connection of one ledger process."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._pool: asyncpg.Pool | None = None
        self._schema_task: asyncio.Task[None] | None = None
        self._schema_ready = False
        self._probe: asyncpg.Connection | None = None
        self._probe_lock = asyncio.Lock()

    # --- life cycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        """Create the (lazy) pool and start creating the table; never waits for PostgreSQL."""
        self._pool = await asyncpg.create_pool(
            self._settings.database_url,
            min_size=0,
            max_size=self._settings.pool_max,
            timeout=self._settings.db_connect_s,  # connecting, not querying
            max_inactive_connection_lifetime=60.0,
            reset=_no_reset,
        )
        self._schema_task = asyncio.create_task(self._create_schema(), name="ledger-schema")

    async def close(self, within_s: float = 2.0) -> None:
        """Stop the schema task, drop the probe connection, close the pool within a bound."""
        if self._schema_task is not None:
            self._schema_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._schema_task
        self._drop_probe()
        if self._pool is not None:
            try:
                await asyncio.wait_for(self._pool.close(), timeout=within_s)
            except TimeoutError:
                logger.warning("pool did not close within %.1f s: terminated", within_s)
                self._pool.terminate()

    async def _create_schema(self) -> None:
        while True:
            try:
                async with self.connection() as conn:
                    await conn.execute(SCHEMA)
            except StoreError as exc:
                logger.info("table not created yet (%s); again in %.0f s", exc.reason,
                            SCHEMA_RETRY_S)
                await asyncio.sleep(SCHEMA_RETRY_S)
            else:
                self._schema_ready = True
                logger.info("table ledger_entries ready")
                return

    # --- connections --------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection; waiting for one is bounded unless ``LEDGER_NO_POOL_TIMEOUT``."""
        if self._pool is None:
            raise StoreError("database pool not open")
        wait_s = None if self._settings.no_pool_timeout else self._settings.pool_wait_s
        try:
            conn = await self._pool.acquire(timeout=wait_s)
        except TimeoutError as exc:
            if wait_s is None:  # no wait bound: only connecting to PostgreSQL timed out
                raise StoreError("database connect timed out") from exc
            raise PoolBusy(f"no database connection within {wait_s} s") from exc
        except _DB_ERRORS as exc:
            raise StoreError(f"database unavailable: {type(exc).__name__}") from exc
        try:
            yield conn
        except asyncio.CancelledError:
            # cut by the request deadline mid-query: a connection in that state would make the
            # release wait on the (slow) database, so it is dropped instead of reused
            _discard(conn)
            raise
        except _DB_ERRORS as exc:
            _discard(conn)
            raise StoreError(f"database unavailable: {type(exc).__name__}") from exc
        finally:
            await self._pool.release(conn)

    @property
    def in_use(self) -> int:
        """Connections checked out of the pool now."""
        if self._pool is None:
            return 0
        return int(self._pool.get_size() - self._pool.get_idle_size())

    # --- readiness ----------------------------------------------------------------------------

    async def unready_reason(self) -> str | None:
        """Why the database cannot serve now, or None when it answers in time."""
        if not self._schema_ready:
            return "table not created yet"
        bound_s = self._settings.ready_check_s
        try:
            async with asyncio.timeout(bound_s), self._probe_lock:
                if self._probe is None or self._probe.is_closed():
                    self._probe = await asyncpg.connect(self._settings.database_url,
                                                        timeout=bound_s)
                await self._probe.fetchval("SELECT 1")
        except TimeoutError:
            self._drop_probe()
            return f"database did not answer within {bound_s} s"
        except _DB_ERRORS as exc:
            self._drop_probe()
            return f"database unavailable: {type(exc).__name__}"
        return None

    def _drop_probe(self) -> None:
        if self._probe is not None:
            self._probe.terminate()
            self._probe = None

    # --- the ledger ---------------------------------------------------------------------------

    async def add(self, memo: str, cents: int, request_token: str | None) -> tuple[int, bool]:
        """Book an entry; ``(entry_id, created)``. A token seen before answers its first row
        (the unique constraint decides, so two concurrent repeats cannot both insert)."""
        token = None if self._settings.no_idempotency else request_token
        async with self.connection() as conn:
            entry_id = await conn.fetchval(
                "INSERT INTO ledger_entries (memo, cents, request_token) VALUES ($1, $2, $3) "
                "ON CONFLICT (request_token) DO NOTHING RETURNING entry_id",
                memo, cents, token,
            )
            if entry_id is not None:
                return int(entry_id), True
            first = await conn.fetchval(
                "SELECT entry_id FROM ledger_entries WHERE request_token = $1", token)
        if first is None:
            raise StoreError("request token conflicted with a row that is gone")
        return int(first), False

    async def get(self, entry_id: int) -> Entry | None:
        async with self.connection() as conn:
            row = await conn.fetchrow(
                "SELECT entry_id, memo, cents, booked_at FROM ledger_entries WHERE entry_id = $1",
                entry_id,
            )
        return None if row is None else Entry(**dict(row))

    async def latest(self) -> list[Entry]:
        async with self.connection() as conn:
            rows = await conn.fetch(
                "SELECT entry_id, memo, cents, booked_at FROM ledger_entries "
                "ORDER BY entry_id DESC LIMIT $1", LIST_LIMIT,
            )
        return [Entry(**dict(row)) for row in rows]
