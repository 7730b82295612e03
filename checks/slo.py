"""SLO gates: percentiles, error rate, 429 rate and throughput, overall and per endpoint.

Each configured threshold becomes one verdict with the observed value, the threshold and a
reason. A gate on throughput passes when observed ≥ threshold; the error and 429 rates and
``max_ms`` when observed ≤ threshold. An endpoint named in the suite but absent from the samples
is inconclusive: a gate with no data is neither a passed gate nor a failed one.

Latency gates judge the successful requests (the failures are the error rate's): a crashed
service refuses every connection within a millisecond, and a p95 of refusals would pass. When
requests were sent and *none* succeeded the gate fails rather than stays inconclusive: the
evidence a latency gate needs (requests sent to the service) did occur, and what it showed is
that no request got a usable answer at any latency, which violates every latency bound.

A percentile gate judges the percentile's confidence interval (:data:`CONFIDENCE`), not the
point: it passes when the upper limit is within the bound, fails when the lower limit is beyond
it, and is marginal (inconclusive) when the interval straddles the bound, or undecidable when the
population is too small for an upper limit (a p99 needs at least ``min_samples_for(0.99)`` = 368
successful requests).

When the load generator cannot be trusted (saturated, or its health unknown: see
:mod:`gauntlet.generator`), every verdict is marked unreliable, and a pass becomes inconclusive:
an overloaded generator sends less than it was asked and can make any service look fast.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

from gauntlet.checks.verdict import (
    CONFIDENCE,
    Verdict,
    min_samples_for,
    quantile_within,
    undecidable,
)
from gauntlet.latency import PERCENTILES, Figures

_UPPER = ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms", "error_rate", "rate_429")
_LOWER = ("min_rps",)
_LATENCY = (*PERCENTILES, "max_ms")

__all__ = ["CONFIDENCE", "dropped_verdicts", "gate", "min_samples_for", "slo_verdicts"]


def _fmt(key: str, value: float) -> str:
    if key in ("error_rate", "rate_429"):
        return f"{value * 100:.2f} %"
    if key == "min_rps":
        return f"{value:.1f} req/s"
    return f"{value:.1f} ms"


def gate(scope: str, key: str, threshold: float, figures: Figures | None,
         generator: str | None = None) -> Verdict:
    """One gate on one population; ``figures`` None means the population had no request.

    ``generator``: why the load generator cannot be trusted, or None when it can.
    """
    name = f"{key} [{scope}]"
    unit = "ratio" if key in ("error_rate", "rate_429") else ("req/s" if key == "min_rps" else "ms")
    if figures is None or figures.count == 0:
        verdict = Verdict.missing("slo", name, f"no requests for {scope}: nothing to judge",
                                  threshold, unit, evidence=f"requests of {scope}")
    elif key in _LATENCY:
        verdict = _latency_gate(scope, key, threshold, figures)
    else:
        verdict = _rate_gate(scope, key, threshold, figures)
    return _distrusted(verdict, generator)


def _rate_gate(scope: str, key: str, threshold: float, figures: Figures) -> Verdict:
    name = f"{key} [{scope}]"
    unit = "ratio" if key in ("error_rate", "rate_429") else "req/s"
    observed = figures.rps if key == "min_rps" else float(getattr(figures, key))
    if math.isnan(observed):
        return Verdict.judge("slo", name, False, f"{key} undefined for {scope}", None, threshold,
                             unit)
    if key in _LOWER:
        passed = observed >= threshold
        relation = "≥" if passed else "<"
    else:
        passed = observed <= threshold
        relation = "≤" if passed else ">"
    reason = (f"{scope}: {key} {_fmt(key, observed)} {relation} {_fmt(key, threshold)}"
              f" over {figures.count} requests")
    return Verdict.judge("slo", name, passed, reason, observed, threshold, unit)


def _latency_gate(scope: str, key: str, threshold: float, figures: Figures) -> Verdict:
    name = f"{key} [{scope}]"
    failed = figures.count - figures.ok_count
    over = (f"over {figures.ok_count} successful requests"
            + (f" ({failed} failed, not counted: see error_rate)" if failed else ""))
    if figures.ok_count == 0:
        return Verdict.judge(
            "slo", name, False,
            f"{scope}: none of {figures.count} requests succeeded: no answer at any latency, "
            f"so none within {_fmt(key, threshold)} ({figures.errors} errors)",
            None, threshold, "ms", evidence=f"successful requests of {scope}")
    if key == "max_ms":  # the slowest request of the run, not an estimate of a population's
        observed = figures.max_ms
        passed = observed <= threshold
        return Verdict.judge(
            "slo", name, passed,
            f"{scope}: max_ms {_fmt(key, observed)} {'≤' if passed else '>'} "
            f"{_fmt(key, threshold)} {over}", observed, threshold, "ms")
    estimate = figures.quantile(key)
    outcome, marginal = quantile_within(estimate, threshold)
    if outcome == "inconclusive" and estimate.undecidable:
        reason = f"{scope}: {undecidable(estimate, 'successful requests')}; observed " \
                 f"{estimate.describe()} vs {_fmt(key, threshold)}"
    else:
        relation = {"pass": "≤", "fail": ">", "inconclusive": "straddles"}[outcome]
        reason = (f"{scope}: {estimate.describe()} {relation} {_fmt(key, threshold)} {over}"
                  + ("; marginal: the interval holds the bound" if marginal else ""))
    return Verdict(
        "slo", name, outcome, reason, estimate.value_ms, threshold, "ms", marginal=marginal,
        evidence=f"at least {estimate.needed} successful requests of {scope}")


def _distrusted(verdict: Verdict, generator: str | None) -> Verdict:
    """Mark ``verdict`` unreliable when the generator cannot be trusted; a pass is then no
    evidence of anything: inconclusive, naming why."""
    if generator is None:
        return verdict
    marked = replace(verdict, unreliable=True)
    if marked.passed:
        return marked.as_inconclusive(f"the load generator cannot be trusted: {generator}")
    if marked.failed:
        return marked.noting(f"the load generator was not trustworthy either: {generator}")
    return marked


def slo_verdicts(
    thresholds: Mapping[str, float | None],
    overall: Figures,
    endpoint_thresholds: Mapping[str, Mapping[str, float | None]],
    endpoints: Mapping[str, Figures],
    *,
    generator: str | None = None,
) -> list[Verdict]:
    """Verdicts for every configured gate, overall first, then per endpoint.

    ``generator``: why the load generator cannot be trusted (saturated, health unknown), or
    None when it can."""
    verdicts = [
        gate("overall", key, float(value), overall, generator)
        for key, value in thresholds.items()
        if value is not None and key in _UPPER + _LOWER
    ]
    for endpoint, gates in endpoint_thresholds.items():
        figures = endpoints.get(endpoint)
        verdicts.extend(
            gate(endpoint, key, float(value), figures, generator)
            for key, value in gates.items()
            if value is not None and key in _UPPER + _LOWER
        )
    return verdicts


def dropped_verdicts(max_dropped: int | None, dropped_rate: float | None, connections: int,
                     dropped: int, *, generator: str | None = None) -> list[Verdict]:
    """Gates on realtime connections the server dropped: at most ``max_dropped`` of them, at
    most ``dropped_rate`` of the connection attempts (connects and reconnects).

    Without a single connection attempt there is nothing to judge: inconclusive, never a pass
    (a run whose connects never happened dropped none). ``generator``: as for
    :func:`slo_verdicts`.
    """
    verdicts: list[Verdict] = []
    gates = [("max_dropped", max_dropped, "connections"), ("dropped_rate", dropped_rate, "ratio")]
    for key, bound, unit in gates:
        if bound is None:
            continue
        name = f"{key} [realtime]"
        if connections == 0:
            verdicts.append(_distrusted(Verdict.missing(
                "slo", name, "no realtime connection was attempted: no drop could be seen",
                float(bound), unit, evidence="realtime connections"), generator))
            continue
        observed = float(dropped) if key == "max_dropped" else dropped / connections
        passed = observed <= bound
        shown = (f"{dropped} dropped" if key == "max_dropped"
                 else f"{observed * 100:.2f} % dropped")
        limit = f"{int(bound)}" if key == "max_dropped" else f"{float(bound) * 100:.2f} %"
        reason = (f"realtime: {shown} {'≤' if passed else '>'} {limit} "
                  f"of {connections} connection attempts")
        verdicts.append(_distrusted(Verdict.judge("slo", name, passed, reason, observed,
                                                  float(bound), unit), generator))
    return verdicts
