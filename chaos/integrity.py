"""Reading acknowledged writes back, the way the contract's integrity claim says.

The measurement half of the integrity check: for every write the client saw acknowledged (its
sample carries the write's unique ``token``), how many copies exist afterwards — by the claim's
SQL query on the database directly (not through the proxy), or by an HTTP GET of its path per
token (200 = present; this finds lost writes, not duplicates). :mod:`gauntlet.checks.integrity`
judges.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import psycopg

from gauntlet.contract import IntegrityClaim
from gauntlet.errors import InfrastructureError
from gauntlet.samples import load_samples


def acknowledged_tokens(run_dir: Path, claim: IntegrityClaim) -> list[str]:
    """Tokens of the claim's writes that were answered with an acknowledging status."""
    df = load_samples(run_dir, columns=["status", "token", "name"])
    if df.empty:
        return []
    token = df["token"].astype("string").fillna("")
    acked = df[df["status"].isin(claim.acknowledged) & (token != "")
               & df["name"].astype("string").isin(claim.requests)]
    return sorted(set(acked["token"].astype(str)))


def as_text(value: object) -> str:
    """A token as the read-back answered it, as text. On a ``SQL_ASCII`` database PostgreSQL
    does not say what the bytes mean, so psycopg hands text columns over as ``bytes`` — and
    ``str(b"ab12")`` is ``"b'ab12'"``, which matches no token: every write would read as lost.
    The bytes are decoded as UTF-8 (what clients write; tokens are ASCII in any case), an
    undecodable byte replaced rather than raised."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def count_rows(database_url: str, sql: str, tokens: list[str], *, timeout_s: float = 10.0
               ) -> dict[str, int]:
    """Copies per token from the claim's query (``%(tokens)s`` → ``(token, count)`` rows),
    compared as text whatever the server's encoding (:func:`as_text`)."""
    if not tokens:
        return {}
    try:
        with psycopg.connect(database_url, connect_timeout=int(timeout_s)) as conn:
            rows = conn.execute(sql, {"tokens": tokens}).fetchall()
    except psycopg.Error as exc:
        raise InfrastructureError(
            f"integrity read-back failed: {exc}".splitlines()[0]) from exc
    found: dict[str, int] = {}
    for row in rows:
        token = as_text(row[0])
        found[token] = found.get(token, 0) + int(row[1])
    return {t: found.get(t, 0) for t in tokens}


def fetch_each(base_url: str, path: str, tokens: list[str], headers: dict[str, str],
               *, timeout_s: float = 10.0) -> dict[str, int]:
    """1 for a token whose GET answers 200, 0 otherwise."""
    out: dict[str, int] = {}
    with httpx.Client(base_url=base_url, timeout=timeout_s, headers=headers) as client:
        for token in tokens:
            try:
                status = client.get(path.replace("{token}", token)).status_code
            except httpx.HTTPError as exc:
                raise InfrastructureError(f"integrity read-back failed: {exc}") from exc
            out[token] = 1 if status == 200 else 0
    return out


def read_back(claim: IntegrityClaim, run_dir: Path, *, database_url: str | None,
              base_url: str, headers: dict[str, str]) -> dict[str, Any]:
    """The facts the integrity verdict judges."""
    tokens = acknowledged_tokens(run_dir, claim)
    facts: dict[str, Any] = {"acknowledged": len(tokens), "checked": False,
                             "method": "sql" if claim.sql else "http", "error": None}
    if claim.sql is not None:
        url = claim.database_url or database_url
        if not url:
            facts["error"] = "no database URL to read back from (stack.database_url)"
            return facts
        rows = count_rows(url, claim.sql, tokens)
    else:
        assert claim.http_path is not None
        rows = fetch_each(base_url, claim.http_path, tokens, headers)
    facts["checked"] = True
    facts["rows"] = {t: n for t, n in rows.items() if n != 1}
    return facts
