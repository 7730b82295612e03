"""The steady state: was the stack healthy *before* the fault?

A chaos verdict says what a fault did to a healthy stack. If the stack was already failing (or
already slow) before the fault, a failure during it cannot be blamed on the mechanism under
test, and a pass proves nothing either: every claim verdict is then demoted to inconclusive.

    steady = steady_state(samples, start_s=t0, end_s=fault.start_s, max_error_rate=0.01,
                          p95_ms=None)
    verdicts = [steady, *demote(breaker_verdicts(samples, events, claim), steady)]

Steady-state and precondition verdicts are not claim verdicts: their checks are
``"steady-state"`` and ``"precondition"`` and they name no claim.

The p95 limit is judged with its confidence interval (:func:`gauntlet.checks.verdict.
quantile_within`): a steady phase is only "not slow" when the p95's upper confidence limit is
within the limit. A phase of fewer than ``min_samples_for(0.95)`` (72) successful requests can
show the stack was slow but never that it was not: it is inconclusive ("undecidable: 40
requests, a p95 needs at least 72"), and so are the claim verdicts it would have vouched for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from gauntlet.checks.markers import identifying, marked_by_any
from gauntlet.checks.verdict import Verdict, quantile_within, undecidable
from gauntlet.checks.windows import failed, finished_before, started_in, statuses
from gauntlet.contract import Marker
from gauntlet.latency import quantile_bounds

CHECK = "steady-state"
PRECONDITION = "precondition"
STEADY_ERROR_RATE = 0.01  # the steady phase's error bound when the contract claims none
STEADY_ERROR_CAP = 0.05  # and at most this, whatever it claims: a steady state is healthy


def steady_error_bound(claimed: float | None) -> float:
    """The error rate a steady phase may show: the contract's claimed ``slo.error_rate``
    (capped at 5 %), or 1 % when it claims none. A claimed 0 stays 0 — ``claimed or 0.01``
    turned a zero-error claim into a 1 % allowance."""
    return min(STEADY_ERROR_RATE if claimed is None else claimed, STEADY_ERROR_CAP)


def arrived_s(rows: Iterable[tuple[str, float, float]]) -> float | None:
    """When every client had arrived: the latest end of each client's first request, over
    ``(client, t_start_s, t_end_s)`` rows (rows with no client are not counted; None: none
    had one). A load starts its clients together, and their first requests — behind a login,
    all at once — are how the load begins, not the stack's steady state."""
    first: dict[str, tuple[float, float]] = {}
    for client, start_s, end_s in rows:
        if client and (client not in first or start_s < first[client][0]):
            first[client] = (start_s, end_s)
    return max((end_s for _, end_s in first.values()), default=None)


def failure_kinds(failures: pd.DataFrame, markers: Mapping[str, Marker]) -> str:
    """``"503 x20: pool.postgres x20"``: the failures' statuses, and how many of them each
    claim's marker identifies (a marker with a header or a body: :func:`identifying`). A 503 is
    a pool shedding load, an open breaker or a database that is down; a reason read after the
    fact (a CI log, with the run dir gone) must say which."""
    kinds = statuses(failures)
    named = [(claim, int(marked_by_any(failures, {claim: marker}).sum()))
             for claim, marker in sorted(identifying(markers).items())]
    named = [(claim, n) for claim, n in named if n]
    return kinds + (": " + ", ".join(f"{claim} x{n}" for claim, n in named) if named else "")


def steady_state(samples: pd.DataFrame, *, start_s: float, end_s: float, max_error_rate: float,
                 p95_ms: float | None, label: str = "before the fault",
                 markers: Mapping[str, Marker] | None = None) -> Verdict:
    """Errors (5xx, no answer) and optionally p95 of requests that started in [start, end)
    *and finished by* ``end_s`` — a request still in flight when the fault began may fail
    because of it, so it does not speak for the steady state. ``markers`` (the contract's
    :meth:`~gauntlet.contract.Contract.answer_markers`) name the claims whose answers the
    failures were, in the reason only: they are failures all the same."""
    name = f"steady state {label}"
    window = finished_before(started_in(samples, start_s, end_s), end_s)
    evidence = f"requests that started and finished {label}"
    if window.empty:
        return Verdict.missing(CHECK, name, f"no request started and finished {label} "
                               f"({end_s - start_s:.1f} s window): no steady state to compare "
                               "with", max_error_rate, "ratio", evidence=evidence)
    rate = float(failed(window).mean())
    # which failures: a reason read after the fact (a CI log) must tell a starved host's
    # timeouts from a service's 503s
    kinds = f" ({failure_kinds(window[failed(window)], markers or {})})" if rate > 0 else ""
    when = "still" if label.startswith("after") else "already"
    if rate > max_error_rate:
        return Verdict.judge(
            CHECK, name, False,
            f"the stack was {when} failing {label}: {rate * 100:.1f} % errors{kinds} in the "
            f"steady phase (limit {max_error_rate * 100:.1f} %, {len(window)} requests)",
            round(rate, 5), max_error_rate, "ratio", evidence=evidence)
    slow = ""
    if p95_ms is not None:
        # latency of the answers that worked: the failures are the error rate's
        estimate = quantile_bounds(window["latency_ms"].to_numpy()[~failed(window)], 95.0)
        outcome, marginal = quantile_within(estimate, p95_ms)
        if outcome == "fail":
            return Verdict.judge(
                CHECK, name, False,
                f"the stack was {when} slow {label}: {estimate.describe()} in the steady "
                f"phase (limit {p95_ms:.0f} ms, {len(window)} requests)",
                round(estimate.value_ms, 1), p95_ms, "ms", evidence=evidence)
        if outcome == "inconclusive":
            why = (undecidable(estimate, "successful requests") if estimate.undecidable else
                   f"{estimate.describe()} straddles the limit {p95_ms:.0f} ms")
            return Verdict(
                CHECK, name, "inconclusive",
                f"steady phase {label}: {why}, so it cannot show the stack was not {when} "
                f"slow", round(estimate.value_ms, 1), p95_ms, "ms", marginal=marginal,
                evidence=f"{evidence}: at least {estimate.needed} successful")
        slow = f", {estimate.describe()}"
    return Verdict.judge(
        CHECK, name, True,
        f"{len(window)} requests {label}: {rate * 100:.2f} % errors{kinds} (limit "
        f"{max_error_rate * 100:.1f} %){slow}",
        round(rate, 5), max_error_rate, "ratio", evidence=evidence)


def demote(verdicts: Iterable[Verdict], steady: Verdict) -> list[Verdict]:
    """Every verdict inconclusive unless ``steady`` passed: its evidence cannot be trusted.

    ``steady`` is a steady-state or precondition verdict; the list returned does not include it
    (the caller reports it once), and a copy of it inside ``verdicts`` is left as it is.
    """
    items = list(verdicts)
    if steady.passed:
        return items
    what = "no steady state" if steady.check == CHECK else "precondition not met"
    reason = f"{what} ({steady.name}: {steady.reason})"
    return [v if v is steady or v.check in (CHECK, PRECONDITION) else v.as_inconclusive(reason)
            for v in items]
