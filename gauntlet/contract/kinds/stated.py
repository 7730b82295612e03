"""A claim stated so the claims table lists it, though no experiment verifies it here."""

from __future__ import annotations

from pydantic import Field

from gauntlet.contract.claim import Claim
from gauntlet.contract.registry import claim_kind


@claim_kind("stated", order=100)
class StatedClaim(Claim):
    """A claim the service makes that no experiment can verify here (a notification queue the
    stack does not have, a limit with no black-box evidence): stated so that the claims table
    lists it, as not verified, with ``reason`` — a gap said out loud instead of left silent."""

    says: str = Field(min_length=1)
    reason: str = Field(min_length=1)

    def unverifiable(self) -> str | None:
        return self.reason

    def statement(self) -> str | None:
        return self.says
