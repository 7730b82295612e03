"""Acknowledged writes exist afterwards exactly once."""

from __future__ import annotations

from pydantic import Field, model_validator

from gauntlet.contract.claim import Claim


class IntegrityClaim(Claim):
    """Acknowledged writes exist exactly once. ``requests`` carry ``{token}``; the read-back is
    SQL (a query taking ``%(tokens)s`` and answering ``(token, count)`` rows) or HTTP (a GET of
    ``path`` with ``{id}``, 200 = present — this finds lost writes, not duplicates)."""

    requests: list[str] = Field(min_length=1)
    acknowledged: list[int] = Field(default_factory=lambda: [200, 201])
    sql: str | None = None
    database_url: str | None = None
    http_path: str | None = None

    @model_validator(mode="after")
    def _read_back(self) -> IntegrityClaim:
        if (self.sql is None) == (self.http_path is None):
            raise ValueError("integrity reads back by 'sql' or by 'http_path', one of them")
        return self
