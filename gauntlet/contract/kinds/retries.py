"""Retries with exponential backoff absorb short outages of a link; on an HTTP link, which
answers are retried and which never are."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, field_validator, model_validator

from gauntlet.contract.claim import Claim, LinkName, Metric, RequestNames
from gauntlet.contract.registry import claim_kind

if TYPE_CHECKING:
    from gauntlet.contract.document import Contract


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
    # on an HTTP link (links.X.protocol = "http"): the dependency's answers the service
    # retries ("retries 502, 503, 504"), and those it never retries ("never on 4xx"); the
    # retry_statuses experiment forges them and counts the attempts at the dependency
    retry_statuses: list[int] = Field(default_factory=list)
    no_retry_statuses: list[int] = Field(default_factory=list)
    # "honours Retry-After": a retried answer that carries Retry-After (delay-seconds) is not
    # retried before that long; verified on the first of retry_statuses
    retry_after: bool = False

    @field_validator("retry_statuses", "no_retry_statuses")
    @classmethod
    def _statuses(cls, value: list[int]) -> list[int]:
        for status in value:
            if not 400 <= status <= 599:
                raise ValueError(f"{status} is not an error status (400..599)")
        if len(set(value)) != len(value):
            raise ValueError("a status is listed twice")
        return value

    @model_validator(mode="after")
    def _disjoint(self) -> RetriesClaim:
        both = set(self.retry_statuses) & set(self.no_retry_statuses)
        if both:
            raise ValueError(f"status {min(both)} is both retried and never retried")
        return self

    @property
    def statuses(self) -> list[int]:
        """Every status the claim says something about, retried ones first."""
        return [*self.retry_statuses, *self.no_retry_statuses]

    def problem(self, contract: Contract) -> str | None:
        if self.retry_after and not self.retry_statuses:
            return ("retry_after needs a status it retries (retry_statuses): the Retry-After "
                    "is forged on the first of them")
        if self.statuses and contract.links[self.link].protocol != "http":
            return (f"retry_statuses / no_retry_statuses need an HTTP link: set "
                    f"links.{self.link}.protocol = \"http\"")
        return None

    @property
    def shortest_wait_s(self) -> float:
        """The least the claimed retries can wait in all: each sleep at least
        ``initial·2ⁿ`` (capped at ``max_s``) shortened by the claimed jitter. An outage
        longer than this can fail a request however well the service retries."""
        floor = sum(min(self.max_s, self.initial_s * 2**i) for i in range(self.attempts - 1))
        return float(floor * (1.0 - self.jitter))

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
