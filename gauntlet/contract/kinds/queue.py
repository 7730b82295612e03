"""A queue stays short under load: "notification queue < 100 pending"."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from gauntlet.contract.claim import Claim, Metric
from gauntlet.contract.registry import claim_kind


@claim_kind("queue", order=97)
class QueueClaim(Claim):
    """The gauge ``depth`` (the messages waiting in a queue, as the service exports it) reads
    below ``below`` at every scrape while the run's load and experiments go on.

    Why a gauge the service exports and not a look inside the broker: the claim is the
    service's ("our queue stays short"), the contract names its metric like any other, and a
    broker's own API differs between brokers where a Prometheus gauge does not. ``published``
    (a counter of the messages the service put on the queue) is the evidence that the queue was
    used at all: a queue nothing was sent to is short by default, and its verdict stays
    inconclusive. Without ``published``, a depth that never rose above 0 is no evidence
    either."""

    wiring: ClassVar[frozenset[str]] = frozenset({"depth", "published"})

    depth: Metric
    published: Metric | None = None
    below: float = Field(gt=0)

    @property
    def depth_target(self) -> str:
        """The prober's name for this claim's depth readings (``metric.value`` events)."""
        return f"{self.id}:depth"

    @property
    def published_target(self) -> str:
        return f"{self.id}:published"

    def gauges(self) -> dict[str, Metric]:
        out = {self.depth_target: self.depth}
        if self.published is not None:
            out[self.published_target] = self.published
        return out

    def observed(self) -> bool:
        return True

    def statement(self) -> str | None:
        return f"{self.depth.name} stays below {self.below:g} under load"
