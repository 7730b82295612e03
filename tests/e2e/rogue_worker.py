"""A worker without the run's secret (for tests/e2e/test_workers.py and test_netns_workers.py):
``python -m tests.e2e.rogue_worker HOST PORT``. It asks to join as Locust's own worker does
(``client_ready``), answers the master's challenge with no proof, and ships a sample batch
anyway.

Prints ``refused as <id>: <why>`` once the master refused it and its batch went out, then exits
0; exits 1 when the master never answers or never refuses.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
from locust import __version__  # noqa: E402
from locust.rpc import Message, rpc  # noqa: E402

from gauntlet.scenarios.remote import (  # noqa: E402
    CHALLENGE_MSG,
    CHUNK_MSG,
    PROOF_MSG,
    REFUSED_MSG,
)

FORGED = {"file": "samples-1.csv", "offset": 0, "whole": False, "seq": 0, "mac": "0" * 64,
          "data": b"forged,row\n"}


def main(host: str, port: int) -> int:
    client_id = f"rogue-stranger_{os.getpid()}"
    client = rpc.Client(host, port, client_id)  # type: ignore[no-untyped-call]

    def send(kind: str, data: Any) -> None:
        client.send(Message(kind, data, client_id))  # type: ignore[no-untyped-call]

    def knock() -> None:  # the master may not listen yet: ask until it answers
        while True:
            send("client_ready", __version__)
            gevent.sleep(1)

    knocker = gevent.spawn(knock)
    why = None
    try:
        with gevent.Timeout(120):
            while why is None:
                msg = client.recv()  # type: ignore[no-untyped-call]
                if msg.type == CHALLENGE_MSG:
                    knocker.kill()
                    send(PROOF_MSG, {"proof": None})  # it has no secret to prove
                elif msg.type == REFUSED_MSG:
                    why = str(msg.data.get("why"))
    except gevent.Timeout:
        print("no challenge or no refusal from the master", flush=True)
        return 1
    finally:
        knocker.kill()
    send(CHUNK_MSG, FORGED)  # and ships anyway: the master must drop it unread
    gevent.sleep(0.5)  # let ZeroMQ deliver before the socket closes
    client.close(linger=1000)  # type: ignore[no-untyped-call]
    print(f"refused as {client_id}: {why}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
