"""A circuit breaker around a link: it opens on failures, answers a marked fallback while
open, and probes and closes again once the link is back."""

from __future__ import annotations

from pydantic import Field, model_validator

from gauntlet.contract.claim import Claim, LinkName, Marker, Metric, RequestNames
from gauntlet.contract.registry import claim_kind


@claim_kind("breaker", order=10)
class BreakerClaim(Claim):
    link: LinkName
    requests: RequestNames = Field(min_length=1)
    failure_rate: float | None = Field(None, gt=0, le=1)
    window_s: float | None = Field(None, gt=0)
    min_calls: int = Field(1, ge=1)
    consecutive_failures: int | None = Field(None, ge=1)
    open_s: float = Field(gt=0)
    call_timeout_s: float = Field(gt=0)
    max_call_s: float | None = Field(None, gt=0)  # a guarded call with its retries, worst case
    open_answer: Marker
    metric: Metric | None = None
    # requests of other components, sent alongside: one breaker per component means they keep
    # being served while this one is open
    isolated: RequestNames = Field(default_factory=list)
    # replicas behind a balancer, each with a breaker of its own: each sees its share of the
    # calls, and each opens in its own time within the opening bound
    instances: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _trip(self) -> BreakerClaim:
        rate = self.failure_rate is not None and self.window_s is not None
        if not rate and self.consecutive_failures is None:
            raise ValueError("a breaker opens on failure_rate + window_s or consecutive_failures")
        return self

    @property
    def call_s(self) -> float:
        return self.max_call_s or self.call_timeout_s

    def answer_markers(self) -> dict[str, Marker]:
        return {self.id: self.open_answer}

    def state_metrics(self) -> list[Metric]:
        return [self.metric] if self.metric is not None and self.metric.states else []

    def holds_after_s(self, link: str) -> float:
        """Open for its open duration after the link is back, one probe call and 2 s."""
        return self.open_s + self.call_s + 2.0 if link == self.link else 0.0

    def ends_requests_within(self, link: str, requests: set[str]) -> tuple[float, str] | None:
        if link != self.link or not requests <= set(self.requests):
            return None
        return self.call_s, (f"{self.id} ends every call on {self.link} within "
                             f"{self.call_s:g} s (max_call_s)")
