"""Long-lived connections survive their dependency dropping."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from gauntlet.contract.claim import Claim, LinkName
from gauntlet.contract.registry import claim_kind

if TYPE_CHECKING:
    from gauntlet.contract.document import Contract


@claim_kind("realtime", order=90)
class RealtimeClaim(Claim):
    """Long-lived connections (``[traffic.realtime]``) survive their dependency dropping:
    ``link`` is cut (Toxiproxy ``down`` and ``reset_peer``), and with ``restart`` the main
    service is also restarted under load. Every dropped connection is connected again within
    ``reconnect_s`` of the fault's end (or the service being ready again); every acknowledged
    message is delivered within ``deliver_s`` — counted from when delivery was possible again,
    for a message caught by the fault — or it is lost."""

    link: LinkName
    reconnect_s: float = Field(5.0, gt=0)
    deliver_s: float = Field(2.0, gt=0)
    restart: bool = False

    def problem(self, contract: Contract) -> str | None:
        if contract.traffic.realtime is None:
            return ("needs [traffic.realtime] (how to open a connection and send a message), "
                    "and the contract gives none")
        return None
