"""Readiness follows a link: unready while it is down, ready again after, degraded as
claimed, and shown by a detailed health endpoint."""

from __future__ import annotations

from pydantic import Field, model_validator

from gauntlet.contract.basics import MinShare, Strict
from gauntlet.contract.claim import Claim, LinkName, RequestNames
from gauntlet.contract.registry import claim_kind


class Degradation(Strict):
    """What keeps working (``min_success``) or fails fast (``status`` within ``within_s``)
    while a link is down."""

    requests: list[str] = Field(min_length=1)
    min_success: MinShare | None = None
    status: int | None = None
    within_s: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _one(self) -> Degradation:
        if (self.min_success is None) == (self.status is None):
            raise ValueError("a degradation says min_success (keeps serving) or status "
                             "(fails fast), one of them")
        return self


class HealthDetail(Strict):
    """A detailed health endpoint (per-dependency status and latency): it answers within
    ``max_ms``, and shows the claim's link as one of ``unhealthy`` within ``within_s`` (the
    claim's ``ready_within_s`` by default) of the link going down, then as one of ``healthy``
    once it is back. ``dependency_status`` is the dotted path of that dependency's status in
    the JSON answer; ``{link}`` in it stands for the claim's link."""

    path: str
    max_ms: float = Field(gt=0)
    dependency_status: str = Field(min_length=1)
    healthy: list[str] = Field(default_factory=lambda: ["healthy"], min_length=1)
    unhealthy: list[str] = Field(default_factory=lambda: ["degraded", "unhealthy"],
                                 min_length=1)
    within_s: float | None = Field(None, gt=0)
    # "DB response < 100 ms, reported degraded above": the dependency's latency as the answer
    # reports it (dotted path, ``{link}`` allowed), and the threshold past which its status
    # must be one of ``unhealthy`` (and below which one of ``healthy``)
    dependency_latency: str | None = Field(None, min_length=1)
    degraded_above_ms: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _apart(self) -> HealthDetail:
        both = set(self.healthy) & set(self.unhealthy)
        if both:
            raise ValueError(f"a status cannot be both healthy and unhealthy: {sorted(both)}")
        if (self.dependency_latency is None) != (self.degraded_above_ms is None):
            raise ValueError("degraded_above_ms and dependency_latency go together: the "
                             "threshold, and where the answer reports the latency it judges")
        return self

    def status_field(self, link: str) -> str:
        """The dotted path of ``link``'s status in the answer."""
        return self.dependency_status.replace("{link}", link)

    def latency_field(self, link: str) -> str | None:
        """The dotted path of ``link``'s reported latency (ms) in the answer, when claimed."""
        if self.dependency_latency is None:
            return None
        return self.dependency_latency.replace("{link}", link)


@claim_kind("health", order=50)
class HealthClaim(Claim):
    """Readiness depends on ``link``: it turns unready within a bound while the link is down
    and ready again after; liveness stays up; ``degraded`` says what still works;
    ``detailed`` says how a detailed health endpoint shows the link."""

    link: LinkName
    requests: RequestNames = Field(default_factory=list)
    ready_within_s: float = Field(2.0, gt=0)
    recover_within_s: float = Field(5.0, gt=0)
    unready_status: int = 503
    live_stays_up: bool = True
    degraded: list[Degradation] = Field(default_factory=list)
    detailed: HealthDetail | None = None
