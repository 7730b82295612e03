"""A balancer leaves a failed instance alone: nginx's ``max_fails=3 fail_timeout=30s``."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from gauntlet.contract.claim import Claim, LinkName, RequestNames
from gauntlet.contract.registry import claim_kind


@claim_kind("failover", order=45)
class FailoverClaim(Claim):
    """Behind a balancer with several instances, one that stops answering is sent at most a
    few more requests — it is marked down after ``max_fails`` failures and left alone for
    ``fail_timeout_s`` — and tried again after that. ``link`` is the balancer's link to the
    instance the experiment hangs (a Toxiproxy ``timeout`` toxic: connections open, nothing
    answers); ``timeout_s`` is how long the balancer waits on an instance before it counts a
    failure and tries the next one (nginx's proxy_read_timeout). The clients see a request that
    met the hung instance take that long, and succeed."""

    wiring: ClassVar[frozenset[str]] = frozenset({"timeout_s"})

    link: LinkName
    requests: RequestNames = Field(min_length=1)
    max_fails: int = Field(ge=1)
    fail_timeout_s: float = Field(gt=0)
    timeout_s: float = Field(gt=0)

    @model_validator(mode="after")
    def _measurable(self) -> FailoverClaim:
        if self.fail_timeout_s < 3 * self.timeout_s:
            raise ValueError(f"fail_timeout_s {self.fail_timeout_s:g} must be at least three "
                             f"times timeout_s {self.timeout_s:g}: the requests of the first "
                             "failures take timeout_s, and the quiet after them is what shows "
                             "the instance left alone")
        return self

    def statement(self) -> str | None:
        return (f"a hung instance is marked down after {self.max_fails} failures, left alone "
                f"{self.fail_timeout_s:g} s, then tried again")
