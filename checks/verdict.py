"""A verdict: what a check concluded, with the evidence a person needs to act on it.

Three outcomes. A verdict *passes* or *fails* only when the evidence it needs occurred; when it
did not (no 429 was ever answered, readiness never left 200, the breaker never opened), it is
*inconclusive* and names the evidence it lacked — never a pass. A measured value that sits
within the measurement's resolution of its bound is *marginal*: inconclusive too, flagged, so a
verdict does not flip between pass and fail from run to run on noise.

Verdicts are produced by pure functions (samples, events, claim → Verdict): no I/O, no clock,
no globals, so they are tested on synthetic data and re-computed from a run dir at will.

    Verdict.judge("breaker", "opens", took <= bound, f"opened after {took:.2f} s", took, bound)
    Verdict.inconclusive("ratelimit", "other keys unaffected",
                         "no request was ever answered 429, so isolation was not exercised")
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from gauntlet.latency import CONFIDENCE, QuantileBounds, min_samples_for

__all__ = ["CONFIDENCE", "OUTCOMES", "Outcome", "QuantileBounds", "Verdict", "all_passed",
           "count", "min_samples_for", "quantile_within", "undecidable", "within"]

Outcome = Literal["pass", "fail", "inconclusive"]
OUTCOMES: tuple[Outcome, ...] = ("pass", "fail", "inconclusive")


@dataclass(frozen=True)
class Verdict:
    """``observed`` and ``threshold`` are what the reason speaks of, as numbers where possible.

    ``status`` may be given as a bool (True pass, False fail) for brevity; it is stored as one
    of :data:`OUTCOMES`. ``claim`` names the claim instance judged (``breaker.upstream``).
    """

    check: str
    name: str
    status: Outcome
    reason: str
    observed: float | str | None = None
    threshold: float | str | None = None
    unit: str = ""
    unreliable: bool = False
    marginal: bool = False
    claim: str = ""
    evidence: str = field(default="")  # the evidence this verdict needs, in words

    def __post_init__(self) -> None:
        raw: object = self.status
        if isinstance(raw, bool):
            object.__setattr__(self, "status", "pass" if raw else "fail")
        elif raw not in OUTCOMES:
            raise ValueError(f"verdict status must be one of {OUTCOMES}, not {raw!r}")

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    @property
    def failed(self) -> bool:
        return self.status == "fail"

    @property
    def inconclusive(self) -> bool:
        return self.status == "inconclusive"

    @classmethod
    def judge(cls, check: str, name: str, passed: bool, reason: str,
              observed: float | str | None = None, threshold: float | str | None = None,
              unit: str = "", **extra: Any) -> Verdict:
        return cls(check, name, "pass" if passed else "fail", reason, observed, threshold, unit,
                   **extra)

    @classmethod
    def missing(cls, check: str, name: str, lacked: str,
                threshold: float | str | None = None, unit: str = "", **extra: Any) -> Verdict:
        """Inconclusive: ``lacked`` says which evidence never occurred, and so what was not
        exercised."""
        return cls(check, name, "inconclusive", lacked, None, threshold, unit, **extra)

    def with_claim(self, claim: str) -> Verdict:
        return Verdict(**{**asdict(self), "claim": claim})

    def as_inconclusive(self, reason: str) -> Verdict:
        """This verdict, demoted: its evidence cannot be trusted (e.g. no steady state)."""
        if self.status == "inconclusive":
            return self
        return Verdict(**{**asdict(self), "status": "inconclusive",
                          "reason": f"{reason} (measured: {self.reason})"})

    def noting(self, note: str) -> Verdict:
        """This verdict with ``note`` appended to its reason (e.g. what an experiment tried
        for the evidence an inconclusive verdict lacked)."""
        return Verdict(**{**asdict(self), "reason": f"{self.reason}; {note}"})

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["passed"] = self.passed
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        known = set(cls.__dataclass_fields__)
        values = {k: v for k, v in data.items() if k in known}
        if "status" not in values and "passed" in data:  # run dirs written before 'inconclusive'
            values["status"] = "pass" if data["passed"] else "fail"
        return cls(**values)


def within(observed: float, bound: float, resolution: float, *, upper: bool = True
           ) -> tuple[Outcome, bool]:
    """Compare a measured value with its bound at the measurement's resolution.

    Returns the outcome and whether it is marginal: a value within ``resolution`` of the bound
    cannot be told apart from it, so it is inconclusive (marginal), not a coin-flip pass/fail.
    ``upper``: the bound is a maximum (observed ≤ bound passes); else a minimum.
    """
    if abs(observed - bound) <= resolution:
        return "inconclusive", True
    ok = observed <= bound if upper else observed >= bound
    return ("pass" if ok else "fail"), False


def quantile_within(estimate: QuantileBounds, bound: float) -> tuple[Outcome, bool]:
    """Judge a percentile of a sample against the upper ``bound`` its population must keep,
    with the percentile's sampling uncertainty (:func:`gauntlet.latency.rank_bounds`).

    Pass when even the interval's upper limit is within the bound, fail when even its lower
    limit is beyond it; an interval that straddles the bound is marginal (inconclusive): the
    sample cannot tell the service's percentile from the bound, and calling it either way
    would be a coin flip from run to run. A population too small for an upper limit
    (:func:`undecidable`) can still fail, never pass; it is inconclusive but not marginal (its
    reason says how many requests it lacked). Returns the outcome and whether it is marginal.

        outcome, marginal = quantile_within(quantile_bounds(latencies, 95), 500.0)
    """
    if estimate.count == 0:
        return "inconclusive", False
    if estimate.high_ms is not None and estimate.high_ms <= bound:
        return "pass", False
    if estimate.low_ms is not None and estimate.low_ms > bound:
        return "fail", False
    return "inconclusive", estimate.high_ms is not None


def undecidable(estimate: QuantileBounds, what: str = "requests") -> str:
    """The reason of a percentile verdict whose population is too small to pass at all:
    ``"undecidable: 40 requests, a p95 needs at least 72"``."""
    return (f"undecidable: {estimate.count} {what}, a {estimate.label} needs at least "
            f"{estimate.needed} (its {estimate.confidence * 100:g} % upper confidence limit "
            "lies beyond the slowest of them)")


def count(verdicts: list[Verdict]) -> dict[Outcome, int]:
    out: dict[Outcome, int] = {o: 0 for o in OUTCOMES}
    for v in verdicts:
        out[v.status] += 1
    return out


def all_passed(verdicts: list[Verdict]) -> bool:
    return bool(verdicts) and all(v.passed for v in verdicts)
