"""A client of a run's Locust master that knows no secret (for tests/e2e/test_workers.py and
test_netns_workers.py): ``python -m tests.e2e.rogue_worker HOST PORT``. It asks to join as Locust's
own worker does (``client_ready``), and once the master has challenged it, ships a sample batch
anyway; it never answers the challenge.

Prints ``sent as <id>`` once its batch went out, then exits 0; exits 1 when the master never
answers.
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

from gauntlet.scenarios.remote import CHALLENGE_MSG, CHUNK_MSG  # noqa: E402

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
    try:
        with gevent.Timeout(120):
            while client.recv().type != CHALLENGE_MSG:  # type: ignore[no-untyped-call]
                pass
    except gevent.Timeout:
        print("no answer from the master", flush=True)
        return 1
    finally:
        knocker.kill()
    send(CHUNK_MSG, FORGED)
    gevent.sleep(0.5)  # let ZeroMQ deliver before the socket closes
    client.close(linger=1000)  # type: ignore[no-untyped-call]
    print(f"sent as {client_id}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
