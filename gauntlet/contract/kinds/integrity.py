"""Acknowledged writes exist afterwards exactly once."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from gauntlet.contract.claim import Claim, RequestNames
from gauntlet.contract.registry import claim_kind


@claim_kind("integrity", order=80)
class IntegrityClaim(Claim):
    """Acknowledged writes exist exactly once. ``requests`` carry ``{token}``; the read-back is
    SQL (a query taking ``%(tokens)s`` and answering ``(token, count)`` rows) or HTTP (a GET of
    ``path`` with ``{id}``, 200 = present — this finds lost writes, not duplicates)."""

    wiring: ClassVar[frozenset[str]] = frozenset({"sql", "http_path"})

    requests: RequestNames = Field(min_length=1)
    acknowledged: list[int] = Field(default_factory=lambda: [200, 201])
    sql: str | None = None
    database_url: str | None = None
    http_path: str | None = None

    @model_validator(mode="after")
    def _read_back(self) -> IntegrityClaim:
        if (self.sql is None) == (self.http_path is None):
            raise ValueError("integrity reads back by 'sql' or by 'http_path', one of them")
        return self

    def rides_along(self, sent: set[str]) -> tuple[bool, str] | None:
        """Verified by whichever experiment sends its writes: read back after the fault."""
        writes = set(self.requests)
        return (bool(writes & sent),
                f"no experiment of this run sent its writes ({', '.join(sorted(writes))})")
