"""Status retries: which answers of an HTTP dependency the service retries, and which never.

On the claim's link (``protocol = "http"``) one ``http_status`` toxic forges a share of the
dependency's answers, one claimed status at a time, after a baseline phase that forges none;
each phase is followed by a settle time in which in-flight retries land: until every request
started in the phase was answered (as the declared load reports them), at most the settle
time the claim's numbers give. The toxic counts the
answers it passed and forged (docs/faults.md), so the attempts are counted at the dependency,
not guessed from the service's answers (checks/retrystatus.py).

Evidence by construction: a phase lasts until it forged :data:`~gauntlet.checks.retrystatus.
MIN_FORGED` answers, at most ``extend_s`` past its planned length; one that still has too few
stays inconclusive and says how many it had. The share stays under a third of the failure
rate of any breaker the contract claims on the same link, so the forged failures do not open
it (an open breaker sends no attempt at all, retried or not)."""

from __future__ import annotations

import math
import time
from typing import Any

from pydantic import Field

from gauntlet.boot import Stack
from gauntlet.chaos.context import Context
from gauntlet.chaos.experiments.base import Experiment, Params, Record
from gauntlet.chaos.faults import Fault, LiveToxic
from gauntlet.checks.retrystatus import MIN_FORGED, StatusPhase, status_retry_verdicts
from gauntlet.checks.verdict import Verdict
from gauntlet.checks.windows import backoff_budget_s
from gauntlet.contract import BreakerClaim, Contract, RetriesClaim
from gauntlet.errors import InfrastructureError, ToxiproxyError
from gauntlet.scenarios.runner import LoadRun

MAX_SHARE = 0.2
SETTLE_CAP_S = 6.0


class RetryStatusParams(Params):
    users: int = Field(30, ge=1)
    baseline_s: float = Field(4.0, gt=0)
    phase_s: float = Field(3.0, gt=0)
    # the bound of the adaptation: how much longer a phase may run to forge enough answers
    extend_s: float = Field(8.0, ge=0)
    share: float | None = Field(None, gt=0, le=1)  # None: MAX_SHARE, under any breaker's rate


def retry_after_s(claim: RetriesClaim) -> int:
    """The Retry-After the forged answers carry, in whole seconds (delay-seconds has no
    fraction): at least twice the longest first backoff the claim allows (its initial wait and
    as much jitter on top), so a retry that ignored it comes well before it."""
    return max(1, math.ceil(2 * 2 * claim.initial_s))


def forged_share(claim: RetriesClaim, contract: Contract, asked: float | None) -> float:
    """The share of answers to forge: asked, else :data:`MAX_SHARE`, and under a third of the
    failure rate of a breaker the contract claims on the same link."""
    share = asked if asked is not None else MAX_SHARE
    for breaker in contract.claims.of(BreakerClaim):
        if breaker.link == claim.link and breaker.failure_rate is not None:
            share = min(share, breaker.failure_rate / 3)
    return share


class RetryStatusExperiment(Experiment):
    name = "retry_statuses"
    description = ("a dependency's answers of the claimed statuses are retried, or never "
                   "retried, counted at the dependency")
    claims = (RetriesClaim,)
    params_model = RetryStatusParams
    steady_latency = False  # its verdicts count attempts; they time nothing

    def targets(self, contract: Contract) -> dict[str, Any]:
        return {c.name: c for c in contract.claims.of(RetriesClaim) if c.statuses}

    def check(self, target: Any, stack: Stack) -> None:
        """The stack's Toxiproxy must have gauntlet's HTTP toxics (a stock one, or a user's own
        on the external backend, refuses them): one forging nothing is added and removed
        before any load starts."""
        claim: RetriesClaim = target
        try:
            with stack.faults(None).inject(Fault(claim.link, "http_status",
                                                 {"status": claim.statuses[0], "share": 0.0})):
                pass
        except ToxiproxyError as exc:
            raise InfrastructureError(f"retry_statuses[{claim.name}]: {exc}") from exc

    def settle_s(self, target: Any) -> float:
        claim: RetriesClaim = target
        return min(SETTLE_CAP_S, backoff_budget_s(claim.attempts, claim.initial_s, claim.max_s)
                   + claim.call_timeout_s + 0.5)

    def run(self, ctx: Context) -> None:
        p: RetryStatusParams = ctx.params
        claim: RetriesClaim = ctx.claim
        share = forged_share(claim, ctx.contract, p.share)
        settle_s = self.settle_s(claim)
        phases: list[StatusPhase] = []
        ctx.facts["share"] = share

        def forge(run: LoadRun, t0: float) -> None:
            injector = ctx.stack.faults(ctx.timeline)
            counting = Fault(claim.link, "http_status", {"status": claim.statuses[0],
                                                         "share": 0.0})
            with injector.inject_live(counting) as toxic:
                start_s, before = ctx.timeline.now_s(), self._counts(toxic)
                ctx.sleep_until(time.monotonic(), p.baseline_s)
                end_s, after = ctx.timeline.now_s(), self._counts(toxic)
                phases.append(StatusPhase(0, start_s, end_s, after[0] - before[0], 0))
                # each claimed status, then (retry_after) the first retried one again, its
                # forged answers asking for a pause
                forged = [(status, 0) for status in claim.statuses]
                if claim.retry_after:
                    forged.append((claim.retry_statuses[0], retry_after_s(claim)))
                for status, wait_s in forged:
                    if not run.alive():
                        break
                    start_s, before = end_s, after
                    toxic.update({"status": status, "share": share,
                                  "headers": {"Retry-After": str(wait_s)} if wait_s else {}})
                    began = time.monotonic()
                    ctx.sleep_until(began, p.phase_s)
                    while (run.alive() and self._counts(toxic)[1] - before[1] < MIN_FORGED
                           and time.monotonic() - began < p.phase_s + p.extend_s):
                        ctx.sleep_until(time.monotonic(), 0.5)
                    toxic.update({"share": 0.0})
                    # every attempt a forged answer causes is made before its request is
                    # answered: the phase ends once each request started in it was answered,
                    # at most the settle time (and the Retry-After asked) after it. A fixed
                    # settle was 6 s a phase for lazy-foundry-node's 30 s calls
                    settling = time.monotonic()
                    if ctx.await_answered(run, claim.requests, before_s=ctx.timeline.now_s(),
                                          bound_s=settle_s + wait_s,
                                          phase=f"forging {status}") is None:
                        ctx.sleep_until(settling, settle_s + wait_s)  # as planned
                    end_s, after = ctx.timeline.now_s(), self._counts(toxic)
                    phases.append(StatusPhase(status, start_s, end_s, after[0] - before[0],
                                              after[1] - before[1], wait_s))
            # the load goes on: drive() holds it until the phase after recovery is decidable

        phases_n = len(claim.statuses) + (1 if claim.retry_after else 0)
        most_s = (p.baseline_s + phases_n * (p.phase_s + p.extend_s + settle_s)
                  + (retry_after_s(claim) if claim.retry_after else 0) + 5.0)
        try:
            ctx.drive(claim.requests, users=p.users, duration_s=most_s, during=forge,
                      settle_s=settle_s, report_in_flight=True)
        finally:
            ctx.facts["status_phases"] = [phase.as_dict() for phase in phases]

    @staticmethod
    def _counts(toxic: LiveToxic) -> tuple[int, int]:
        counts = toxic.counts()
        if counts is None:
            raise ToxiproxyError(f"the http_status toxic on {toxic.fault.proxy} shows no "
                                 "counts: is this gauntlet's toxiproxy-server?")
        return counts.answers, counts.acted

    def judge(self, record: Record, target: Any, params: Any, contract: Contract
              ) -> list[Verdict]:
        claim: RetriesClaim = target
        phases = [StatusPhase.from_dict(raw) for raw in record.facts.get("status_phases", [])]
        return status_retry_verdicts(record.of(claim.requests), phases, claim)
