"""A request deadline cuts what a slow link would otherwise hold."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from gauntlet.contract.claim import Claim, LinkName, RequestNames
from gauntlet.contract.registry import claim_kind


@claim_kind("deadline", order=60)
class DeadlineClaim(Claim):
    wiring: ClassVar[frozenset[str]] = frozenset({"status"})

    requests: RequestNames = Field(min_length=1)
    deadline_s: float = Field(gt=0)
    link: LinkName  # the dependency whose slowness the deadline must cut
    status: int | None = None  # what a request cut by the deadline answers (e.g. 504)
