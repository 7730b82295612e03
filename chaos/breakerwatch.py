"""Watching a circuit breaker through the answers of the load: open (answers marked as the
open breaker's) and closed again (successes after the last of them).

Why here and not in the breaker experiment alone: every experiment that takes a link away
leaves a breaker on that link open after it, and the phase after recovery may only begin once
the breaker closed. The claimed bound of that close (open duration + one call + 2 s) is how
late it may come; a 60 s breaker that opened early in a 9 s outage closes a quarter of a
minute before the bound ends, and LangSense's suite waited out that quarter in its outage and
its slow link both. Watching for the close the verdicts will judge costs nothing and ends the
wait there, bounded by the claim's own numbers.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gauntlet import cleanup
from gauntlet.chaos.context import Context
from gauntlet.chaos.watch import Evidence, LiveSample, LiveSamples
from gauntlet.checks.markers import body_column, row_marked
from gauntlet.contract import BreakerClaim, Contract
from gauntlet.scenarios.runner import LoadRun

# answers of the claim's requests after the last open answer that mean the breaker closed
CLOSED_ANSWERS = 20
# the phase after recovery starts this long after the close seen
CLOSE_MARGIN_S = 1.0


def looks_open(row: LiveSample, claim: BreakerClaim) -> bool:
    """Whether an answer is the open breaker's, by the claim's marker, as the verdicts judge
    it (a marker always names a status, a header or a body pattern)."""
    return row_marked(row.status, row.columns, claim.open_answer,
                      body_column(f"breaker.{claim.name}"))


def watch(ctx: Context, run: LoadRun, deadline: float,
          seen: Callable[[list[LiveSample]], bool]) -> bool:
    """Feed the rows the load writes to ``seen`` (each row once, as it arrives) until it says
    the evidence is there (True), or ``deadline`` (monotonic) passes or the load ends
    (False); the progress display keeps ticking meanwhile."""
    live = LiveSamples(run.samples_dir)
    while True:
        if seen(live.poll()):
            return True
        if time.monotonic() >= deadline or not run.alive():
            return False
        cleanup.check()
        if ctx.on_tick is not None:
            ctx.on_tick(run)
        time.sleep(0.25)


def await_close(ctx: Context, run: LoadRun, claim: BreakerClaim, removed_s: float,
                deadline: float, evidence: Evidence, sent: set[str] | None = None
                ) -> float | None:
    """Once the link is back: wait (until ``deadline``, monotonic) for the breaker to close,
    that is :data:`CLOSED_ANSWERS` successes of the claim's requests (those among ``sent``,
    when given) started after the last answer marked as the open breaker's. Returns when the
    first of them started (timeline seconds), or None at the deadline: the recovery then ran
    its whole planned length, as before the watch."""
    wanted = set(claim.requests) & (sent if sent is not None else set(claim.requests))
    last_open = removed_s
    served: list[float] = []  # successes started after the last open answer seen so far

    def closed(new: list[LiveSample]) -> bool:
        nonlocal last_open, served
        for r in new:
            if r.name not in wanted or r.t_start_s < removed_s:
                continue
            if looks_open(r, claim):
                if r.t_start_s > last_open:  # rows arrive out of order across workers
                    last_open = r.t_start_s
                    served = [t for t in served if t > last_open]
            elif not r.failed and r.t_start_s > last_open:
                served.append(r.t_start_s)
        return len(served) >= CLOSED_ANSWERS

    if not watch(ctx, run, deadline, closed):
        evidence.give_up()
        return None
    closed_s = min(served)
    evidence.found(f"closed {closed_s - removed_s:.1f} s after the link was back")
    return closed_s


def watched_breakers(contract: Contract, link: str, sent: list[str]) -> list[BreakerClaim]:
    """The breakers on ``link`` whose close the load of ``sent`` shows: each has a request
    among them. A breaker none of them passes through can only be waited out."""
    return [c for c in contract.claims.of(BreakerClaim)
            if c.link == link and set(c.requests) & set(sent)]


def await_link_settled(ctx: Context, run: LoadRun, link: str, sent: list[str],
                       removed_s: float, hold_s: float) -> float:
    """How long after ``removed_s`` (timeline seconds, the link back) the breakers on ``link``
    held the service: until each watched breaker closed (:func:`await_close`) plus
    :data:`CLOSE_MARGIN_S`, never past ``hold_s`` (the contract's planned hold,
    :meth:`Contract.holds_after_s`). Returns ``hold_s`` when a breaker on the link cannot be
    watched, or did not close within it: the planned hold, as before the watch."""
    breakers = watched_breakers(ctx.contract, link, sent)
    on_link = sum(1 for c in ctx.contract.claims.of(BreakerClaim) if c.link == link)
    if hold_s <= 0 or not breakers or len(breakers) < on_link:  # one is not watched
        return hold_s
    deadline = time.monotonic() + hold_s - (ctx.timeline.now_s() - removed_s)
    latest = removed_s
    for claim in breakers:
        evidence = Evidence(
            ctx.timeline, f"breaker.{claim.name}",
            f"{CLOSED_ANSWERS} successes after the last open answer once {link} is back, "
            "for the phase after recovery to begin at the close",
            bound=f"at most the breaker's closing bound ({hold_s:g} s after the link is back)")
        closed_s = await_close(ctx, run, claim, removed_s, deadline, evidence, set(sent))
        if closed_s is None:
            return hold_s
        latest = max(latest, closed_s)
    return min(hold_s, latest - removed_s + CLOSE_MARGIN_S)
