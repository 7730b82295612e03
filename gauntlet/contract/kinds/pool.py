"""An exhausted connection pool answers at once instead of queueing."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from gauntlet.contract.claim import Claim, LinkName, Marker, RequestNames
from gauntlet.contract.registry import claim_kind


@claim_kind("pool", order=70)
class PoolClaim(Claim):
    """An exhausted connection pool answers at once instead of queueing.

    ``exhausted_answer`` says how that answer is recognised: the status, and a header or body
    pattern only it carries — a bare 503 is also what an open breaker or a failing database
    answers, so it cannot tell a pool that refused from anything else that refused. Its status
    defaults to ``status``. Without one, the bare ``status`` is taken as weaker evidence: the
    verdict counts only answers given while at least ``size`` other requests were in flight (the
    pool could have been full), and never one that carries another claim's marker (a breaker's
    open answer).
    """

    wiring: ClassVar[frozenset[str]] = frozenset({"status"})

    link: LinkName
    requests: RequestNames = Field(min_length=1)
    size: int = Field(ge=1)
    acquire_timeout_s: float = Field(gt=0)
    status: int = 503
    exhausted_answer: Marker | None = None

    @model_validator(mode="after")
    def _one_status(self) -> PoolClaim:
        given = self.exhausted_answer.status if self.exhausted_answer is not None else None
        if given is not None and "status" in self.model_fields_set and given != self.status:
            raise ValueError(f"exhausted_answer.status {given} contradicts status "
                             f"{self.status}: give one of them")
        return self

    @property
    def answer(self) -> Marker:
        """The exhausted pool's answer: ``exhausted_answer`` with its status filled in from
        ``status``, or the bare status."""
        marker = self.exhausted_answer
        if marker is None:
            return Marker(status=self.status)
        return marker if marker.status is not None else \
            marker.model_copy(update={"status": self.status})

    @property
    def identified(self) -> bool:
        """True when the answer is told apart by more than its status (a header or body)."""
        marker = self.exhausted_answer
        return marker is not None and (marker.header is not None or marker.body is not None)

    def answer_markers(self) -> dict[str, Marker]:
        return {self.id: self.answer}
