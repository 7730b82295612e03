"""A dependency slowed past a latency threshold: the detailed health endpoint reports it degraded
above the threshold and healthy below (:mod:`gauntlet.checks.degraded`).

The service measures the dependency its own way — a fresh connection costs several round trips,
a pooled ``SELECT 1`` one — so a link delay of D shows up as some multiple of D in its report.
The experiment therefore steers by what the service *reports*: it adds a latency toxic to the
link and, every second, moves the delay by the ratio between the report it wants and the
report it got (above the baseline), first to just under the threshold (:data:`NEAR`), then
past it (:data:`ABOVE`), holding each until :data:`~gauntlet.checks.degraded.MIN_POLLS` answers
landed in the band, at most :data:`MAX_PHASE_S`. Every move is a ``fault.updated`` event and an
adaptation the verdicts name when they lack their evidence.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from pydantic import Field

from gauntlet import cleanup
from gauntlet.chaos.context import Context, users_for_steady
from gauntlet.chaos.experiments.base import Experiment, Params, Record
from gauntlet.chaos.faults import Fault, LiveToxic
from gauntlet.chaos.probes import JsonProbe
from gauntlet.chaos.watch import Evidence
from gauntlet.checks.degraded import (
    BAND,
    LATENCY_PROBE,
    MIN_POLLS,
    NEAR_LOW,
    Report,
    degraded_verdicts,
    reports,
)
from gauntlet.checks.detailed import probe_timeout_s
from gauntlet.checks.verdict import Verdict
from gauntlet.contract import Contract, HealthClaim
from gauntlet.timeline import EVENTS_FILE, read_events

NEAR = 0.75  # the report aimed at just under the threshold
ABOVE = 1.6  # and past it
MAX_PHASE_S = 30.0
STEP_S = 1.0
MAX_DELAY_FACTOR = 4.0  # the delay never goes past this many thresholds
MIN_USERS, MAX_USERS = 5, 30  # the derived load's bounds (30: dependency_down's)
STEADY_WITHIN_S = 6.0  # how long each steady phase should take to be decidable


class DegradedLatencyParams(Params):
    # a light load beside the polls, "under load", not a stress: by default the fewest clients
    # (at least 5) whose steady phases are decidable in STEADY_WITHIN_S at the contract's pace
    users: int | None = Field(None, ge=0)
    steady_s: float = Field(4.0, gt=0)


class DegradedLatencyExperiment(Experiment):
    name = "dependency_latency"
    description = ("a dependency slowed past a latency threshold: reported degraded above, "
                   "healthy below")
    claims = (HealthClaim,)
    params_model = DegradedLatencyParams
    steady_latency = False  # the verdicts read the service's reports; they time no request

    def targets(self, contract: Contract) -> dict[str, Any]:
        return {c.name: c for c in contract.claims.of(HealthClaim)
                if c.detailed is not None and c.detailed.degraded_above_ms is not None}

    def settle_s(self, target: Any) -> float:
        claim: HealthClaim = target
        return claim.recover_within_s

    def run(self, ctx: Context) -> None:
        p: DegradedLatencyParams = ctx.params
        claim: HealthClaim = ctx.claim
        detail = claim.detailed
        assert detail is not None and detail.degraded_above_ms is not None
        latency_field = detail.latency_field(claim.link)
        assert latency_field is not None
        threshold = detail.degraded_above_ms
        probe = JsonProbe(LATENCY_PROBE, detail.path, detail.status_field(claim.link),
                          timeout_s=probe_timeout_s(detail), also=(latency_field,))
        evidence = Evidence(
            ctx.timeline, claim.id,
            f"{MIN_POLLS} reports of {claim.link} just under {threshold:g} ms and "
            f"{MIN_POLLS} past it",
            bound=f"the link's delay steered each second, {MAX_PHASE_S:g} s a band, at most "
                  f"{MAX_DELAY_FACTOR * threshold:g} ms")
        ctx.facts["threshold_ms"] = threshold

        def steer(_run: Any, t0: float) -> None:
            ctx.sleep_until(t0, p.steady_s)
            baseline = [r.latency_ms for r in self._reports(ctx, claim)]
            if not baseline:
                # no answer reported the dependency's status and latency where the claim
                # says: no delay can be steered by reports that never come
                evidence.give_up()
                ctx.facts["no_reports"] = True
                return
            base = statistics.median(baseline)
            ctx.facts["baseline_report_ms"] = round(base, 3)
            start = max(1, round((NEAR * threshold - base) / 4))
            injector = ctx.stack.faults(ctx.timeline)
            with injector.inject_live(Fault(claim.link, "latency", {"latency": start})) as live:
                near = self._hold(ctx, live, claim, evidence, base, NEAR * threshold,
                                  lambda r: NEAR_LOW * threshold <= r.latency_ms
                                  < (1 - BAND) * threshold, "just under the threshold")
                above = self._hold(ctx, live, claim, evidence, base, ABOVE * threshold,
                                   lambda r: r.latency_ms > (1 + BAND) * threshold,
                                   "past the threshold")
            if near and above:
                evidence.found("reports landed on both sides of the threshold")
            else:
                evidence.give_up()
            # back to the link's own speed: the status must follow, and the steady phase after
            # recovery is judged
            ctx.sleep_until(time.monotonic(), claim.recover_within_s + 2.0)

        users = p.users if p.users is not None else users_for_steady(
            ctx.contract, claim.requests, floor=MIN_USERS, most=MAX_USERS,
            within_s=STEADY_WITHIN_S)
        ctx.drive(claim.requests, users=users, json_probes=[probe],
                  duration_s=p.steady_s + 2 * MAX_PHASE_S + claim.recover_within_s + 10.0,
                  during=steer, settle_s=claim.recover_within_s, lead_s=p.steady_s)

    def _reports(self, ctx: Context, claim: HealthClaim, since_s: float = 0.0) -> list[Report]:
        return [r for r in reports(read_events(ctx.run_dir / EVENTS_FILE), claim)
                if r.start_s >= since_s]

    def _hold(self, ctx: Context, live: LiveToxic, claim: HealthClaim, evidence: Evidence,
              base: float, aim_ms: float, landed: Any, band: str) -> bool:
        """Steer the link's delay until :data:`MIN_POLLS` reports landed in the band; True when
        they did within :data:`MAX_PHASE_S`."""
        detail = claim.detailed
        assert detail is not None and detail.degraded_above_ms is not None
        cap = MAX_DELAY_FACTOR * detail.degraded_above_ms
        started = time.monotonic()
        since = ctx.timeline.now_s()
        while time.monotonic() - started < MAX_PHASE_S:
            cleanup.sleep(STEP_S)
            seen = [r for r in self._reports(ctx, claim, since) if r.delay_ms is not None]
            if sum(1 for r in seen if landed(r)) >= MIN_POLLS:
                return True
            delay = float(live.fault.attributes.get("latency", 1))
            current = [r.latency_ms for r in seen if r.delay_ms == delay]
            if len(current) < 3:
                continue  # too few reports at this delay to steer by
            got = statistics.median(current)
            if landed(Report(0, 0, "", got, delay)):
                continue  # on target: wait for the band to fill
            ratio = (aim_ms - base) / max(got - base, 1.0)
            wanted = min(cap, max(1.0, delay * ratio))
            if round(wanted) == round(delay):
                continue
            evidence.adapt(f"the {claim.link} delay moved to {round(wanted)} ms",
                           f"reports at {delay:g} ms were {got:.0f} ms, aiming {band} "
                           f"({aim_ms:.0f} ms)")
            live.update({"latency": round(wanted)})
        return False

    def judge(self, record: Record, target: Any, params: Any, contract: Contract
              ) -> list[Verdict]:
        claim: HealthClaim = target
        return degraded_verdicts(record.events, claim)  # judge_dir adds what was tried
