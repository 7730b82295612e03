"""Reading acknowledged writes back from PostgreSQL, directly (not through the proxy).

The measurement half of the integrity check: it gathers, for every create the client saw
acknowledged, how many rows carry its unique item token. :mod:`checks.integrity` judges.
"""

from __future__ import annotations

import psycopg

from gauntlet.errors import InfrastructureError


def count_rows(database_url: str, tokens: list[str], *, timeout_s: float = 10.0) -> dict[str, int]:
    """Rows per token in ``orders.item``; tokens with no row map to 0."""
    if not tokens:
        return {}
    try:
        with psycopg.connect(database_url, connect_timeout=int(timeout_s)) as conn:
            rows = conn.execute(
                "SELECT item, count(*) FROM orders WHERE item = ANY(%s) GROUP BY item",
                (tokens,),
            ).fetchall()
    except psycopg.Error as exc:
        raise InfrastructureError(
            f"integrity read-back from PostgreSQL failed: {exc}".splitlines()[0]
        ) from exc
    found = {str(item): int(n) for item, n in rows}
    return {token: found.get(token, 0) for token in tokens}
