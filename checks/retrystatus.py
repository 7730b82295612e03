"""Status retries: which of an HTTP dependency's answers the service retries, counted at the
dependency.

The experiment forges a share of the dependency's answers on the claim's link (the
``http_status`` toxic, docs/faults.md) with one status at a time, and reads from the toxic how
many answers passed and how many it forged, phase by phase. A retried answer is one more
request at the dependency; an answer not retried is none. So, with ``r0`` the dependency's
answers per claimed request in the baseline phase (no answer forged):

    extra attempts = answers in the phase - r0 * claimed requests in the phase
    retries per forged answer = extra attempts / forged answers

about 1 for a retried status (every forged answer was followed by another attempt; less only
when it was the last attempt allowed), about 0 for one not retried. Between
:data:`NOT_RETRIED_MAX` and :data:`RETRIED_MIN` the phase decides nothing: "marginal",
inconclusive. Fewer than :data:`MIN_FORGED` forged answers, or a baseline without answers on
the link, is no evidence at all; nor is a phase with fewer attempts than the baseline's rate
(below :data:`FEWER_MIN`: a breaker opened on the forged answers, or requests ended before
their call), which neither a service that retries nor one that does not can produce.

"Never retries X" passes only beside evidence that the service does retry: one of the claim's
retried statuses was retried in the same run. A service that retries nothing also never
retries a 400, and that shows nothing about the claim.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from gauntlet.checks.verdict import Verdict
from gauntlet.checks.windows import Scope, of_requests
from gauntlet.contract import RetriesClaim

CHECK = "retry_statuses"
MIN_BASE_REQUESTS = 30
MIN_FORGED = 30
RETRIED_MIN = 0.5  # retries per forged answer at or above: retried
NOT_RETRIED_MAX = 0.25  # at or below: not retried
# below this, fewer attempts reached the dependency than the baseline's rate: no count at all
FEWER_MIN = -NOT_RETRIED_MAX


def retried_name(status: int) -> str:
    return f"retries {status} answers"


def not_retried_name(status: int) -> str:
    return f"never retries {status} answers"


@dataclass(frozen=True)
class StatusPhase:
    """One phase of the experiment: ``status`` forged (0: none, the baseline) from ``start_s``
    to ``end_s`` (the timeline's clock, settle time included), with the toxic's counts over
    it."""

    status: int
    start_s: float
    end_s: float
    answers: int
    forged: int
    retry_after_s: int = 0  # the Retry-After the forged answers carried (0: none)

    def as_dict(self) -> dict[str, float | int]:
        return {"status": self.status, "start_s": self.start_s, "end_s": self.end_s,
                "answers": self.answers, "forged": self.forged,
                "retry_after_s": self.retry_after_s}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> StatusPhase:
        return cls(int(raw["status"]), float(raw["start_s"]), float(raw["end_s"]),
                   int(raw["answers"]), int(raw["forged"]), int(raw.get("retry_after_s", 0)))


def _requests_in(df: pd.DataFrame, phase: StatusPhase) -> int:
    """The claimed requests that *ended* in the phase: a request's call to the dependency is
    answered just before it ends, so its answer was counted in the same phase (by start time,
    the requests in flight at each edge made the count off by several)."""
    ends = df["t_start_s"] + df["latency_ms"] / 1000.0
    return int(((ends >= phase.start_s) & (ends < phase.end_s)).sum())


def status_retry_verdicts(samples: pd.DataFrame, phases: Sequence[StatusPhase],
                          claim: RetriesClaim) -> list[Verdict]:
    """One verdict per status the claim names, from the phases the experiment recorded (the
    baseline first)."""
    scope = Scope(CHECK, "retries", claim.name)
    names = ", ".join(claim.requests)
    evidence = (f"the dependency's answers on {claim.link} per request of {names}, with and "
                "without forged answers of the status (counted by the http_status toxic)")
    wanted = [(s, retried_name(s), True) for s in claim.retry_statuses] + \
        [(s, not_retried_name(s), False) for s in claim.no_retry_statuses]
    df = of_requests(samples, claim.requests)
    base = next((p for p in phases if p.status == 0), None)
    base_requests = _requests_in(df, base) if base is not None else 0
    if base is None or base_requests < MIN_BASE_REQUESTS or base.answers == 0:
        lacked = ("no baseline phase was recorded" if base is None else
                  f"the baseline had {base_requests} requests of {names} (need "
                  f"{MIN_BASE_REQUESTS}) and {base.answers} answers on {claim.link}"
                  + (": the link is not on their path" if base.answers == 0 else ""))
        return [scope.missing(what, lacked, evidence=evidence) for _, what, _ in wanted] + (
            [scope.missing(retry_after_name(claim.retry_statuses[0]), lacked,
                           evidence=evidence)] if claim.retry_after else [])
    per_request = base.answers / base_requests
    measured: dict[int, tuple[float, str] | str] = {}
    for phase in phases:
        if phase.status == 0 or phase.retry_after_s:
            continue
        requests = _requests_in(df, phase)
        extra = phase.answers - per_request * requests
        if phase.forged < MIN_FORGED:
            measured[phase.status] = (f"only {phase.forged} answers were forged {phase.status} "
                                      f"(need {MIN_FORGED}) among {phase.answers}")
            continue
        ratio = extra / phase.forged
        measured[phase.status] = (ratio, (
            f"{phase.forged} of {phase.answers} answers forged {phase.status} while {requests} "
            f"requests ran: {extra:.0f} attempts more than the baseline's {per_request:.2f} "
            f"per request, {ratio:.2f} retries per forged answer"))
    out: list[Verdict] = []
    retried_any = any(isinstance(m, tuple) and m[0] >= RETRIED_MIN
                      for s, m in measured.items() if s in claim.retry_statuses)
    for status, what, should_retry in wanted:
        found = measured.get(status)
        if found is None:
            out.append(scope.missing(what, f"no phase forged {status} answers", evidence=evidence))
            continue
        if isinstance(found, str):
            out.append(scope.missing(what, found, evidence=evidence))
            continue
        ratio, text = found
        threshold = f"≥ {RETRIED_MIN}" if should_retry else f"≤ {NOT_RETRIED_MAX}"
        if ratio < FEWER_MIN:
            # fewer attempts than the baseline's rate: the phase's requests did not reach the
            # dependency as before (a breaker opened on the forged answers, or requests ended
            # before their call on a starved host), so the count says nothing of retries
            out.append(scope.verdict(what, "inconclusive", f"{text}: fewer attempts than the "
                                     "baseline, so the phase's requests did not reach the "
                                     f"dependency as before (a breaker open, or requests cut "
                                     f"short): below {FEWER_MIN}", round(ratio, 3), threshold,
                                     "retries/answer", evidence=evidence, marginal=True))
        elif NOT_RETRIED_MAX < ratio < RETRIED_MIN:
            out.append(scope.verdict(what, "inconclusive", f"{text}: marginal, between "
                                     f"{NOT_RETRIED_MAX} and {RETRIED_MIN}", round(ratio, 3),
                                     threshold, "retries/answer", evidence=evidence,
                                     marginal=True))
        elif should_retry:
            out.append(scope.judge(what, ratio >= RETRIED_MIN, text, round(ratio, 3), threshold,
                                   "retries/answer", evidence=evidence))
        elif ratio >= RETRIED_MIN:
            out.append(scope.judge(what, False, f"{text}: they were retried", round(ratio, 3),
                                   threshold, "retries/answer", evidence=evidence))
        elif not retried_any:
            out.append(scope.missing(
                what, f"{text}, but the service retried none of the statuses it claims to "
                f"retry ({', '.join(map(str, claim.retry_statuses)) or 'none claimed'}), so "
                "not retrying this one shows nothing", threshold, "retries/answer",
                evidence=evidence))
        else:
            out.append(scope.judge(what, True, text, round(ratio, 3), threshold,
                                   "retries/answer", evidence=evidence))
    if claim.retry_after:
        out.append(retry_after_verdict(df, phases, claim, measured, scope, per_request))
    return out


def retry_after_name(status: int) -> str:
    return f"waits the Retry-After of a {status} before retrying"


def _slow(df: pd.DataFrame, phase: StatusPhase, seconds: float) -> tuple[int, int]:
    """(requests that ended in the phase, those of them that took at least ``seconds``)."""
    ends = df["t_start_s"] + df["latency_ms"] / 1000.0
    within = df[((ends >= phase.start_s) & (ends < phase.end_s)).to_numpy(bool)]
    return len(within), int((within["latency_ms"].to_numpy() >= seconds * 1000.0).sum())


def retry_after_verdict(df: pd.DataFrame, phases: Sequence[StatusPhase], claim: RetriesClaim,
                        measured: Mapping[int, tuple[float, str] | str], scope: Scope,
                        per_request: float) -> Verdict:
    """Each forged answer carrying ``Retry-After: N`` delays its request by at least N s when
    the service waits it before retrying: the requests that took N s or more, beyond those that
    did in the same status's phase without the header (the control), per forged answer.

    About 1 is waited, about 0 is not (the backoff alone came sooner); between
    :data:`NOT_RETRIED_MAX` and :data:`RETRIED_MIN`, marginal."""
    status = claim.retry_statuses[0]
    what = retry_after_name(status)
    evidence = (f"requests of a phase whose forged {status} answers carried Retry-After, "
                "against the phase without it")
    phase = next((p for p in phases if p.status == status and p.retry_after_s), None)
    control = next((p for p in phases if p.status == status and not p.retry_after_s), None)
    retried = measured.get(status)
    if phase is None or control is None:
        return scope.missing(what, "no phase forged the answers with Retry-After and without",
                             evidence=evidence)
    if not isinstance(retried, tuple) or retried[0] < RETRIED_MIN:
        return scope.missing(what, f"{status} was not shown retried, so no Retry-After could "
                             "be waited before a retry", evidence=evidence)
    if phase.forged < MIN_FORGED:
        return scope.missing(what, f"only {phase.forged} answers were forged {status} with "
                             f"Retry-After (need {MIN_FORGED})", evidence=evidence)
    wait_s = 0.9 * phase.retry_after_s
    ran, slow = _slow(df, phase, wait_s)
    ran_c, slow_c = _slow(df, control, wait_s)
    if not ran or not ran_c:
        return scope.missing(what, "no request ended in the phase and its control",
                             evidence=evidence)
    if slow_c / ran_c > NOT_RETRIED_MAX:
        return scope.missing(what, f"{slow_c} of {ran_c} requests took {wait_s:g} s or more "
                             f"without Retry-After: the backoff alone is as long as the "
                             f"{phase.retry_after_s} s asked", evidence=evidence)
    attempts = (phase.answers - per_request * ran) / phase.forged
    if attempts <= NOT_RETRIED_MAX:
        # no retry came in the phase at all: the service gave up rather than wait (its call
        # budget may be shorter than the pause asked) — not honoured, not ignored either
        return scope.missing(what, f"{phase.forged} answers forged {status} with Retry-After: "
                             f"{phase.retry_after_s} were not retried ({attempts:.2f} attempts "
                             f"more per forged answer): the service gave up instead of "
                             f"waiting, perhaps its budget is shorter than the pause asked",
                             evidence=evidence)
    extra = slow - slow_c * ran / ran_c
    ratio = extra / phase.forged
    text = (f"{phase.forged} answers forged {status} with Retry-After: {phase.retry_after_s}; "
            f"{slow} of {ran} requests took {wait_s:g} s or more ({slow_c} of {ran_c} without "
            f"the header): {ratio:.2f} waited per forged answer")
    threshold = f"≥ {RETRIED_MIN}"
    if NOT_RETRIED_MAX < ratio < RETRIED_MIN:
        return scope.verdict(what, "inconclusive", f"{text}: marginal", round(ratio, 3),
                             threshold, "waits/answer", evidence=evidence, marginal=True)
    return scope.judge(what, ratio >= RETRIED_MIN, text + ("" if ratio >= RETRIED_MIN else
                       ": retried sooner than asked"), round(ratio, 3), threshold,
                       "waits/answer", evidence=evidence)
