"""A health path answers fast under load: "/health answers within 100 ms"."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator

from gauntlet.contract.claim import Claim
from gauntlet.contract.registry import claim_kind

# how much longer than the bound one poll waits: a poll cut off at the bound could not tell
# "just over" from "never answered"
POLL_TIMEOUT_FACTOR = 3.0
MIN_POLL_TIMEOUT_S = 1.0


@claim_kind("probe", order=96)
class ProbeClaim(Claim):
    """``path`` answers within ``within_ms`` at ``percentile`` (p99 by default) while the
    service is under load and no fault is on. Why a percentile and not every poll: on a shared
    machine one poll in a thousand meets a scheduler hiccup, and "every" would make the verdict
    a coin flip on the machine rather than a statement about the service. The poll's own
    timeout is three times the bound (at least 1 s), and a poll that got no answer counts as
    slower than any bound."""

    wiring: ClassVar[frozenset[str]] = frozenset({"path"})

    path: str
    within_ms: float = Field(gt=0)
    percentile: float = Field(99.0, gt=0, lt=100)

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"path must start with '/': {value!r}")
        return value

    @property
    def target(self) -> str:
        """The prober's name for this claim's polls (``probe`` events' ``target``)."""
        return self.id

    @property
    def poll_timeout_s(self) -> float:
        return max(MIN_POLL_TIMEOUT_S, POLL_TIMEOUT_FACTOR * self.within_ms / 1000.0)

    def timed_paths(self) -> dict[str, tuple[str, float]]:
        return {self.target: (self.path, self.poll_timeout_s)}

    def observed(self) -> bool:
        return True

    def statement(self) -> str | None:
        return f"{self.path} answers within {self.within_ms:g} ms (p{self.percentile:g}) under load"
