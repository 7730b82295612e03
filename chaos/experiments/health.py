"""A dependency down: readiness turns unready within its bound and ready again after, liveness
stays up, the service degrades as claimed (what keeps serving, what fails fast), and a detailed
health endpoint, when claimed, shows the dependency down and back, answering within its bound
(polled beside readiness: :data:`~gauntlet.checks.health.DETAILED_PROBE`)."""

from __future__ import annotations

import time
from typing import Any

from pydantic import Field

from gauntlet import cleanup
from gauntlet.chaos.breakerwatch import await_link_settled
from gauntlet.chaos.context import STEADY_SAMPLES, Context
from gauntlet.chaos.experiments.base import Experiment, Params, Record
from gauntlet.chaos.faults import Fault
from gauntlet.chaos.probes import JsonProbe
from gauntlet.chaos.watch import Evidence, LiveSamples
from gauntlet.checks.detailed import probe_timeout_s
from gauntlet.checks.health import DETAILED_PROBE, health_verdicts
from gauntlet.checks.verdict import Verdict
from gauntlet.contract import Contract, HealthClaim
from gauntlet.scenarios.runner import LoadRun
from gauntlet.timeline import EVENTS_FILE, read_events

# how much longer than planned the outage may be held for its evidence
MAX_HOLD_S = 20.0


class DependencyDownParams(Params):
    # enough clients that each degradation's requests reach a decidable p95 in a few seconds
    # of outage, at the pace the contract's limits allow a client
    users: int = Field(30, ge=1)
    # long enough for every client to have sent each request a few times at its pacing: what
    # a service serves from a cache while a link is down, it must have cached before
    steady_s: float = Field(8.0, gt=0)
    fault_s: float | None = Field(None, gt=0)
    recovery_s: float | None = Field(None, gt=0)


class DependencyDownExperiment(Experiment):
    name = "dependency_down"
    description = "a dependency down: unready, live, degraded as claimed, ready again"
    claims = (HealthClaim,)
    params_model = DependencyDownParams

    def requests(self, target: Any) -> list[str]:
        claim: HealthClaim = target
        named = list(claim.requests)
        for degradation in claim.degraded:
            named += [r for r in degradation.requests if r not in named]
        return named

    def settle_s(self, target: Any) -> float:
        claim: HealthClaim = target
        return claim.recover_within_s

    def run(self, ctx: Context) -> None:
        p: DependencyDownParams = ctx.params
        claim: HealthClaim = ctx.claim
        fault_s = p.fault_s or max(6.0, claim.ready_within_s + 4.0)
        hold_s = ctx.contract.holds_after_s(claim.link)  # a breaker on it, open that long
        settle_s = max(claim.recover_within_s, hold_s)
        ctx.facts["settle_s"] = settle_s
        detail = claim.detailed
        json_probes = [JsonProbe(DETAILED_PROBE, detail.path, detail.status_field(claim.link),
                                 timeout_s=probe_timeout_s(detail))] if detail is not None else []
        # what the verdicts judge while the link is down, each needing a decidable p95: the
        # requests of every degradation, and the detailed endpoint's answers
        groups = {", ".join(d.requests): d.requests for d in claim.degraded}
        evidence = Evidence(
            ctx.timeline, f"health.{claim.name}",
            f"{STEADY_SAMPLES} requests of each degradation"
            + (" and as many detailed-health answers" if detail else "")
            + f" while {claim.link} is down",
            bound=f"the outage ({fault_s:g} s) held up to {MAX_HOLD_S:g} s longer")
        fault = Fault(claim.link, "down")

        def outage(run: LoadRun, t0: float) -> None:
            injector = ctx.stack.faults(ctx.timeline)
            live = LiveSamples(run.samples_dir)
            ctx.sleep_until(t0, p.steady_s)
            start_s = ctx.timeline.now_s()
            with injector.inject(fault):
                ctx.sleep_until(time.monotonic(), fault_s)
                held_from = time.monotonic()
                while True:
                    short = self._short(ctx, live, groups, start_s, bool(detail))
                    if not short:
                        evidence.found("enough requests and answers while the link was down")
                        break
                    if time.monotonic() - held_from >= MAX_HOLD_S:
                        evidence.give_up()
                        break
                    if not evidence.tries:
                        evidence.adapt("the outage held longer", f"too few while down: "
                                       f"{'; '.join(short)}")
                    cleanup.sleep(0.5)
            # the recovery: readiness back within its bound, a breaker on the link closed
            # (watched: it may close long before its claimed bound, which the phase after
            # recovery used to wait out), and a tail to judge them on
            removed_s, removed = ctx.timeline.now_s(), time.monotonic()
            settled_s = max(claim.recover_within_s,
                            await_link_settled(ctx, run, claim.link, self.requests(claim),
                                               removed_s, hold_s))
            ctx.facts["settle_s"] = round(settled_s, 3)
            ctx.sleep_until(removed, p.recovery_s or settled_s + 2.0)

        # the load lasts past the recovery until its steady phase holds enough requests
        ctx.drive(self.requests(claim), users=p.users, json_probes=json_probes,
                  duration_s=p.steady_s + fault_s + MAX_HOLD_S + settle_s
                  + (p.recovery_s or settle_s + 2.0) + 5.0,
                  during=outage, settle_s=settle_s, lead_s=p.steady_s)

    @staticmethod
    def _short(ctx: Context, live: LiveSamples, groups: dict[str, list[str]], start_s: float,
               detailed: bool) -> list[str]:
        """What still has fewer than :data:`STEADY_SAMPLES` while the link is down."""
        live.poll()
        short = [f"{len(live.overlapping(start_s, ctx.timeline.now_s(), names))} of {label}"
                 for label, names in groups.items()
                 if len(live.overlapping(start_s, ctx.timeline.now_s(), names)) < STEADY_SAMPLES]
        if detailed:
            answers = sum(1 for e in read_events(ctx.run_dir / EVENTS_FILE)
                          if e.kind == "probe" and e.data.get("target") == DETAILED_PROBE
                          and e.at_s >= start_s)
            if answers < STEADY_SAMPLES:
                short.append(f"{answers} detailed-health answers")
        return short

    def judge(self, record: Record, target: Any, params: Any, contract: Contract
              ) -> list[Verdict]:
        return health_verdicts(record.of(self.requests(target)), record.events, target)

