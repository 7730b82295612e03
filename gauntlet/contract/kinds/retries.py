"""Retries with exponential backoff absorb short outages of a link."""

from __future__ import annotations

from pydantic import Field

from gauntlet.contract.claim import Claim, Metric


class RetriesClaim(Claim):
    link: str
    requests: list[str] = Field(min_length=1)
    attempts: int = Field(ge=2)
    initial_s: float = Field(ge=0)
    max_s: float = Field(ge=0)
    call_timeout_s: float = Field(gt=0)
    # how much shorter than initial·2ⁿ a wait may be: 0 for a jitter only added on top
    # (tenacity's wait_exponential_jitter), 0.5 for cenkalti/backoff's default randomization
    # (±50 %), 1 for "full jitter" (uniform from 0). Unstated: 0.5, cenkalti/backoff's default
    jitter: float = Field(0.5, ge=0, le=1)
    metric: Metric | None = None  # a counter that rises by one per retry
