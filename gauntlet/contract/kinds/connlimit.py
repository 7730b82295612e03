"""Connections in flight per client address are capped: "nginx limit_conn 64 per address"."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from gauntlet.contract.claim import Claim, LinkName, LinkNames, RequestNames
from gauntlet.contract.registry import claim_kind


@claim_kind("connection_limit", order=35)
class ConnectionLimitClaim(Claim):
    """At most ``limit`` requests of one client address are in flight at once; the one over it
    is answered ``status`` at once (nginx's ``limit_conn``: 503 unless ``limit_conn_status``
    says otherwise), and other addresses are not affected. The experiment holds requests in
    flight by slowing ``link`` (the gateway's link to the service behind it; ``also_links``
    to more instances behind it) and sends the first of ``requests`` — a request no rate
    limit covers, or the rate limit answers first — over ``limit`` connections of one address
    at once. The address is the contract's
    ``traffic.client_header``."""

    wiring: ClassVar[frozenset[str]] = frozenset({"status"})

    limit: int = Field(gt=0, le=500)
    requests: RequestNames = Field(min_length=1)
    link: LinkName
    # the limiter's links to more instances behind it (a gateway balancing two): each is
    # slowed with ``link``, or the requests the balancer sends there are not held
    also_links: LinkNames = Field(default_factory=list)
    status: int = Field(503, ge=400, le=599)

    def statement(self) -> str | None:
        return f"at most {self.limit} requests in flight per address, then {self.status}"
