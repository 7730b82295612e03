"""Status-retry verdicts from the toxic's counts: a retried status shows about one more attempt
per forged answer, one not retried none; thin or marginal phases decide nothing, and "never
retries" needs the same run to show the service retries at all."""

from __future__ import annotations

import pytest

from gauntlet.checks.retrystatus import StatusPhase, status_retry_verdicts
from gauntlet.contract import RetriesClaim
from tests.unit.checks.factory import GEN, T0, frame, run

CLAIM = RetriesClaim(name="upstream", link="upstream", requests=[GEN], attempts=3,
                     initial_s=0.2, max_s=1.0, call_timeout_s=1,
                     retry_statuses=[503], no_retry_statuses=[400])
SAMPLES = frame(run(0, 30, 0.01, ms=0.0))  # 100 requests a second for 30 s, ending at once
RETRY_503, NEVER_400 = "retries 503 answers [upstream]", "never retries 400 answers [upstream]"


def phase(status: int, start: float, end: float, answers: int, forged: int) -> StatusPhase:
    return StatusPhase(status, T0 + start, T0 + end, answers, forged)


def judge(*phases: StatusPhase, claim: RetriesClaim = CLAIM) -> dict[str, tuple[str, str]]:
    return {v.name: (v.status, v.reason)
            for v in status_retry_verdicts(SAMPLES, list(phases), claim)}


# baseline: 400 requests, 440 answers (1.1 per request: the link carries a probe's too)
BASE = phase(0, 0, 4, 440, 0)


def test_a_service_that_retries_503_and_not_400_passes_both() -> None:
    # 10 s of 503 phase: 1000 requests → 1100 answers expected, 200 forged, 195 retried
    # 10 s of 400 phase: 1100 expected, 220 forged, none retried
    got = judge(BASE, phase(503, 4, 14, 1295, 200), phase(400, 14, 24, 1102, 220))
    assert got[RETRY_503][0] == "pass", got
    assert "0.97 retries per forged answer" in got[RETRY_503][1]
    assert got[NEVER_400][0] == "pass", got


def test_a_service_that_retries_nothing_fails_503_and_shows_nothing_on_400() -> None:
    got = judge(BASE, phase(503, 4, 14, 1100, 220), phase(400, 14, 24, 1100, 220))
    assert got[RETRY_503][0] == "fail", got
    assert got[NEVER_400][0] == "inconclusive", got
    assert "retried none of the statuses it claims to retry (503)" in got[NEVER_400][1]


def test_a_service_that_retries_every_status_fails_400() -> None:
    got = judge(BASE, phase(503, 4, 14, 1300, 200), phase(400, 14, 24, 1310, 200))
    assert got[RETRY_503][0] == "pass"
    assert got[NEVER_400][0] == "fail" and "they were retried" in got[NEVER_400][1]


def test_a_ratio_between_the_bounds_is_marginal() -> None:
    got = judge(BASE, phase(503, 4, 14, 1170, 200), phase(400, 14, 24, 1100, 200))
    assert got[RETRY_503][0] == "inconclusive" and "marginal" in got[RETRY_503][1]


@pytest.mark.parametrize(("phases", "lacked"), [
    ((phase(0, 0, 4, 0, 0), phase(503, 4, 14, 0, 0), phase(400, 14, 24, 0, 0)),
     "the link is not on their path"),
    ((phase(0, 0, 0.2, 22, 0), phase(503, 4, 14, 1300, 200), phase(400, 14, 24, 1100, 200)),
     "the baseline had 20 requests"),
    ((BASE, phase(503, 4, 14, 1110, 10), phase(400, 14, 24, 1100, 10)),
     "only 10 answers were forged 503"),
    ((BASE,), "no phase forged 503 answers"),
])
def test_without_evidence_every_verdict_is_inconclusive(phases: tuple[StatusPhase, ...],
                                                        lacked: str) -> None:
    got = judge(*phases)
    assert [status for status, _ in got.values()] == ["inconclusive", "inconclusive"], got
    assert lacked in got[RETRY_503][1]


def test_phases_read_back_from_the_run_record() -> None:
    one = phase(503, 4, 14, 1295, 200)
    assert StatusPhase.from_dict(one.as_dict()) == one


# --- Retry-After -------------------------------------------------------------------------

WAITS = "waits the Retry-After of a 503 before retrying [upstream]"
WAITING = RetriesClaim(name="upstream", link="upstream", requests=[GEN], attempts=3,
                       initial_s=0.2, max_s=1.0, call_timeout_s=1, retry_statuses=[503],
                       retry_after=True)


def with_slow(slow_at: list[float], ms: float) -> list[dict[str, object]]:
    """Requests every 10 ms for 30 s at 0 ms, and ones that took ``ms`` starting at each of
    ``slow_at`` (offsets in s)."""
    return [*run(0, 30, 0.01, ms=0.0), *(r for at in slow_at for r in run(at, at + 0.01, 0.01,
                                                                         ms=ms))]


def judge_after(rows: list[dict[str, object]], control_answers: int = 1295,
                retried: int = 95) -> tuple[str, str]:
    """The Retry-After phase's answers: 1.1 per request that ended in it, and ``retried``
    more (the retries of its 100 forged answers)."""
    ends = [r["at"] + r["ms"] / 1000 for r in rows]  # type: ignore[operator]
    ran = sum(1 for e in ends if 14 <= e < 26)
    phases = [BASE, phase(503, 4, 14, control_answers, 200),
              StatusPhase(503, T0 + 14, T0 + 26, round(1.1 * ran) + retried, 100,
                          retry_after_s=1)]
    verdicts = {v.name: v for v in status_retry_verdicts(frame(rows), phases, WAITING)}
    return verdicts[WAITS].status, verdicts[WAITS].reason


def test_a_service_that_waits_the_retry_after_passes() -> None:
    # 90 of the 100 forged answers' requests took the 1 s asked (ending inside the phase)
    status, reason = judge_after(with_slow([14 + i * 0.1 for i in range(90)], 1100.0))
    assert status == "pass", reason
    assert "0.90 waited per forged answer" in reason


def test_a_service_that_retries_at_its_own_backoff_fails() -> None:
    status, reason = judge_after(with_slow([], 0.0))
    assert status == "fail" and "retried sooner than asked" in reason


def test_a_backoff_as_long_as_the_ask_shows_nothing() -> None:
    # the control phase (no header) is as slow: the measure cannot tell
    # (400 more requests in it: 440 more answers for the same retried ratio)
    status, reason = judge_after(with_slow([4 + i * 0.02 for i in range(400)], 1100.0),
                                 control_answers=1735)
    assert status == "inconclusive" and "backoff alone" in reason


def test_a_service_that_gives_up_instead_of_waiting_is_not_failed() -> None:
    status, reason = judge_after(with_slow([], 0.0), retried=0)
    assert status == "inconclusive" and "gave up instead of waiting" in reason


def test_fewer_attempts_than_the_baseline_count_for_nothing() -> None:
    """A CI run on a starved host (the ledger, which retries 503): "31 of 169 answers forged
    503 while 217 requests ran: -47 attempts more than the baseline's 1.00 per request, -1.52
    retries per forged answer" — a FAIL, though no service, retrying or not, makes fewer
    attempts than requests: the phase's requests never reached the dependency as before (its
    breaker opened on the forged answers, or they ended before their call). Inconclusive."""
    got = judge(BASE, phase(503, 4, 14, 800, 200), phase(400, 14, 24, 790, 200))
    assert got[RETRY_503][0] == "inconclusive", got
    assert "fewer attempts than the baseline" in got[RETRY_503][1]
    assert got[NEVER_400][0] == "inconclusive", got  # nor a pass on a count that says nothing
