"""Who may talk to a run's Locust master: the challenge each client must answer first (loaded
inside Locust; never import this from the harness).

The master side (:class:`Gate`) stands between Locust's ZeroMQ server and Locust's own
message handling: it wraps the server's ``recv_from_client``, the one call through which every
client message reaches the master. A client it does not know has its messages held (a few),
gets a challenge, and only once its proof holds are they handed on — so Locust never acks an
unproven worker, never sends it a spawn message or the locustfile, and gauntlet never sends it
the run's settings. A wrong or absent proof is refused: the client is told, its messages are
dropped from then on, and the refusal lands in the master's record (``remote-workers.json``)
and so in the run's events. A trusted client speaks only for itself: the node id in its
messages is set to the id ZeroMQ saw it connect with.

Why wrap one method of Locust's server rather than use a hook: Locust has none before its
``client_ready`` handling, and its transport has no authentication (its docs say to keep the
port private). The wrap is installed at Locust's ``init``, before the master's listener first
calls ``recv_from_client``; the pinned Locust version is tested end to end
(``tests/e2e/test_workers.py``).

The worker side answers the challenge on each of its three channels: Locust's worker runner
(:func:`answer_challenges`), Locust's locustfile download (``-f -``) and gauntlet's settings
request, both through :func:`ask_master`. Locust opens the download's client inside its
argument parsing, so :func:`answer_challenges` puts :func:`ask_master` in place of Locust's
``download_locustfile_from_master`` (same contract: the list of locustfile sources).

The protocol itself — challenge, proof, signed batches — is :mod:`gauntlet.scenarios.workerauth`.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections import deque
from collections.abc import Callable
from typing import Any
from uuid import uuid4

import gevent
import locust.argument_parser
from locust import __version__ as locust_version
from locust.rpc import Message, rpc
from locust.runners import WorkerRunner

from gauntlet.scenarios.remote import (
    CHALLENGE_MSG,
    PROOF_MSG,
    REFUSED_EXIT,
    REFUSED_MSG,
    SETTINGS_MSG,
)
from gauntlet.scenarios.workerauth import new_challenge, proof_holds, prove

logger = logging.getLogger("gauntlet.gate")

HELD_MAX = 16  # messages kept per client until it proves itself
PENDING_MAX = 1024  # challenges awaiting an answer; past that, the oldest is given up
RECORDED_MAX = 100  # refused and silent clients named in the record; the rest are counted
# what a client may send before its proof (held, then handed on): Locust's join and locustfile
# request, gauntlet's settings request. Anything else from a stranger is dropped unread.
HOLDABLE = frozenset({"client_ready", "locustfile", SETTINGS_MSG})
# requests answered once: the client must prove itself again for another (its id, seen in clear
# on the network, is worth nothing once it has left)
ONE_SHOT = frozenset({"locustfile", SETTINGS_MSG})


class Gate:
    """The master's admission: wraps the runner's ``server.recv_from_client`` from construction
    on, and again on every server Locust makes when it resets a broken connection."""

    def __init__(self, runner: Any, secret: str,
                 on_change: Callable[[], None] = lambda: None) -> None:
        self.runner = runner
        self.secret = secret
        self.on_change = on_change
        self.trusted: set[str] = set()
        self.pending: dict[str, str] = {}  # client -> its challenge, oldest first
        self.held: dict[str, list[Any]] = {}
        self.released: deque[tuple[str, Any]] = deque()
        self.refused: dict[str, str] = {}
        self.silent: list[str] = []  # challenged, never answered, given up
        self.unrecorded = 0  # refused or silent clients past RECORDED_MAX
        self._install(runner.server)
        reset = runner.reset_connection

        def reset_gated() -> None:  # Locust replaces its server: the gate goes on the new one
            reset()
            self._install(runner.server)

        runner.reset_connection = reset_gated

    def _install(self, server: Any) -> None:
        self.server = server
        self._recv = server.recv_from_client
        server.recv_from_client = self.recv_from_client

    def recv_from_client(self) -> tuple[str, Any]:
        """The next message of a trusted client; strangers are dealt with on the way."""
        while True:
            if self.released:
                return self.released.popleft()
            client_id, msg = self._recv()
            if client_id in self.trusted:
                msg.node_id = client_id  # a trusted client speaks only for itself
                if msg.type in ONE_SHOT or msg.type == "quit":
                    self.trusted.discard(client_id)
                return client_id, msg
            self._stranger(client_id, msg)

    def unanswered(self) -> list[str]:
        """Clients challenged that never answered (a plain Locust worker, a port scanner)."""
        return sorted({*self.silent, *self.pending})[:RECORDED_MAX]

    def _stranger(self, client_id: str, msg: Any) -> None:
        if client_id in self.refused:
            return
        if msg.type == PROOF_MSG:
            self._judge(client_id, msg)
            return
        if msg.type not in HOLDABLE:
            return
        held = self.held.setdefault(client_id, [])
        if len(held) < HELD_MAX:
            held.append(msg)
        if client_id not in self.pending:
            if len(self.pending) >= PENDING_MAX:  # the oldest stranger has had its chance
                oldest = next(iter(self.pending))
                del self.pending[oldest]
                self.held.pop(oldest, None)
                self._record_silent(oldest)
            self.pending[client_id] = new_challenge()
            self._send(client_id, CHALLENGE_MSG, {"challenge": self.pending[client_id]})
            self.on_change()

    def _judge(self, client_id: str, msg: Any) -> None:
        challenge = self.pending.pop(client_id, None)
        proof = msg.data.get("proof") if isinstance(msg.data, dict) else None
        if challenge is not None and proof_holds(self.secret, challenge, client_id, proof):
            self.trusted.add(client_id)
            for held in self.held.pop(client_id, []):
                held.node_id = client_id
                self.released.append((client_id, held))
                if held.type in ONE_SHOT:  # answered once; another needs another proof
                    self.trusted.discard(client_id)
                    break
            self.on_change()
            return
        if challenge is None:
            why = "answered a challenge it was never sent"
        elif not proof:
            why = "sent no proof: it has no worker secret"
        else:
            why = "sent a wrong proof: its worker secret is not this run's"
        self.held.pop(client_id, None)
        if len(self.refused) < RECORDED_MAX:
            self.refused[client_id] = why
        else:
            self.unrecorded += 1
        logger.warning("gauntlet: refused worker %s: %s", client_id, why)
        self._send(client_id, REFUSED_MSG, {"why": why})
        self.on_change()

    def _record_silent(self, client_id: str) -> None:
        if len(self.silent) < RECORDED_MAX:
            self.silent.append(client_id)
        else:
            self.unrecorded += 1

    def _send(self, client_id: str, kind: str, data: dict[str, str]) -> None:
        try:
            self.server.send_to_client(Message(kind, data, client_id))  # type: ignore[no-untyped-call]
        except Exception as exc:  # a client gone already: nothing to tell it
            logger.info("gauntlet: could not send %s to %s: %s", kind, client_id, exc)


def refused(why: str) -> None:
    """This worker was refused by the master: say so and exit (Locust cannot go on)."""
    sys.stderr.write(f"gauntlet worker: the master refused this worker: {why}\n")
    sys.stderr.flush()
    os._exit(REFUSED_EXIT)  # from a greenlet: a SystemExit would only end that greenlet


def ask_master(host: str, port: int, purpose: str, kind: str, data: Any, secret: str,
               timeout_s: float) -> Any:
    """Send ``kind`` from a throw-away client, once a second until the master answers in kind
    (the worker may start first), answering its challenge on the way; the answer's message.
    Exits 1 when the master never answers within ``timeout_s``; refused: see :func:`refused`."""
    client_id = f"{socket.gethostname()}_{purpose}_{uuid4().hex}"
    client = rpc.Client(host, port, client_id)  # type: ignore[no-untyped-call]

    def send(message_kind: str, payload: Any) -> None:
        client.send(Message(message_kind, payload, client_id))  # type: ignore[no-untyped-call]

    def ask() -> None:
        while True:
            send(kind, data)
            gevent.sleep(1)

    def answer() -> Any:
        while True:
            msg = client.recv()  # type: ignore[no-untyped-call]
            if msg.type == CHALLENGE_MSG:
                send(PROOF_MSG, {"proof": prove(secret, str(msg.data.get("challenge", "")),
                                                client_id)})
            elif msg.type == REFUSED_MSG:
                refused(str(msg.data.get("why", "")))
            elif msg.type == kind:
                return msg

    asker = gevent.spawn(ask)
    try:
        return gevent.spawn(answer).get(timeout=timeout_s)
    except gevent.Timeout:
        sys.stderr.write(f"gauntlet worker: no answer from the master at {host}:{port} within "
                         f"{timeout_s:g} s\n")
        sys.exit(1)
    finally:
        asker.kill()
        client.close(linger=0)  # type: ignore[no-untyped-call]


def answer_challenges(secret: str, timeout_s: float) -> None:
    """Have Locust's worker runner answer the master's challenge before its first
    ``client_ready`` goes out (the runner connects inside its constructor, before Locust's
    ``init`` event, so the handlers are registered from its connect step), and Locust's
    locustfile download go through :func:`ask_master`."""
    connect = WorkerRunner.connect_to_master

    def download(master_host: str, master_port: int) -> Any:
        msg = ask_master(master_host, master_port, "download_locustfile", "locustfile",
                         {"version": locust_version}, secret, timeout_s)
        if "error" in msg.data:  # as Locust's own download says it
            sys.stderr.write(f"Got error from master: {msg.data['error']}\n")
            sys.exit(1)
        return msg.data.get("locustfiles", [])

    def connect_answering(self: WorkerRunner) -> None:
        if CHALLENGE_MSG not in self.custom_messages:
            def on_challenge(environment: Any, msg: Any, **_: Any) -> None:
                challenge = str(msg.data.get("challenge", ""))
                proof = prove(secret, challenge, self.client_id)
                self.client.send(Message(PROOF_MSG, {"proof": proof}, self.client_id))  # type: ignore[no-untyped-call]

            def on_refused(environment: Any, msg: Any, **_: Any) -> None:
                refused(str(msg.data.get("why", "")))

            self.register_message(CHALLENGE_MSG, on_challenge)
            self.register_message(REFUSED_MSG, on_refused)
        connect(self)  # type: ignore[no-untyped-call]

    WorkerRunner.connect_to_master = connect_answering  # type: ignore[method-assign]
    locust.argument_parser.download_locustfile_from_master = download
