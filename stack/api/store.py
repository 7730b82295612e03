"""SQL for orders. Idempotency is enforced by PostgreSQL, not by a read-then-write.

``UNIQUE (username, idempotency_key)`` makes a second insert with the same key a no-op
(``ON CONFLICT DO NOTHING``); the existing row is then read back. Two concurrent requests with
one key serialise on the unique index: the second waits for the first to commit, inserts
nothing, and reads the first one's row — one row, one id, whatever the timing. Orders without
a key carry NULL there, and NULLs never conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from stack.api.db import Database, DatabaseUnavailable

_COLUMNS = "id, item, quantity, username, created_at"
LIST_LIMIT = 50


@dataclass(frozen=True)
class Order:
    id: int
    item: str
    quantity: int
    user: str
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "item": self.item,
            "quantity": self.quantity,
            "user": self.user,
            "created_at": self.created_at.isoformat(),
        }


def _order(row: asyncpg.Record) -> Order:
    return Order(row["id"], row["item"], row["quantity"], row["username"], row["created_at"])


async def create_order(
    db: Database, user: str, item: str, quantity: int, idempotency_key: str | None
) -> tuple[Order, bool]:
    """Insert an order; return it and whether it is new (False: the key's earlier row)."""
    async with db.connection() as conn:
        row = await conn.fetchrow(
            f"INSERT INTO orders (username, item, quantity, idempotency_key) "
            f"VALUES ($1, $2, $3, $4) "
            f"ON CONFLICT (username, idempotency_key) DO NOTHING RETURNING {_COLUMNS}",
            user, item, quantity, idempotency_key,
        )
        if row is not None:
            return _order(row), True
        row = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM orders WHERE username = $1 AND idempotency_key = $2",
            user, idempotency_key,
        )
    if row is None:  # only if the row was deleted between the two statements
        raise DatabaseUnavailable("idempotent insert found no row", transient=True)
    return _order(row), False


async def insert_order_with_id(
    db: Database, order_id: int, user: str, item: str, quantity: int, created_at: datetime
) -> None:
    """The UNSAFE_ACK variant's late write, with the id it already promised the client."""
    async with db.connection() as conn:
        await conn.execute(
            "INSERT INTO orders (id, username, item, quantity, created_at) "
            "VALUES ($1, $2, $3, $4, $5)",
            order_id, user, item, quantity, created_at,
        )


async def get_order(db: Database, user: str, order_id: int) -> Order | None:
    async with db.connection() as conn:
        row = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM orders WHERE id = $1 AND username = $2", order_id, user
        )
    return _order(row) if row is not None else None


async def list_orders(db: Database, user: str, limit: int = LIST_LIMIT) -> list[Order]:
    async with db.connection() as conn:
        rows = await conn.fetch(
            f"SELECT {_COLUMNS} FROM orders WHERE username = $1 ORDER BY id DESC LIMIT $2",
            user, limit,
        )
    return [_order(row) for row in rows]
