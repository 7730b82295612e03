"""Retries with exponential backoff absorb short outages of a link."""

from __future__ import annotations

from pydantic import Field

from gauntlet.contract.claim import Claim, LinkName, Metric, RequestNames
from gauntlet.contract.registry import claim_kind


@claim_kind("retries", order=20)
class RetriesClaim(Claim):
    link: LinkName
    requests: RequestNames = Field(min_length=1)
    attempts: int = Field(ge=2)
    initial_s: float = Field(ge=0)
    max_s: float = Field(ge=0)
    call_timeout_s: float = Field(gt=0)
    # how much shorter than initial·2ⁿ a wait may be: 0 for a jitter only added on top
    # (tenacity's wait_exponential_jitter), 0.5 for cenkalti/backoff's default randomization
    # (±50 %), 1 for "full jitter" (uniform from 0). Unstated: 0.5, cenkalti/backoff's default
    jitter: float = Field(0.5, ge=0, le=1)
    metric: Metric | None = None  # a counter that rises by one per retry

    @property
    def backoff_budget_s(self) -> float:
        """The most its retry sleeps can add (:func:`backoff_budget_s`)."""
        return backoff_budget_s(self.attempts, self.initial_s, self.max_s)

    def ends_requests_within(self, link: str, requests: set[str]) -> tuple[float, str] | None:
        if link != self.link or not requests <= set(self.requests):
            return None
        budget = self.backoff_budget_s
        worst = self.attempts * self.call_timeout_s + budget
        return worst, (f"{self.id} ends every request on {self.link} within {worst:g} s "
                       f"({self.attempts} attempts of at most {self.call_timeout_s:g} s + "
                       f"backoff {budget:g} s)")


def backoff_budget_s(attempts: int, initial_s: float, max_s: float) -> float:
    """The most that retry sleeps can add: each sleep is at most ``initial·2^n`` plus a jitter
    of up to ``initial``, capped at ``max`` (exponential backoff with jitter)."""
    return float(sum(min(max_s, initial_s * 2**i + initial_s)
                     for i in range(max(0, attempts - 1))))
