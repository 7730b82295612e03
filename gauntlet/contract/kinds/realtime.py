"""Long-lived connections survive their dependency dropping."""

from __future__ import annotations

from pydantic import Field

from gauntlet.contract.claim import Claim


class RealtimeClaim(Claim):
    """Long-lived connections (``[traffic.realtime]``) survive their dependency dropping:
    ``link`` is cut (Toxiproxy ``down`` and ``reset_peer``), and with ``restart`` the main
    service is also restarted under load. Every dropped connection is connected again within
    ``reconnect_s`` of the fault's end (or the service being ready again); every acknowledged
    message is delivered within ``deliver_s`` — counted from when delivery was possible again,
    for a message caught by the fault — or it is lost."""

    link: str
    reconnect_s: float = Field(5.0, gt=0)
    deliver_s: float = Field(2.0, gt=0)
    restart: bool = False
