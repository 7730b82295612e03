"""A dependency slower than a threshold is reported degraded: "DB response < 100 ms, reported
degraded above".

What is judged is the service's own report, poll by poll: each answer of the detailed health
endpoint carries the dependency's status and the latency the service measured for it, and the
two must agree with the claimed threshold — degraded (one of the claim's ``unhealthy``
statuses) when the reported latency is above it, healthy when below. The service measures the
latency its own way (a fresh connection, a pooled ``SELECT 1``), so the experiment steers the
link's delay until the *reported* latency lands where each verdict needs it; a report within
:data:`BAND` of the threshold is not judged (a timer's resolution, the moment of measuring).

Three verdicts, each inconclusive without its evidence:

- *shows degraded above* — the polls that reported more than the threshold (at least
  :data:`MIN_POLLS`);
- *shows healthy below* — the polls below it, including at least :data:`MIN_POLLS` between half
  the threshold and the threshold (a service whose own threshold is lower than claimed says
  degraded there);
- *reports the dependency's latency* — while the link adds a delay, every round trip to the
  dependency takes at least that long, so a report under it is not a measurement (a status page
  that says "2 ms" while every packet waits 150 ms).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gauntlet.checks.verdict import Verdict
from gauntlet.checks.windows import Scope, as_float
from gauntlet.contract import HealthClaim
from gauntlet.timeline import Event

LATENCY_PROBE = "detailed-latency"
BAND = 0.1  # reports within 10 % of the threshold are not judged
NEAR_LOW = 0.5  # "just below": from half the threshold
MIN_POLLS = 10
REPORT_SHARE = 0.9  # of the link's own delay, the least a measured round trip reports
SETTLED_S = 0.2  # a poll counts against a delay set at least this long before it began
# the delays the latency report is held to: large enough to stand out of a loopback round trip
# (a service measuring several round trips reaches the threshold at a fraction of it)
MIN_DELAY_MS = 10.0
DELAY_SHARE = 0.2


@dataclass(frozen=True)
class Report:
    """One poll's answer: when it began and ended, the dependency's status and the latency the
    service reported for it, and the link's added delay over the whole poll (None when it
    changed during the poll)."""

    start_s: float
    end_s: float
    status: str
    latency_ms: float
    delay_ms: float | None


def delays(events: Sequence[Event], link: str) -> list[tuple[float, float]]:
    """(time, the link's added latency in ms from then on), from the fault events."""
    out: list[tuple[float, float]] = []
    for event in events:
        if event.data.get("proxy") != link or event.data.get("fault") != "latency":
            continue
        if event.kind in ("fault.applied", "fault.updated"):
            attributes = event.data.get("attributes") or {}
            out.append((event.at_s, as_float(attributes.get("latency"), 0.0)))
        elif event.kind == "fault.removed":
            out.append((event.at_s, 0.0))
    return sorted(out)


def _delay_over(changes: list[tuple[float, float]], start_s: float, end_s: float
                ) -> float | None:
    current = 0.0
    for at, value in changes:
        if at <= start_s - SETTLED_S:
            current = value
        elif at < end_s:
            return None  # changed during the poll (or just before it)
    return current


def reports(events: Sequence[Event], claim: HealthClaim) -> list[Report]:
    """Every answered poll of the detailed endpoint that reported a status and a latency."""
    detail = claim.detailed
    assert detail is not None
    field = detail.latency_field(claim.link)
    changes = delays(events, claim.link)
    out: list[Report] = []
    for event in events:
        if event.kind != "probe" or event.data.get("target") != LATENCY_PROBE:
            continue
        if not int(event.data.get("status") or 0):
            continue
        status = event.data.get("value")
        latency = as_float((event.data.get("also") or {}).get(field))
        if status is None or latency != latency:  # no status, or NaN: nothing reported
            continue
        end = event.at_s
        start = end - as_float(event.data.get("latency_ms"), 0.0) / 1000.0
        out.append(Report(start, end, str(status), latency, _delay_over(changes, start, end)))
    return out


def _examples(found: list[Report]) -> str:
    return ", ".join(f"'{r.status}' at {r.latency_ms:.0f} ms" for r in found[:3])


def degraded_verdicts(events: Sequence[Event], claim: HealthClaim) -> list[Verdict]:
    detail = claim.detailed
    assert detail is not None and detail.degraded_above_ms is not None
    threshold = detail.degraded_above_ms
    scope = Scope("health", "health", claim.name)
    link = claim.link
    seen = reports(events, claim)
    evidence = (f"detailed-health answers reporting {link}'s latency above and below "
                f"{threshold:g} ms, the link's delay steered to put them there")
    above = [r for r in seen if r.latency_ms > threshold * (1 + BAND)]
    below = [r for r in seen if r.latency_ms < threshold * (1 - BAND)]
    near = [r for r in below if r.latency_ms >= threshold * NEAR_LOW]
    out: list[Verdict] = []

    what = f"shows {link} degraded above {threshold:g} ms"
    if len(above) < MIN_POLLS:
        out.append(scope.verdict(what, "inconclusive", f"{len(above)} answers reported {link} "
                                 f"slower than {threshold * (1 + BAND):g} ms (at least "
                                 f"{MIN_POLLS} needed)", None, threshold, "ms",
                                 evidence=evidence))
    else:
        wrong = [r for r in above if r.status not in detail.unhealthy]
        text = (f"{len(above) - len(wrong)} of {len(above)} answers reporting {link} over "
                f"{threshold * (1 + BAND):g} ms said one of {', '.join(detail.unhealthy)}")
        if wrong:
            text += f"; the others said {_examples(wrong)}"
        out.append(scope.judge(what, not wrong, text, len(wrong), 0, "answers",
                               evidence=evidence))

    what = f"shows {link} healthy below {threshold:g} ms"
    if len(near) < MIN_POLLS:
        out.append(scope.verdict(what, "inconclusive", f"{len(near)} answers reported {link} "
                                 f"between {threshold * NEAR_LOW:g} and "
                                 f"{threshold * (1 - BAND):g} ms (at least {MIN_POLLS} needed: "
                                 f"a threshold set lower than claimed shows only there)",
                                 None, threshold, "ms", evidence=evidence))
    else:
        wrong = [r for r in below if r.status not in detail.healthy]
        text = (f"{len(below) - len(wrong)} of {len(below)} answers reporting {link} under "
                f"{threshold * (1 - BAND):g} ms ({len(near)} of them from "
                f"{threshold * NEAR_LOW:g} ms) said one of {', '.join(detail.healthy)}")
        if wrong:
            text += f"; the others said {_examples(wrong)}"
        out.append(scope.judge(what, not wrong, text, len(wrong), 0, "answers",
                               evidence=evidence))

    what = f"reports {link}'s latency"
    least = max(MIN_DELAY_MS, DELAY_SHARE * threshold)
    delayed = [r for r in seen if r.delay_ms is not None and r.delay_ms >= least]
    if len(delayed) < MIN_POLLS:
        out.append(scope.verdict(what, "inconclusive", f"{len(delayed)} answers while the link "
                                 f"added at least {least:g} ms (at least {MIN_POLLS} needed)",
                                 None, None, "ms", evidence=evidence))
    else:
        under = [r for r in delayed if r.latency_ms < REPORT_SHARE * (r.delay_ms or 0.0)]
        text = (f"{len(delayed) - len(under)} of {len(delayed)} answers while the link added "
                f"{min(r.delay_ms or 0.0 for r in delayed):g} ms or more reported at least "
                f"{REPORT_SHARE:.0%} of that delay")
        if under:
            shown = ", ".join(f"{r.latency_ms:.0f} ms under {r.delay_ms:g} ms" for r in under[:3])
            text += f"; the others reported less than one round trip takes: {shown}"
        # a stray report under the delay (a measurement that overlapped a change the prober's
        # timing did not see) is not a service that does not measure: up to a tenth allowed
        out.append(scope.judge(what, len(under) <= len(delayed) // 10, text, len(under), 0,
                               "answers", evidence=evidence))
    return out
