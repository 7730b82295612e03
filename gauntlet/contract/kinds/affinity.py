"""Sessions stay on one instance behind a balancer: sticky sessions, session affinity."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pydantic import Field, field_validator

from gauntlet.contract.basics import MinShare
from gauntlet.contract.claim import Claim
from gauntlet.contract.registry import claim_kind

if TYPE_CHECKING:
    from gauntlet.contract.document import Contract


@claim_kind("affinity", order=91)
class AffinityClaim(Claim):
    """Behind a balancer with several instances, every request of a session reaches the
    instance that began it ("Socket.IO behind sticky sessions"): a session that lives in one
    process — Socket.IO's polling handshake, then its upgrade — fails when its next request
    meets another instance. ``instances`` are the balancer's links to the instances, one each:
    the harness's own proxies on them count what each instance carried, so a pass needs every
    instance to have served sessions (a balancer that sends every client to one instance keeps
    sessions together without having shown it can). ``min_success`` of the sessions' connects
    and messages succeed."""

    wiring: ClassVar[frozenset[str]] = frozenset({"instances"})

    instances: list[str] = Field(min_length=2)
    min_success: MinShare = 0.99

    @field_validator("instances")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"instances name a link twice: {value}")
        return value

    def problem(self, contract: Contract) -> str | None:
        unknown = [link for link in self.instances if link not in contract.links]
        if unknown:
            known = ", ".join(sorted(contract.links)) or "none"
            return f"instances name no link of the contract: {unknown[0]!r} (links: {known})"
        realtime = contract.traffic.realtime
        if realtime is None:
            return ("needs [traffic.realtime]: the sessions are its connections, and the "
                    "contract gives none")
        if realtime.protocol != "socketio" or realtime.transports[0] != "polling":
            return ("a session that is one connection (a WebSocket) never meets a second "
                    "instance, so affinity is not exercised: [traffic.realtime] needs protocol "
                    "'socketio' with transports starting with 'polling' (its handshake is "
                    "several requests)")
        return None

    def statement(self) -> str | None:
        return (f"every request of a session reaches the instance that began it "
                f"({len(self.instances)} instances: {', '.join(self.instances)})")
