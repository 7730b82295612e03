"""Graceful shutdown: the claimed signal to the service under steady load; it must drain, not
drop. The service is reached by the claim's handle: a service gauntlet started (local, compose,
``gauntlet up``), a PID file, or a command (``docker kill -s TERM api``); its exit is seen by
the backend, by the PID going away, or by the claim's ``wait`` command (``docker wait api``).

The experiment ends the service. Where the stack outlives the experiment (external, ``gauntlet
up``), the claim's ``restart`` command starts it again afterwards, and the run plans this
experiment after every other (:attr:`Experiment.ends_service`)."""

from __future__ import annotations

import contextlib
import math
import os
import shlex
import shutil
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from gauntlet import cleanup
from gauntlet.boot import Restartable, Stack
from gauntlet.chaos.commands import CommandTimeout, restart_service, run_command
from gauntlet.chaos.context import Context
from gauntlet.chaos.experiments.base import Experiment, Params, Record
from gauntlet.chaos.faults import Fault
from gauntlet.chaos.watch import Evidence, LiveSamples
from gauntlet.checks.shutdown import shutdown_verdicts
from gauntlet.checks.verdict import Verdict
from gauntlet.checks.windows import Window
from gauntlet.contract import Contract, ShutdownClaim
from gauntlet.errors import InfrastructureError, Interrupted
from gauntlet.procs import pid_alive
from gauntlet.scenarios.inflight import FIRST_BOARD_S, REPORTS_NONE, Open, in_flight
from gauntlet.scenarios.runner import LoadRun
from gauntlet.scenarios.traffic import mix_weights, paced

# requests of the claim expected in flight at the planned signal (at the least frequent one's
# rate, held for inflight_ms). Chance alone left the 40 clients of a compose run 2 to 4 (three
# runs), and none in 9f25763's landing CI; so the signal waits for one (SIGNAL_WAIT_S), and the
# clients derived here only keep that wait short (0.00 to 0.13 s with 40 clients, four runs).
# More clients than that are load the experiment does not need: the 99 that 8 derived for the
# reference service starved its 5-connection pool (0.5 s acquire timeout) on a busy 2-core CI
# host, 7.1 % of the steady phase answered 503, and e9b2ac2's landing CI failed on it
IN_FLIGHT = 3.0
# the latencies a request of the claim had before the link was slowed
TYPICAL_WINDOW_S = 10.0
# how long past its planned moment the signal waits for a request of the claim in flight
SIGNAL_WAIT_S = 5.0
MIN_USERS = 40
MAX_USERS = 200


def users_for(contract: Contract, claim: ShutdownClaim) -> int:
    """Clients enough (at the pace the contract's rate limits allow, between
    :data:`MIN_USERS` and :data:`MAX_USERS`) for :data:`IN_FLIGHT` requests to be in flight at
    the signal, even if only the claim's least frequent request waits on the in-flight link.
    Which requests cross that link the harness cannot know, so it takes the rarest."""
    weights = mix_weights(contract, claim.requests)
    share = min(weights.values(), default=1) / (sum(weights.values()) or 1)
    held_s = claim.inflight_ms / 1000.0
    users = MIN_USERS
    while users < MAX_USERS:
        rate = users / paced(contract, claim.requests, 0.1, users) * share
        if rate * held_s >= IN_FLIGHT:
            break
        users = min(MAX_USERS, math.ceil(users * 1.25))
    return users


class ShutdownParams(Params):
    # None: derived from the contract (users_for) so that requests are in flight at the signal
    users: int | None = Field(None, ge=1)
    steady_s: float = Field(4.0, gt=0)
    after_exit_s: float = Field(1.0, gt=0)
    # the claim's restart command, and the service answering its readiness probe after it
    restart_timeout_s: float = Field(60.0, gt=0)


@dataclass(frozen=True)
class Exited:
    """How the signalled service ended: its code, or None with why it could not be seen."""

    code: int | None
    unknown: str | None = None


# wait(timeout_s): the exit, or None when the service did not exit within the bound
Waiter = Callable[[float], Exited | None]


def _read_pid(claim: str, pid_file: Path) -> int:
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError) as exc:
        raise InfrastructureError(f"shutdown[{claim}]: cannot read a pid from {pid_file} "
                                  f"({exc})") from exc


def _program_found(contract: Contract | None, program: str) -> bool:
    """A bare name on PATH, or a path (relative ones from the contract's folder)."""
    if "/" in program and contract is not None:
        return shutil.which(str(contract.resolve(program))) is not None
    return shutil.which(program) is not None


def _pid_file(contract: Contract, claim: ShutdownClaim) -> Path:
    """The claim's PID file, relative to the contract's folder (as every path a contract
    names), whatever directory gauntlet runs from."""
    assert claim.pid_file is not None
    return contract.resolve(claim.pid_file)


class ShutdownExperiment(Experiment):
    name = "shutdown"
    description = "a signal under load: readiness flips first, drain, exit in time, nothing lost"
    claims = (ShutdownClaim,)
    params_model = ShutdownParams
    ends_service = True

    def restarts(self, target: Any, backend: str) -> bool:
        claim: ShutdownClaim = target
        return claim.restart is not None or (backend == "up" and claim.service is not None)

    def links(self, target: Any) -> list[str]:
        claim: ShutdownClaim = target
        return [claim.inflight_link] if claim.inflight_link else []

    def recovered_by(self, record: Record, target: Any) -> float | None:
        return None  # the service is gone: nothing to recover

    def unverifiable(self, target: Any, stack: Stack) -> str | None:
        claim: ShutdownClaim = target
        if claim.service and claim.service not in stack.services:
            known = ", ".join(sorted(stack.services)) or "none"
            return (f"the {stack.backend} backend cannot signal service {claim.service!r} "
                    f"(services it started: {known}); give the claim a pid_file or a command")
        return None

    def check(self, target: Any, stack: Stack) -> None:
        claim: ShutdownClaim = target
        for key, argv in (("command", claim.command), ("wait", claim.wait),
                          ("restart", claim.restart)):
            if argv and not _program_found(stack.contract, argv[0]):
                raise InfrastructureError(f"shutdown[{claim.name}]: {key} program "
                                          f"{argv[0]!r} not found")
        if claim.pid_file and stack.contract is not None:
            pid_file = _pid_file(stack.contract, claim)
            pid = _read_pid(claim.name, pid_file)
            if not pid_alive(pid):
                raise InfrastructureError(f"shutdown[{claim.name}]: process {pid} of "
                                          f"{pid_file} is not running")

    def fault_start(self, record: Record, target: Any) -> float | None:
        """The steady phase ends at the signal, or where the in-flight link was slowed."""
        sent = next((e for e in record.events if e.kind == "signal.sent"), None)
        slowed = super().fault_start(record, target)
        starts = [t for t in (sent.at_s if sent else None, slowed) if t is not None]
        return min(starts) if starts else None

    def disturbed(self, record: Record, target: Any) -> list[Window]:
        """As the base (the in-flight link's slowness), and the signal itself: from its
        sending to the process' exit (or the end of the record)."""
        sent = next((e for e in record.events if e.kind == "signal.sent"), None)
        if sent is None:
            return super().disturbed(record, target)
        ended = next((e.at_s for e in record.events if e.kind == "process.exit"),
                     max(e.at_s for e in record.events))
        return [*super().disturbed(record, target), Window(sent.at_s, ended)]

    def run(self, ctx: Context) -> None:
        p: ShutdownParams = ctx.params
        claim: ShutdownClaim = ctx.claim
        sig = signal.Signals[claim.signal]
        bound_s = claim.drain_delay_s + claim.deadline_s + 5.0
        signalled = threading.Event()
        users = p.users or users_for(ctx.contract, claim)
        evidence = Evidence(
            ctx.timeline, f"shutdown.{claim.name}",
            f"a request of {', '.join(claim.requests)} in flight at the signal",
            bound=f"{users} clients" + (" (the suite's)" if p.users else
                                        f" (derived for {IN_FLIGHT:g} in flight; at most "
                                        f"{MAX_USERS})")
            + f"; the signal waits at most {SIGNAL_WAIT_S:g} s for one")

        def signal_and_watch(run: LoadRun, t0: float) -> None:
            with contextlib.ExitStack() as slowed:
                # from a second before the signal to the end of the drain delay, every request
                # that waits on the link is held inside the service for inflight_ms
                ctx.sleep_until(t0, max(0.0, p.steady_s - 1.0))
                typical = _typical_ms(run, claim.requests, ctx.timeline.now_s())
                if claim.inflight_link:
                    slowed.enter_context(ctx.stack.faults(ctx.timeline).inject(
                        Fault(claim.inflight_link, "latency", {"latency": claim.inflight_ms})))
                ctx.sleep_until(t0, p.steady_s)
                _await_in_flight(ctx, run, claim, typical, evidence)
                handle, wait = self._send(ctx, claim, sig, bound_s)
                signalled.set()
                sent = time.monotonic()
                ctx.timeline.emit("signal.sent", handle=handle, signal=claim.signal)
                done = threading.Event()

                def watch() -> None:
                    try:
                        exited = wait(bound_s)
                        if exited is not None:
                            ctx.timeline.emit("process.exit", handle=handle, code=exited.code,
                                              unknown=exited.unknown,
                                              after_s=time.monotonic() - sent)
                    except Exception as exc:  # the verdict says the exit was not seen
                        ctx.timeline.emit("process.watch_failed", handle=handle,
                                          error=str(exc))
                    finally:
                        done.set()

                threading.Thread(target=watch, name="exit-watch", daemon=True).start()
                slow_until = sent + claim.drain_delay_s + 0.5
                while not done.is_set() and time.monotonic() < sent + bound_s + 1.0:
                    cleanup.check()
                    if time.monotonic() >= slow_until:
                        slowed.close()
                    done.wait(0.1)
            cleanup.sleep(p.after_exit_s)
            run.stop()

        interrupted = False
        try:
            ctx.drive(claim.requests, users=users,
                      duration_s=p.steady_s + SIGNAL_WAIT_S + bound_s + 2.0,
                      during=signal_and_watch, probe_interval_s=0.05,
                      lead_s=max(0.0, p.steady_s - 1.0), report_in_flight=True)
        except (Interrupted, KeyboardInterrupt):
            interrupted = True
            raise
        finally:
            if signalled.is_set() and not interrupted and not ctx.stack.disposable:
                self._restart(ctx, claim, p.restart_timeout_s)

    @staticmethod
    def _restart(ctx: Context, claim: ShutdownClaim, timeout_s: float) -> None:
        """The stack outlives this experiment: start the service again — by the claim's
        ``restart`` command (then wait for its readiness probe), or by the backend that keeps
        it (``gauntlet up``) — or leave it down, as the run said before it started."""
        service = ctx.stack.services.get(claim.service) if claim.service else None
        if claim.restart is None:
            if isinstance(service, Restartable):
                ctx.timeline.emit("service.restart", service=claim.service)
                started = time.monotonic()
                service.restart()
                ctx.timeline.emit("service.restarted", after_s=time.monotonic() - started)
            return
        probes = ctx.stack.probes
        path = probes.ready or probes.live or "/"
        ctx.timeline.emit("service.restart", command=shlex.join(claim.restart))
        took_s = restart_service(claim.restart, cwd=ctx.contract.base_dir,
                                 ready_url=ctx.stack.probe_url + path, timeout_s=timeout_s,
                                 what=f"shutdown[{claim.name}]: restart")
        ctx.timeline.emit("service.restarted", after_s=took_s)

    @staticmethod
    def _send(ctx: Context, claim: ShutdownClaim, sig: signal.Signals, bound_s: float
              ) -> tuple[str, Waiter]:
        """Send the signal by the claim's handle; returns the handle's name and how to wait
        for the exit."""
        stack, contract = ctx.stack, ctx.contract
        handle: str
        wait: Waiter
        if claim.service:
            service = stack.service(claim.service)
            service.send_signal(sig)
            handle = f"service:{claim.service}"

            def wait_service(timeout_s: float) -> Exited | None:
                code = service.wait(timeout_s)
                return None if code is None else Exited(code)

            wait = wait_service
        elif claim.pid_file:
            pid = _read_pid(claim.name, _pid_file(contract, claim))
            os.kill(pid, sig)
            handle = f"pid:{pid}"

            def wait_pid(timeout_s: float) -> Exited | None:
                deadline = time.monotonic() + timeout_s
                while time.monotonic() < deadline:
                    if not pid_alive(pid):
                        return Exited(None, "a process signalled through its pid file: its "
                                            "exit code is its parent's to read")
                    time.sleep(0.05)
                return None

            wait = wait_pid
        else:
            assert claim.command is not None
            done = run_command(claim.command, cwd=contract.base_dir, timeout_s=30.0,
                               what=f"shutdown[{claim.name}]: command")
            if done.returncode != 0:
                raise InfrastructureError(
                    f"shutdown[{claim.name}]: {shlex.join(claim.command)} exited with "
                    f"{done.returncode}", logs=done.tail())
            handle = f"command:{shlex.join(claim.command)}"
            wait = _never_seen
        if claim.wait is not None:
            wait = _wait_command(contract.base_dir, claim, claim.wait)
        return handle, wait

    def judge(self, record: Record, target: Any, params: Any, contract: Contract
              ) -> list[Verdict]:
        claim: ShutdownClaim = target
        return shutdown_verdicts(record.of(claim.requests), record.events, claim,
                                 contract.answer_markers())


def _typical_ms(run: LoadRun, requests: list[str], now_s: float) -> dict[str, float]:
    """How long each of ``requests`` took in the last :data:`TYPICAL_WINDOW_S` before the
    link was slowed (its p95, successes only): a request open longer than that is held."""
    live = LiveSamples(run.samples_dir)
    live.poll()
    took: dict[str, list[float]] = {}
    for row in live.rows:
        if row.name in requests and not row.failed and row.t_end_s <= now_s \
                and row.t_start_s >= now_s - TYPICAL_WINDOW_S:
            took.setdefault(row.name, []).append(row.latency_ms)
    return {name: float(np.percentile(values, 95)) for name, values in took.items()}


def held_requests(board: list[Open], wanted: set[str], typical_ms: dict[str, float],
                  max_age_s: float, now_s: float) -> list[Open]:
    """The open requests of ``wanted`` that a slowed link holds and will still hold when the
    signal lands: open longer than their typical latency (at most half of ``max_age_s``, so a
    request slower than the hold still counts) and for at most ``max_age_s``; with no bound
    (no link slowed), any open request of ``wanted``."""
    def floor_s(name: str) -> float:
        if math.isinf(max_age_s):
            return 0.0  # no link holds them: any open request
        return min(typical_ms.get(name, 0.0) / 1000.0, max_age_s / 2)

    return [o for o in board if o.name in wanted
            and floor_s(o.name) <= now_s - o.t_start_s <= max_age_s]


def _await_in_flight(ctx: Context, run: LoadRun, claim: ShutdownClaim,
                     typical_ms: dict[str, float], evidence: Evidence) -> None:
    """Hold the signal (at most :data:`SIGNAL_WAIT_S`) until a request of the claim is in
    flight, as the load reports it (:mod:`gauntlet.scenarios.inflight`), and will still be
    when the signal lands. With an in-flight link that is a request open longer than it
    typically takes (so the link holds it) and for at most half the hold (so half of it is
    left for the signal to travel, ``docker kill`` included); without one, any open request.
    A load that reports nothing (a team's own locustfile) is signalled at the planned moment."""
    wanted = set(claim.requests)
    max_age_s = claim.inflight_ms / 2000.0 if claim.inflight_link else math.inf
    started = time.monotonic()
    deadline = started + SIGNAL_WAIT_S
    reported = False
    while run.alive():
        now_s = ctx.timeline.now_s()
        board = in_flight(run.samples_dir, now_s)
        if board is None and not reported and time.monotonic() >= started + FIRST_BOARD_S:
            evidence.adapt("signal at the planned moment", REPORTS_NONE)
            break
        reported = reported or board is not None
        held = held_requests(board or [], wanted, typical_ms, max_age_s, now_s)
        if held:
            names = sorted({o.name for o in held})
            evidence.found(f"{len(held)} open ({', '.join(names)}) "
                           f"{time.monotonic() - started:.2f} s past the planned signal")
            return
        if time.monotonic() >= deadline:
            break
        cleanup.check()
        time.sleep(0.01)
    evidence.give_up()


def _never_seen(timeout_s: float) -> Exited | None:
    return None  # the contract refuses a command handle without wait; kept for old run dirs


def _wait_command(cwd: Path, claim: ShutdownClaim, argv: list[str]) -> Waiter:
    """The claim's ``wait`` command: it returns once the service has exited, printing its exit
    code (``docker wait api``); the time it returned is the time of the exit."""

    def wait(timeout_s: float) -> Exited | None:
        try:
            done = run_command(argv, cwd=cwd, timeout_s=timeout_s,
                               what=f"shutdown[{claim.name}]: wait")
        except CommandTimeout:
            return None  # still waiting at the bound: the service did not exit in time
        code = done.exit_code_printed()
        if done.returncode != 0 or code is None:
            return Exited(None, f"{shlex.join(argv)} exited with {done.returncode} and "
                                f"printed {done.tail()[-200:]!r}, not an exit code")
        return Exited(code)

    return wait
