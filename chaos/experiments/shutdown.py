"""Graceful shutdown: the claimed signal to the service under steady load; it must drain, not
drop. The service is reached by the claim's handle: a service gauntlet started (local, compose),
a PID file, or a command (``docker kill -s TERM api``)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import psutil
from pydantic import Field

from gauntlet import cleanup
from gauntlet.boot import Stack
from gauntlet.chaos.experiments.base import Context, Experiment, Params, Record
from gauntlet.chaos.faults import Fault
from gauntlet.chaos.plan import FaultPlan, TimedFault
from gauntlet.checks.shutdown import shutdown_verdicts
from gauntlet.checks.verdict import Verdict
from gauntlet.checks.windows import Window
from gauntlet.contract import Contract, ShutdownClaim
from gauntlet.errors import InfrastructureError
from gauntlet.scenarios.runner import LoadRun


class ShutdownParams(Params):
    users: int = Field(40, ge=1)  # paced under the rate limits: enough to have requests in flight
    steady_s: float = Field(4.0, gt=0)
    after_exit_s: float = Field(1.0, gt=0)


def _read_pid(claim: str, pid_file: str) -> int:
    try:
        return int(Path(pid_file).read_text().strip())
    except (OSError, ValueError) as exc:
        raise InfrastructureError(f"shutdown[{claim}]: cannot read a pid from {pid_file} "
                                  f"({exc})") from exc


def _pid_alive(pid: int) -> bool:
    """Running, not a zombie: a process that exited is dead even before its parent reaps it."""
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


class ShutdownExperiment(Experiment):
    name = "shutdown"
    description = "a signal under load: readiness flips first, drain, exit in time, nothing lost"
    kinds = ("shutdown",)
    params_model = ShutdownParams

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
        if claim.command and not shutil.which(claim.command[0]):
            raise InfrastructureError(f"shutdown[{claim.name}]: command {claim.command[0]!r} "
                                      "not found")
        if claim.pid_file:
            pid = _read_pid(claim.name, claim.pid_file)
            if not _pid_alive(pid):
                raise InfrastructureError(f"shutdown[{claim.name}]: process {pid} of "
                                          f"{claim.pid_file} is not running")

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

        def signal_and_watch(run: LoadRun, t0: float) -> None:
            ctx.sleep_until(t0, p.steady_s)
            handle, wait = self._send(ctx.stack, claim, sig)
            sent = time.monotonic()
            ctx.timeline.emit("signal.sent", handle=handle, signal=claim.signal)
            done = threading.Event()

            def watch() -> None:
                code = wait(bound_s)
                if code is not False:
                    ctx.timeline.emit("process.exit", handle=handle, code=code,
                                      after_s=time.monotonic() - sent)
                done.set()

            threading.Thread(target=watch, name="exit-watch", daemon=True).start()
            while not done.is_set() and time.monotonic() < sent + bound_s + 1.0:
                cleanup.check()
                done.wait(0.1)
            cleanup.sleep(p.after_exit_s)
            run.stop()

        plan = None
        if claim.inflight_link:
            # from a second before the signal to the end of the drain delay, every request
            # that waits on the link is held inside the service for inflight_ms
            slow = Fault(claim.inflight_link, "latency", {"latency": claim.inflight_ms})
            plan = FaultPlan([TimedFault(max(0.0, p.steady_s - 1.0),
                                         1.0 + claim.drain_delay_s + 0.5, slow)])
        ctx.drive(claim.requests, users=p.users, plan=plan,
                  duration_s=p.steady_s + bound_s + 2.0, during=signal_and_watch,
                  probe_interval_s=0.05)

    @staticmethod
    def _send(stack: Stack, claim: ShutdownClaim, sig: signal.Signals
              ) -> tuple[str, Any]:
        """Send the signal by the claim's handle; returns its name and a ``wait(timeout)`` that
        gives the exit code, None when it exited with a code nobody can see, or False when it
        did not exit in time."""
        if claim.service:
            service = stack.service(claim.service)
            service.send_signal(sig)

            def wait_service(timeout_s: float) -> int | bool | None:
                code = service.wait(timeout_s)
                return False if code is None else code

            return f"service:{claim.service}", wait_service
        if claim.pid_file:
            pid = _read_pid(claim.name, claim.pid_file)
            os.kill(pid, sig)

            def wait_pid(timeout_s: float) -> int | bool | None:
                deadline = time.monotonic() + timeout_s
                while time.monotonic() < deadline:
                    if not _pid_alive(pid):
                        return None  # gone; its exit code belongs to its parent
                    time.sleep(0.05)
                return False

            return f"pid:{pid}", wait_pid
        assert claim.command is not None
        subprocess.run(claim.command, check=True, capture_output=True, timeout=30)

        def wait_unknown(timeout_s: float) -> int | bool | None:
            return False

        return f"command:{' '.join(claim.command)}", wait_unknown

    def judge(self, record: Record, target: Any, params: Any, contract: Contract
              ) -> list[Verdict]:
        claim: ShutdownClaim = target
        return shutdown_verdicts(record.of(claim.requests), record.events, claim)
