"""A client of a run's Locust master that is not an honest gauntlet worker (for
``tests/e2e/test_workers.py``): ``python -m tests.e2e.rogue_worker MODE HOST PORT``.

- ``forge``: knows the run's secret (``$GAUNTLET_WORKER_SECRET``) and proves it, as a worker
  whose host was taken over would, then ships a sample batch under a MAC it made up;
- ``stranger``: knows no secret, and ships a batch without answering the challenge.

Prints ``sent`` once its batch went out, then exits 0; exits 1 when the master never answers.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
from locust.rpc import Message, rpc  # noqa: E402

from gauntlet.scenarios.remote import (  # noqa: E402
    CHALLENGE_MSG,
    CHUNK_MSG,
    PROOF_MSG,
    SETTINGS_MSG,
)
from gauntlet.scenarios.workerauth import prove  # noqa: E402

FORGED = {"file": "samples-1.csv", "offset": 0, "whole": False, "seq": 0, "mac": "0" * 64,
          "data": b"forged,row\n"}


def main(mode: str, host: str, port: int) -> int:
    client_id = f"rogue-{mode}_{os.getpid()}"
    client = rpc.Client(host, port, client_id)  # type: ignore[no-untyped-call]

    def send(kind: str, data: Any) -> None:
        client.send(Message(kind, data, client_id))  # type: ignore[no-untyped-call]

    def knock() -> None:  # the master may not listen yet: ask until it answers
        while True:
            send(SETTINGS_MSG if mode == "forge" else CHUNK_MSG,
                 None if mode == "forge" else FORGED)
            gevent.sleep(1)

    knocker = gevent.spawn(knock)
    try:
        with gevent.Timeout(120):
            while True:
                msg = client.recv()  # type: ignore[no-untyped-call]
                if msg.type == CHALLENGE_MSG and mode == "forge":
                    send(PROOF_MSG, {"proof": prove(os.environ["GAUNTLET_WORKER_SECRET"],
                                                    msg.data["challenge"], client_id)})
                elif msg.type == CHALLENGE_MSG or msg.type == SETTINGS_MSG:
                    break  # a stranger's batch is held; a proven client gets the settings
    except gevent.Timeout:
        print("no answer from the master", flush=True)
        return 1
    finally:
        knocker.kill()
    if mode == "forge":
        send(CHUNK_MSG, FORGED)
    gevent.sleep(0.5)  # let ZeroMQ deliver before the socket closes
    client.close(linger=1000)  # type: ignore[no-untyped-call]
    print(f"sent as {client_id}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
