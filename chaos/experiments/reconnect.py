"""Reconnect: long-lived connections under load while their dependency drops (and, with the
claim's ``restart``, while the service itself restarts).

Phases on one clock: a steady phase of realtime load (``[traffic.realtime]``: each simulated
client holds a connection and sends messages); the claim's link cut — Toxiproxy ``down`` (new
connections refused) together with ``reset_peer`` (established ones reset as soon as they carry
data), since a subscriber idling on a warm connection would ride out ``down`` alone; a gap long
enough for every message acknowledged after the link came back to fall due; with ``restart``,
the main service is sent SIGTERM, started again once it exited, and watched until it answers
ready (``restart.signal`` / ``restart.ready`` on the timeline); then a recovery phase long
enough to see a client that never came back. :mod:`gauntlet.checks.realtime` judges the record.

The load is the harness' ``realtime`` scenario; this experiment knows nothing of the service's
path, frames or token: they are the contract's. Only the count of messages per connection is the
experiment's (param ``messages``, default 0): each client holds one connection for the run, so
the fault and the restart meet connections that are open, as a chat client's are.
"""

from __future__ import annotations

import signal
import time
from typing import Any

import httpx
from pydantic import Field

from gauntlet import cleanup
from gauntlet.boot import Restartable, Stack
from gauntlet.chaos.context import STEADY_BOUND_S, WARMUP_S, Context
from gauntlet.chaos.experiments.base import Experiment, Params, Record
from gauntlet.chaos.faults import Fault
from gauntlet.chaos.judging import steady_p95_ms
from gauntlet.chaos.plan import FaultPlan, TimedFault
from gauntlet.checks.realtime import (
    NAMES,
    RESTART_READY,
    RESTART_SIGNAL,
    realtime_steady,
    realtime_verdicts,
)
from gauntlet.checks.steady import demote, steady_error_bound
from gauntlet.checks.verdict import Verdict
from gauntlet.contract import Contract, RealtimeClaim
from gauntlet.errors import InfrastructureError
from gauntlet.scenarios.runner import LoadRun

READY_POLL_S = 0.1


class ReconnectParams(Params):
    users: int = Field(10, ge=1)
    steady_s: float = Field(4.0, gt=0)
    fault_s: float = Field(3.0, gt=0)
    # between the link's return and the restart: default deliver_s + 1, so every message
    # acknowledged after the link came back is due before the restart drops its connection
    gap_s: float | None = Field(None, gt=0)
    # after the last disruption: default reconnect_s + 1, so a client that never comes back
    # is seen not to
    recovery_s: float | None = Field(None, gt=0)
    restart_timeout_s: float = Field(30.0, gt=0)  # to exit after SIGTERM, and to be ready again
    # messages per connection: 0 holds each client's connection for the whole run, whatever
    # the contract's [traffic.realtime] says. The claim is about long-lived connections: a
    # client that closes its own after a message or two is never dropped by a restart that
    # drains (and "re-established" is never exercised). None keeps the contract's count.
    messages: int | None = Field(0, ge=0)


class ReconnectExperiment(Experiment):
    name = "reconnect"
    description = ("realtime connections while their dependency drops (and the service "
                   "restarts): reconnected, nothing acknowledged lost, round trips recover")
    claims = (RealtimeClaim,)
    params_model = ReconnectParams

    def requests(self, target: Any) -> list[str]:
        return []  # realtime samples, not declared requests: the checks pick them by kind

    def fault_start(self, record: Record, target: Any) -> float | None:
        return None  # the steady phase is judged by judge() itself, over realtime samples

    def recovered_by(self, record: Record, target: Any) -> float | None:
        return None  # the round-trip verdict is this experiment's "after recovery"

    def unverifiable(self, target: Any, stack: Stack) -> str | None:
        claim: RealtimeClaim = target
        if not claim.restart:
            return None
        main = stack.contract.main_service if stack.contract is not None else None
        service = stack.services.get(main) if main else None
        if not isinstance(service, Restartable):
            return (f"restart = true: the {stack.backend} backend cannot restart the main "
                    f"service ({main or 'none declared'}); restart = false verifies the link "
                    "alone")
        return None

    def run(self, ctx: Context) -> None:
        p: ReconnectParams = ctx.params
        claim: RealtimeClaim = ctx.claim
        gap_s = p.gap_s or claim.deliver_s + 1.0
        recovery_s = p.recovery_s or claim.reconnect_s + 1.0
        plan = FaultPlan([TimedFault(p.steady_s, p.fault_s, fault) for fault in (
            Fault(claim.link, "down"), Fault(claim.link, "reset_peer", {"timeout": 0.0}))])
        link_back_s = p.steady_s + p.fault_s
        duration_s = link_back_s + (gap_s + 2 * p.restart_timeout_s if claim.restart else 0.0) \
            + recovery_s
        # the steady phase may wait for its samples: the run stops itself when done
        load = ctx.realtime_load(users=p.users, duration_s=duration_s + STEADY_BOUND_S,
                                 messages=p.messages)

        def restart(run: LoadRun, t0: float) -> None:
            ctx.sleep_until(t0, link_back_s + gap_s)
            self._restart(ctx, p.restart_timeout_s)
            cleanup.sleep(recovery_s)
            run.stop()

        injector = ctx.stack.faults(ctx.timeline)
        with ctx.prober().running(), load as run:
            # a steady phase with a decidable p95 (handshakes, acks, deliveries) before the
            # plan's clock starts, as every experiment's
            live, first_s = ctx.steady_start(run)
            ctx.await_successes(run, live, list(NAMES), since_s=first_s + WARMUP_S,
                                bound_s=STEADY_BOUND_S, phase="steady state before the fault",
                                ok=lambda r: not r.error)
            t0 = ctx.plan_zero(first_s + WARMUP_S, p.steady_s)
            plan.start(injector, t0=t0)
            try:
                if claim.restart:
                    restart(run, t0)
                else:
                    ctx.sleep_until(t0, link_back_s + recovery_s)
                    run.stop()
                run.wait(on_tick=ctx.on_tick)
            finally:
                plan.stop()
        if plan.errors:
            raise plan.errors[0]

    @staticmethod
    def _restart(ctx: Context, timeout_s: float) -> None:
        """SIGTERM the main service, start it again once it exited, wait until it is ready."""
        main = ctx.contract.main_service
        service = ctx.stack.services.get(main) if main else None
        if main is None or not isinstance(service, Restartable):  # unverifiable() said so
            raise InfrastructureError(f"reconnect: cannot restart the main service ({main})")
        ready_path = ctx.contract.services[main].ready or ctx.contract.probes.ready
        ctx.timeline.emit(RESTART_SIGNAL, service=main, signal="SIGTERM")
        service.send_signal(signal.SIGTERM)
        code = service.wait(timeout_s)
        if code is None:
            raise InfrastructureError(f"reconnect: {main} still running {timeout_s:g} s after "
                                      "SIGTERM", hint="raise the experiment's restart_timeout_s")
        ctx.timeline.emit("restart.exited", service=main, code=code)
        service.restart()
        deadline = time.monotonic() + timeout_s
        while True:
            cleanup.check()
            try:
                if ready_path is None or httpx.get(ctx.stack.probe_url + ready_path,
                                                   timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise InfrastructureError(f"reconnect: {main} not ready {timeout_s:g} s after "
                                          "it was started again", hint="see its log")
            time.sleep(READY_POLL_S)
        ctx.timeline.emit(RESTART_READY, service=main, poll_s=READY_POLL_S)

    def judge(self, record: Record, target: Any, params: Any, contract: Contract
              ) -> list[Verdict]:
        claim: RealtimeClaim = target
        max_error_rate = steady_error_bound(contract.slo.error_rate)  # a claimed 0 stays 0
        steady = realtime_steady(record.samples, record.events, claim, warmup_s=WARMUP_S,
                                 max_error_rate=max_error_rate, p95_ms=steady_p95_ms(contract))
        return [steady, *demote(realtime_verdicts(record.samples, record.events, claim), steady)]
