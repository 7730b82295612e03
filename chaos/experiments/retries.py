"""Retries: short outages of the claim's link under load are absorbed by retries with backoff.

Each outage is half the shortest total wait the claimed retries can make, jitter included, so a
service that retries as claimed loses nothing; one that does not retry fails the requests caught
in it. The experiment watches for its evidence — a request touched by an outage: failed,
retried (the claim's counter rose) or slowed by a backoff — and when the planned outages touched
none, it pulses again, up to ``extra_pulses`` more, each at a random offset in its period. An
outage that stretched past the shortest wait (injected late on a busy host) is no transient
fault: it does not count as a planned one, and another is owed within the same bound. So is an
outage that met a stall of the host (the heartbeat's ``host.stall``: the harness itself stopped
running in the outage or the backoff after it), whose requests the check sets aside."""

from __future__ import annotations

import random
import time
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from gauntlet.chaos.context import Context
from gauntlet.chaos.experiments.base import Experiment, Params, Record
from gauntlet.chaos.faults import Fault
from gauntlet.chaos.watch import Evidence, LiveSamples
from gauntlet.checks.retry import retry_verdicts
from gauntlet.checks.verdict import Verdict
from gauntlet.checks.windows import backoff_budget_s
from gauntlet.contract import Contract, Metric, RetriesClaim
from gauntlet.metrics import has_family, metric_total
from gauntlet.scenarios.runner import LoadRun


class RetriesParams(Params):
    users: int = Field(40, ge=1)
    steady_s: float = Field(3.0, gt=0)
    pulses: int = Field(4, ge=1)
    every_s: float = Field(3.0, gt=0)
    min_success: float = Field(0.995, gt=0, le=1)
    # the bound of the adaptation: outages added when the planned ones touched no request
    extra_pulses: int = Field(6, ge=0)
    seed: int | None = None  # the pulses' random offsets (None: a fresh draw each run)


# a pulse's outage, as a share of the shortest total wait the claimed retries can make,
# jitter included: a retry that sleeps the least still lands after the link is back
OUTAGE_MARGIN = 0.5
MIN_OUTAGE_S = 0.02
MAX_OUTAGE_S = 0.3


def shortest_wait_s(claim: RetriesClaim) -> float:
    """The least the claimed retries can wait in all (:attr:`RetriesClaim.shortest_wait_s`)."""
    return claim.shortest_wait_s


def outage_s(claim: RetriesClaim) -> float:
    """An outage the claimed retries must ride out, with a margin: half the shortest total
    wait they can make, jitter included (cenkalti/backoff's default randomization shortens a
    wait by up to half), between 20 ms and 0.3 s."""
    return float(max(MIN_OUTAGE_S, min(MAX_OUTAGE_S, shortest_wait_s(claim) * OUTAGE_MARGIN)))


def hold_s(down_s: float, asked_s: float) -> float:
    """How long to hold an outage from the moment Toxiproxy was first asked, so that the
    window the timeline records — from that ask to the answer of the last removal — lasts
    about ``down_s``: the removals are assumed to take as long as the injections did
    (``asked_s``). Holding ``down_s`` after the injections instead ran outages planned at
    75 ms to 96-158 ms on a busy host (four API calls of 10-30 ms each), which ate the margin
    below the shortest wait the plan was made to keep. Never less than the injections took."""
    return max(asked_s, down_s - asked_s)


@dataclass
class PulseBudget:
    """How many outages the experiment still owes. An outage that lasted longer than the
    shortest total wait of the claimed retries is no transient fault (on a starved host
    Toxiproxy can answer the removal late), and the check sets its requests aside; so it does
    not count as one of the ``planned``: another is owed in its place, within the same bound of
    ``planned + extra`` outages in all."""

    planned: int
    extra: int
    shortest_s: float
    stretched: int = 0

    @property
    def most(self) -> int:
        return self.planned + self.extra

    def planned_left(self, done: int) -> bool:
        """Whether outage number ``done`` (from 0) is still one of the planned ones (no look
        for evidence before it), counting a stretched one as not made."""
        return done < min(self.most, self.planned + self.stretched)

    def transient(self, lasted_s: float) -> bool:
        """Record an outage as it was; False (and another owed) when it stretched."""
        if lasted_s > self.shortest_s:
            self.stretched += 1
            return False
        return True

    def set_aside(self) -> None:
        """An outage counted as made turned out to be no evidence (it met a stall of the host):
        another is owed in its place, within the same bound."""
        self.stretched += 1


class RetriesExperiment(Experiment):
    name = "retries"
    description = "transient outages of a link are absorbed by retries with backoff"
    claims = (RetriesClaim,)
    params_model = RetriesParams

    def settle_s(self, target: Any) -> float:
        claim: RetriesClaim = target
        return backoff_budget_s(claim.attempts, claim.initial_s, claim.max_s) + claim.call_timeout_s

    def run(self, ctx: Context) -> None:
        p: RetriesParams = ctx.params
        claim: RetriesClaim = ctx.claim
        down_s = outage_s(claim)
        budget_s = backoff_budget_s(claim.attempts, claim.initial_s, claim.max_s)
        # an outage is new connections refused (down) and the established ones reset as soon
        # as they carry data (reset_peer): a pool of warm connections would ride out "down"
        # alone, and the fault would never need a retry
        faults = (Fault(claim.link, "down"), Fault(claim.link, "reset_peer", {"timeout": 0.0}))
        for fault in faults:
            fault.validate()
        evidence = Evidence(
            ctx.timeline, f"retries.{claim.name}",
            f"a request of {', '.join(claim.requests)} failed, was retried or was slowed "
            f"during a {down_s * 1000:.0f} ms outage of {claim.link}",
            bound=f"{p.pulses} planned outages + up to {p.extra_pulses} more")
        rng = random.Random(p.seed)
        settle_s = self.settle_s(claim)
        before = ctx.scrape() if claim.metric else None

        def pulses(run: LoadRun, t0: float) -> None:
            injector = ctx.stack.faults(ctx.timeline)
            live = LiveSamples(run.samples_dir)
            windows: list[tuple[float, float]] = []
            owed = PulseBudget(p.pulses, p.extra_pulses, claim.shortest_wait_s)
            at_s = p.steady_s

            last_end = [0.0]  # when the last outage ended (wall clock)

            def owe_for_stalls() -> None:
                """Once the last outage's backoff is over: an outage whose outage or backoff
                met a stall of the host is set aside by the check (its requests could time
                out with no retry at fault), so another is owed in its place."""
                left_s = last_end[0] + budget_s - ctx.timeline.now_s()
                if left_s > 0:
                    ctx.sleep_until(time.monotonic(), left_s)
                beat = ctx.heartbeat
                for start, end in list(windows):
                    stall = beat.stalled_in(start, end + budget_s) if beat else None
                    if stall is not None:
                        windows.remove((start, end))
                        owed.set_aside()
                        evidence.adapt("another outage", f"an outage met a "
                                       f"{stall.duration_s:.2f} s stall of the host (the "
                                       "harness stopped running): its requests set aside")

            made = 0
            while True:
                while made < owed.most:
                    if made:
                        owe_for_stalls()
                    if not owed.planned_left(made):
                        self._look(ctx, evidence, live, windows, claim, before, budget_s)
                        if evidence.seen:
                            break
                        evidence.adapt("another outage", f"the {len(windows)} outages so far "
                                       "touched no request of the claim")
                    # a random offset in each period: a pulse train locked to the clients' pace
                    # could keep missing the moments they send
                    ctx.sleep_until(t0, at_s + rng.uniform(0.0, p.every_s / 3))
                    start = ctx.timeline.now_s()
                    asked = time.monotonic()
                    with ExitStack() as stack:
                        for fault in faults:
                            stack.enter_context(injector.inject(fault))
                        ctx.sleep_until(asked, hold_s(down_s, time.monotonic() - asked))
                    end = last_end[0] = ctx.timeline.now_s()
                    made += 1
                    if owed.transient(end - start):
                        windows.append((start, end))
                    else:  # the check sets its requests aside: owe another outage
                        evidence.adapt("another outage", f"outage {made} lasted "
                                       f"{end - start:.2f} s, past the {owed.shortest_s:.2f} s the "
                                       "claimed retries wait at least (injected late on a busy "
                                       "host): no transient fault, its requests set aside")
                    at_s += p.every_s
                # the last outage's backoff too: one set aside there is owed as well
                owe_for_stalls()
                if made >= owed.most or not owed.planned_left(made):
                    break
            if not evidence.seen:
                ctx.sleep_until(time.monotonic(), budget_s + 1.0)
                self._look(ctx, evidence, live, windows, claim, before, budget_s)
            evidence.give_up()
            # after the last outage, requests may still be retrying for the settle time (a
            # call timeout and the backoff): the phase after recovery begins once every
            # request the outage could touch (started before its end + the backoff budget)
            # was answered, at most that settle time after it. drive() then holds the load
            # until the phase is decidable. Before, the load ran the whole settle time and 5 s
            # more: 40 s after each last outage in lazy-foundry-node's suite (a 30 s call)
            answered = ctx.await_answered(run, claim.requests,
                                          before_s=last_end[0] + budget_s,
                                          bound_s=settle_s - budget_s,
                                          phase="steady state after recovery")
            if answered is not None:
                ctx.facts["settle_s"] = round(min(settle_s, answered - last_end[0]), 3)

        most_s = p.steady_s + (p.pulses + p.extra_pulses + 1) * p.every_s + settle_s + 5.0
        ctx.drive(claim.requests, users=p.users, duration_s=most_s, during=pulses,
                  lead_s=p.steady_s, settle_s=settle_s, report_in_flight=True)
        if claim.metric is not None:
            after = ctx.scrape()
            ctx.facts["metric_delta"] = metric_delta(before, after, claim.metric)
            ctx.facts["metric_exported"] = after is not None and has_family(after, claim.metric)

    @staticmethod
    def _look(ctx: Context, evidence: Evidence, live: LiveSamples,
              windows: list[tuple[float, float]], claim: RetriesClaim, before: str | None,
              budget_s: float) -> None:
        """Did an outage so far touch a request: the retry metric rose, or a request of the
        claim overlapping one failed or took at least the first backoff longer than usual."""
        if evidence.seen:
            return
        if claim.metric is not None:
            delta = metric_delta(before, ctx.scrape(), claim.metric)
            if delta:
                evidence.found(f"{claim.metric.name} rose by {delta:g}")
                return
        live.poll()
        slow_ms = (claim.initial_s + 0.05) * 1000.0
        for start, end in windows:
            hit = [r for r in live.overlapping(start, end + budget_s, claim.requests)
                   if r.failed or r.latency_ms >= slow_ms]
            if hit:
                evidence.found(f"{len(hit)} requests overlapping an outage failed or slowed")
                return

    def judge(self, record: Record, target: Any, params: Any, contract: Contract
              ) -> list[Verdict]:
        claim: RetriesClaim = target
        p: RetriesParams = params
        return retry_verdicts(record.of(claim.requests), record.events, claim,
                              metric_delta=record.facts.get("metric_delta"),
                              min_success=p.min_success,
                              metric_exported=record.facts.get("metric_exported", True))


def metric_delta(before: str | None, after: str | None, metric: Metric) -> float | None:
    """How much a counter rose between two scrapes; None when a scrape failed.

    A family absent from a scrape counts as 0: client_golang exports a labelled counter only
    after its first increment (no series, often no ``# TYPE`` line), so "absent before, 5
    after" is five retries, and "absent both times" is none — not an unreadable metric.
    """
    if before is None or after is None:
        return None
    first = metric_total(before, metric)
    last = metric_total(after, metric)
    return (last or 0.0) - (first or 0.0)
