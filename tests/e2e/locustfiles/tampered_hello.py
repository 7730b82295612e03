"""``static_hello``'s user, with one sample batch altered on its way to the master: a stand-in
for a man in the middle (tests/e2e/test_workers.py). The worker signs its third batch as always;
this listener changes a byte after the signing, so the master must find the MAC wrong, drop the
batch and say so."""

from __future__ import annotations

from typing import Any

from locust import events

from tests.e2e.locustfiles.static_hello import HelloUser

__all__ = ["HelloUser"]
TAMPERED_SEQ = 2


@events.init.add_listener
def _tamper(environment: Any, **_: Any) -> None:
    runner = environment.runner
    send = runner.send_message

    def send_tampered(kind: str, data: Any = None, *args: Any, **kwargs: Any) -> None:
        if kind == "gauntlet_chunk" and isinstance(data, dict) and \
                data.get("seq") == TAMPERED_SEQ and data.get("data"):
            data = {**data, "data": b"X" + data["data"][1:]}
        send(kind, data, *args, **kwargs)

    runner.send_message = send_tampered
