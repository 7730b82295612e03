"""A request deadline cuts what a slow link would otherwise hold."""

from __future__ import annotations

from pydantic import Field

from gauntlet.contract.claim import Claim


class DeadlineClaim(Claim):
    requests: list[str] = Field(min_length=1)
    deadline_s: float = Field(gt=0)
    link: str  # the dependency whose slowness the deadline must cut
    status: int | None = None  # what a request cut by the deadline answers (e.g. 504)
