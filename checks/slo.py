"""SLO gates: percentiles, error rate, 429 rate and throughput, overall and per endpoint.

Each configured threshold becomes one verdict with the observed value, the threshold and a
reason. A gate on latency passes when observed ≤ threshold; a gate on throughput when observed ≥
threshold. An endpoint named in the suite but absent from the samples is inconclusive: a gate with
no data is neither a passed gate nor a failed one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from gauntlet.checks.verdict import Verdict
from gauntlet.latency import Figures

_UPPER = ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms", "error_rate", "rate_429")
_LOWER = ("min_rps",)


def _fmt(key: str, value: float) -> str:
    if key in ("error_rate", "rate_429"):
        return f"{value * 100:.2f} %"
    if key == "min_rps":
        return f"{value:.1f} req/s"
    return f"{value:.1f} ms"


def gate(scope: str, key: str, threshold: float, figures: Figures | None,
         unreliable: bool = False) -> Verdict:
    """One gate on one population; ``figures`` None means the population had no request."""
    name = f"{key} [{scope}]"
    unit = "ratio" if key in ("error_rate", "rate_429") else ("req/s" if key == "min_rps" else "ms")
    if figures is None or figures.count == 0:
        return Verdict.missing("slo", name, f"no requests for {scope}: nothing to judge",
                               threshold, unit, unreliable=unreliable,
                               evidence=f"requests of {scope}")
    observed = figures.rps if key == "min_rps" else float(getattr(figures, key))
    if math.isnan(observed):
        return Verdict.judge("slo", name, False, f"{key} undefined for {scope}", None, threshold,
                             unit, unreliable=unreliable)
    if key in _LOWER:
        passed = observed >= threshold
        relation = "≥" if passed else "<"
    else:
        passed = observed <= threshold
        relation = "≤" if passed else ">"
    reason = (f"{scope}: {key} {_fmt(key, observed)} {relation} {_fmt(key, threshold)}"
              f" over {figures.count} requests")
    return Verdict.judge("slo", name, passed, reason, observed, threshold, unit,
                         unreliable=unreliable)


def slo_verdicts(
    thresholds: Mapping[str, float | None],
    overall: Figures,
    endpoint_thresholds: Mapping[str, Mapping[str, float | None]],
    endpoints: Mapping[str, Figures],
    *,
    unreliable: bool = False,
) -> list[Verdict]:
    """Verdicts for every configured gate, overall first, then per endpoint."""
    verdicts = [
        gate("overall", key, float(value), overall, unreliable)
        for key, value in thresholds.items()
        if value is not None and key in _UPPER + _LOWER
    ]
    for endpoint, gates in endpoint_thresholds.items():
        figures = endpoints.get(endpoint)
        verdicts.extend(
            gate(endpoint, key, float(value), figures, unreliable)
            for key, value in gates.items()
            if value is not None and key in _UPPER + _LOWER
        )
    return verdicts


def dropped_verdicts(max_dropped: int | None, dropped_rate: float | None, connections: int,
                     dropped: int, *, unreliable: bool = False) -> list[Verdict]:
    """Gates on realtime connections the server dropped: at most ``max_dropped`` of them, at
    most ``dropped_rate`` of the connection attempts (connects and reconnects).

    Without a single connection attempt there is nothing to judge: inconclusive, never a pass
    (a run whose connects never happened dropped none).
    """
    verdicts: list[Verdict] = []
    gates = [("max_dropped", max_dropped, "connections"), ("dropped_rate", dropped_rate, "ratio")]
    for key, bound, unit in gates:
        if bound is None:
            continue
        name = f"{key} [realtime]"
        if connections == 0:
            verdicts.append(Verdict.missing(
                "slo", name, "no realtime connection was attempted: no drop could be seen",
                float(bound), unit, unreliable=unreliable, evidence="realtime connections"))
            continue
        observed = float(dropped) if key == "max_dropped" else dropped / connections
        passed = observed <= bound
        shown = (f"{dropped} dropped" if key == "max_dropped"
                 else f"{observed * 100:.2f} % dropped")
        limit = f"{int(bound)}" if key == "max_dropped" else f"{float(bound) * 100:.2f} %"
        reason = (f"realtime: {shown} {'≤' if passed else '>'} {limit} "
                  f"of {connections} connection attempts")
        verdicts.append(Verdict.judge("slo", name, passed, reason, observed, float(bound), unit,
                                      unreliable=unreliable))
    return verdicts
