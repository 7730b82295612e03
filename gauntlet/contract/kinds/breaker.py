"""A circuit breaker around a link: it opens on failures, answers a marked fallback while
open, and probes and closes again once the link is back."""

from __future__ import annotations

from pydantic import Field, model_validator

from gauntlet.contract.claim import Claim, Marker, Metric


class BreakerClaim(Claim):
    link: str
    requests: list[str] = Field(min_length=1)
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
    isolated: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _trip(self) -> BreakerClaim:
        rate = self.failure_rate is not None and self.window_s is not None
        if not rate and self.consecutive_failures is None:
            raise ValueError("a breaker opens on failure_rate + window_s or consecutive_failures")
        return self

    @property
    def call_s(self) -> float:
        return self.max_call_s or self.call_timeout_s
