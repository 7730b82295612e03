"""Remote workers' samples, shipped to the master over Locust's own channel (loaded inside
Locust; never import this from the harness).

A remote worker (``gauntlet worker --master HOST:PORT``) runs on another machine, so its
capture (:mod:`gauntlet.scenarios.capture`, unchanged) writes into a local directory, and this
module forwards what it wrote to the master as Locust custom messages; the master writes each
worker's files into the run's raw sample dir as ``samples-<node>-<pid>.csv`` /
``hdr-<node>-<pid>.jsonl`` / ``generator-<node>-<pid>.json``, where the harness' merge reads them
like any local worker's. The protocol is described in :mod:`gauntlet.scenarios.remote`.

Roles, chosen at Locust's ``init`` from the environment, so that this module is inert
everywhere else (a local run, ``--processes`` workers):

* the **master** of a run with ``$GAUNTLET_REMOTE_WORKERS`` answers settings requests, writes
  the chunks it receives, and at ``test_stop`` asks every worker for its last chunk and waits
  for them, bounded;
* a **worker** with ``$GAUNTLET_SHIP=1`` gets the run's settings before anything is imported
  (:func:`receive_settings`), ships complete lines every 0.5 s, and on the master's request —
  or when it is itself stopped — stops its users, ships the rest and says it is done.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import gevent
from gevent.lock import BoundedSemaphore
from locust import events
from locust.runners import STATE_MISSING, STATE_STOPPED, MasterRunner, WorkerRunner

from gauntlet.scenarios.gate import Gate, answer_challenges, ask_master
from gauntlet.scenarios.remote import (
    CHUNK_MSG,
    DONE_MSG,
    ENV_CONNECT_TIMEOUT_S,
    ENV_FINAL_WAIT_S,
    ENV_MASTER,
    ENV_REMOTE_WORKERS,
    ENV_SHIP,
    FINAL_WAIT_S,
    FINISH_MSG,
    SETTINGS_MSG,
    SHIP_EVERY_S,
    STATUS_FILE,
    LineTail,
    ReceivedFile,
    parse_master,
    remote_name,
    settings_for_workers,
)
from gauntlet.scenarios.workerauth import (
    BatchLedger,
    SecretError,
    batch_mac,
    environ_secret,
    new_secret,
)

logger = logging.getLogger("gauntlet.ship")
# Locust counts a missing worker's heartbeat down by one a second: this far below zero, it has
# been silent for well over 10 s, and the master stops waiting for its last chunk
MISSING_GIVE_UP_S = 10
_roles: list[Any] = []  # the one role of this process, kept alive for Locust's lifetime


def receive_settings() -> None:
    """A shipping worker: take the master's ``GAUNTLET_*`` settings into ``os.environ``.

    Called by ``_locust_main`` before the capture and the locustfiles are imported, since they
    read these at import. Asks through a throw-away client, once a second until the master
    answers (the worker may start first), as Locust's own ``-f -`` download does, answering
    the master's challenge on the way; gives up after ``$GAUNTLET_CONNECT_TIMEOUT_S`` with
    exit 1. Also has Locust's worker runner answer the challenge when it connects.
    """
    if os.environ.get(ENV_SHIP) != "1":
        return
    secret = _secret_or_exit()
    timeout_s = float(os.environ.get(ENV_CONNECT_TIMEOUT_S) or 300)
    answer_challenges(secret, timeout_s)
    host, port = parse_master(os.environ[ENV_MASTER])
    msg = ask_master(host, port, "gauntlet_settings", SETTINGS_MSG, None, secret, timeout_s)
    env = dict(msg.data.get("env", {})) if isinstance(msg.data, dict) else {}
    os.environ.update({k: str(v) for k, v in env.items()})


def _secret_or_exit() -> str:
    """The worker's secret (`gauntlet worker` checked it before starting us)."""
    try:
        secret = environ_secret()
    except SecretError as exc:
        secret, why = None, str(exc)
    else:
        why = "no worker secret was given"
    if secret is None:
        sys.stderr.write(f"gauntlet worker: {why}\n")
        sys.exit(2)
    return secret


class _Master:
    """Writes the remote workers' files into the run's raw dir and waits for their last ones."""

    def __init__(self, environment: Any, directory: Path, expected: int, secret: str) -> None:
        self.environment = environment
        self.directory = directory
        self.expected = expected
        self.secret = secret
        self.seen: list[str] = []
        self.done: dict[str, dict[str, Any]] = {}
        self.received: dict[tuple[str, str], ReceivedFile] = {}
        self.batches: dict[str, BatchLedger] = {}
        self.last_batch_at: dict[str, float] = {}
        self.started_at: float | None = None
        self.stopped_at: float | None = None
        self.waited_s: float | None = None
        runner = environment.runner
        self.gate = Gate(runner, secret, on_change=self.write_status)
        runner.register_message(SETTINGS_MSG, self.on_settings)
        runner.register_message(CHUNK_MSG, self.on_chunk)
        runner.register_message(DONE_MSG, self.on_done)
        environment.events.worker_connect.add_listener(self.on_connect)
        environment.events.test_start.add_listener(self.on_test_start)
        environment.events.test_stop.add_listener(self.on_test_stop)
        self.write_status()

    def _see(self, node: str) -> None:
        if node not in self.seen:
            self.seen.append(node)
            self.write_status()

    def on_connect(self, client_id: str, **_: Any) -> None:
        self._see(client_id)

    def on_settings(self, environment: Any, msg: Any, **_: Any) -> None:
        environment.runner.send_message(
            SETTINGS_MSG, {"env": settings_for_workers(os.environ)}, client_id=msg.node_id)

    def _signed(self, node: str, data: Any) -> bool:
        """Whether a batch is the worker's next, under the run's secret; else recorded."""
        ledger = self.batches.setdefault(node, BatchLedger())
        problems = len(ledger.problems())
        ok = ledger.check(self.secret, node, data)
        if len(ledger.problems()) != problems:
            logger.warning("gauntlet: %s: %s", node, ledger.problems()[-1])
            self.write_status()
        if ok:
            self.last_batch_at[node] = time.monotonic()
        return ok

    def on_test_start(self, **_: Any) -> None:
        self.started_at = time.monotonic()

    def on_chunk(self, environment: Any, msg: Any, **_: Any) -> None:
        node, data = str(msg.node_id), msg.data
        self._see(node)
        if not self._signed(node, data):
            return
        name = remote_name(node, str(data.get("file", "")))
        payload = data.get("data", b"")
        if name is None or not isinstance(payload, bytes):
            logger.warning("gauntlet: ignored a chunk named %r from %s", data.get("file"), node)
            return
        path = self.directory / name
        if data.get("whole"):  # generator figures: the file as it is now
            path.write_bytes(payload)
            return
        record = self.received.setdefault((node, str(data["file"])), ReceivedFile())
        if record.accept(int(data.get("offset", -1)), len(payload)):
            with path.open("ab") as fh:
                fh.write(payload)

    def on_done(self, environment: Any, msg: Any, **_: Any) -> None:
        node = str(msg.node_id)
        self._see(node)
        if not self._signed(node, msg.data):
            return
        sizes = {str(k): int(v) for k, v in json.loads(msg.data["data"]).items()}
        missing, faults = {}, {}
        for name, size in sizes.items():
            record = self.received.get((node, name), ReceivedFile())
            if record.size != size:
                missing[name] = size - record.size
            if record.faults:
                faults[name] = record.faults
        self.done[node] = {"sizes": sizes, "missing": missing, "faults": faults}
        self.write_status()

    def on_test_stop(self, environment: Any, **_: Any) -> None:
        """Ask every worker for its last chunk; wait for all, at most the final bound.

        Runs inside ``MasterRunner.quit`` before Locust tells the workers to quit, so they are
        still connected: from the main greenlet (run-time limit, SIGINT/SIGTERM) or from the
        load shape's when its stages are over. Blocking is safe anywhere but in Locust's
        receiving loop; there (the last worker quit by itself) nothing could arrive while we
        waited, so the status says so instead. (Any greenlet of the runner's group used to
        count as that loop, and a staged run never waited: its last chunks were lost.)
        """
        runner = environment.runner
        self.stopped_at = time.monotonic()
        runner.send_message(FINISH_MSG)
        bound_s = float(os.environ.get(ENV_FINAL_WAIT_S) or FINAL_WAIT_S)
        started = time.monotonic()
        if not _in_receiving_loop():
            while self._awaited(runner) and time.monotonic() - started < bound_s:
                gevent.sleep(0.05)
        self.waited_s = round(time.monotonic() - started, 3)
        self.write_status()

    def _awaited(self, runner: Any) -> set[str]:
        """Workers whose last chunk is still to come: not those Locust has removed, nor those
        it has missed for :data:`MISSING_GIVE_UP_S` (a killed or cut-off worker cannot send
        it). A worker only just marked missing (3 s without a heartbeat) may be busy, not
        gone: it is still waited for."""
        return {node for node in set(self.seen) - set(self.done)
                if (client := runner.clients.get(node)) is not None
                and not (client.state == STATE_MISSING
                         and client.heartbeat <= -MISSING_GIVE_UP_S)}

    def _times(self) -> dict[str, Any]:
        """The test's length and each worker's last batch, from the test's start (seconds):
        how long a lost worker was silent (:func:`gauntlet.scenarios.remote.unrecorded`)."""
        if self.started_at is None:
            return {}
        end = self.stopped_at if self.stopped_at is not None else time.monotonic()
        return {"test_s": round(end - self.started_at, 3),
                "last_batch_s": {n: round(t - self.started_at, 3)
                                 for n, t in self.last_batch_at.items()}}

    def write_status(self) -> None:
        status = {"expected": self.expected, "seen": self.seen, "done": self.done,
                  "waited_s": self.waited_s,
                  "batches": {node: {"accepted": b.accepted, "problems": b.problems()}
                              for node, b in self.batches.items()},
                  "refused": dict(self.gate.refused), "unanswered": self.gate.unanswered(),
                  "strangers_not_named": self.gate.unrecorded,
                  **self._times()}
        tmp = self.directory / f".{STATUS_FILE}.tmp"
        tmp.write_text(json.dumps(status, indent=1))
        tmp.replace(self.directory / STATUS_FILE)


class _Worker:
    """Ships this worker's capture files to the master, and the rest when the test ends."""

    def __init__(self, environment: Any, directory: Path, secret: str) -> None:
        self.environment = environment
        self.directory = directory
        self.secret = secret
        self.seq = 0
        self.tails: dict[str, LineTail] = {}
        self.finished = False
        self.lock = BoundedSemaphore()
        self.cpu_at_start: tuple[float, float] | None = None
        runner = environment.runner
        runner.register_message(FINISH_MSG, self.on_finish, concurrent=True)
        environment.events.test_start.add_listener(self.on_test_start)
        # added after the runner's own quitting listener, and quitting fires in reverse: the
        # last chunk goes before the runner tells the master it quits
        environment.events.quitting.add_listener(self.on_quitting)
        self.loop = gevent.spawn(self.ship_loop)

    def on_test_start(self, **_: Any) -> None:
        self.cpu_at_start = (_cpu_s(), time.monotonic())

    def ship_loop(self) -> None:
        while not self.finished:
            gevent.sleep(SHIP_EVERY_S)
            with self.lock:
                if not self.finished:
                    self.ship(final=False)

    def ship(self, final: bool) -> None:
        files = sorted([*self.directory.glob("samples-*.csv"), *self.directory.glob("hdr-*.jsonl")])
        for path in files:
            tail = self.tails.setdefault(path.name, LineTail(path))
            for offset, data in tail.take(final=final):
                self.send(CHUNK_MSG, path.name, offset, data)

    def send(self, kind: str, file: str, offset: int, data: bytes, whole: bool = False) -> None:
        """One batch, numbered and signed (:mod:`gauntlet.scenarios.workerauth`)."""
        node = self.environment.runner.client_id
        mac = batch_mac(self.secret, node, self.seq, file, offset, whole, data)
        self.environment.runner.send_message(kind, {
            "file": file, "offset": offset, "data": data, "whole": whole, "seq": self.seq,
            "mac": mac})
        self.seq += 1

    def on_finish(self, environment: Any, **_: Any) -> None:
        self.finish()

    def on_quitting(self, **_: Any) -> None:
        self.finish()

    def finish(self) -> None:
        """Stop the users (the capture flushes and writes its generator figures at
        ``test_stop``), ship the rest and the figures, then say done with every file's size."""
        with self.lock:
            if self.finished:
                return
            runner = self.environment.runner
            if runner.state != STATE_STOPPED:
                runner.stop()
            self.ship(final=True)
            for path in sorted(self.directory.glob("generator-*.json")):
                self.send(CHUNK_MSG, path.name, 0, self.generator_figures(path), whole=True)
            sizes = {name: tail.offset for name, tail in self.tails.items()}
            self.send(DONE_MSG, "", 0, json.dumps(sizes).encode())
            self.finished = True

    def generator_figures(self, path: Path) -> bytes:
        """The capture's generator figures, with CPU over the test instead of the process'
        life (a remote worker may have waited long for its master) and the node named."""
        try:
            stats: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError):
            stats = {}
        stats["node"] = getattr(self.environment.runner, "client_id", "")
        stats["remote"] = True
        if self.cpu_at_start is not None:
            cpu_s, at = self.cpu_at_start
            used = _cpu_s() - cpu_s
            if used >= 0:
                stats["cpu_percent"] = 100.0 * used / max(time.monotonic() - at, 1e-3)
        return json.dumps(stats).encode()


def _in_receiving_loop() -> bool:
    """Whether this call comes from Locust's master receiving loop (``client_listener``), which
    must not block: its own frames are on the stack."""
    loop = MasterRunner.client_listener.__code__
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code is loop:
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


def _cpu_s() -> float:
    times = os.times()
    return times.user + times.system


@events.init.add_listener
def _on_init(environment: Any, runner: Any = None, **_: Any) -> None:
    directory = os.environ.get("GAUNTLET_SAMPLES_DIR")
    runner = runner or environment.runner
    if not directory:
        return
    if isinstance(runner, MasterRunner) and int(os.environ.get(ENV_REMOTE_WORKERS) or 0) > 0:
        try:
            secret = environ_secret()
        except SecretError as exc:
            logger.error("gauntlet: %s: no worker can join", exc)
            secret = None
        if secret is None:  # the harness always gives one: without it, nobody may join
            logger.error("gauntlet: no worker secret: every worker will be refused")
            secret = new_secret()
        _roles.append(_Master(environment, Path(directory), int(os.environ[ENV_REMOTE_WORKERS]),
                              secret))
    elif isinstance(runner, WorkerRunner) and os.environ.get(ENV_SHIP) == "1":
        _roles.append(_Worker(environment, Path(directory), _secret_or_exit()))
