"""A hung instance left alone: the slow requests of the first failures, a quiet after them, one
retry once fail_timeout is up — from the clients' timings."""

from __future__ import annotations

from gauntlet.chaos.experiments.failover import FailoverExperiment
from gauntlet.checks.failover import failover_verdicts
from gauntlet.contract import FailoverClaim
from tests.unit.checks.factory import LIST, T0, ask, frame, run

CLAIM = FailoverClaim(name="api", link="api", requests=[LIST], max_fails=3, fail_timeout_s=10,
                      timeout_s=1)
LEFT, AGAIN = "left alone after 3 failures [api]", "tried again after 10 s [api]"


# the experiment's hang for this claim (FailoverExperiment.hang_s: 17 s), from T0 + 2.0
END = 19.0


def judged(slow_at: list[float], end: float = END) -> dict[str, str]:
    rows = [*run(0, 20, 0.02, ms=10.0, name=LIST),
            *(ask(at, 1005.0, name=LIST) for at in slow_at)]
    return {v.name: v.status for v in failover_verdicts(frame(rows), CLAIM, T0 + 2.0, T0 + end)}


def test_a_balancer_that_marks_the_instance_down_and_retries_it_passes() -> None:
    assert judged([2.0, 2.1, 2.3, 2.5, 12.9]) == {LEFT: "pass", AGAIN: "pass"}


def test_a_balancer_that_keeps_sending_it_requests_fails() -> None:
    got = judged([2.0 + i * 0.1 for i in range(100)])
    assert got[LEFT] == "fail" and got[AGAIN] == "inconclusive"


def test_one_that_never_tries_it_again_fails_the_retry() -> None:
    assert judged([2.0, 2.1, 2.3]) == {LEFT: "pass", AGAIN: "fail"}


def test_no_request_met_the_hung_instance_is_no_evidence() -> None:
    assert judged([])[LEFT] == "inconclusive"


def test_a_hang_shorter_than_fail_timeout_cannot_show_the_retry() -> None:
    assert judged([2.0, 2.1], end=8.0)[AGAIN] == "inconclusive"
    # nor one that ends before a retry counted from the last failure could show
    assert judged([2.0, 2.1, 3.0], end=15.0)[AGAIN] == "inconclusive"


def test_the_retry_is_counted_from_the_last_of_the_first_failures() -> None:
    """A CI run (d8fc248): nginx's first failures started from +0.02 to +1.03 s into the hang
    (the last one ended at +2.04 s), and it tried the instance again at +13.62 s — fail_timeout
    after the last failure, on its whole-second clock. A window around fail_timeout after the
    start of the hang (+7 to +13 s) missed it, and the good gateway failed."""
    first = [2.0 + i * 0.05 for i in range(20)] + [3.03]
    assert judged([*first, 2.0 + 13.62]) == {LEFT: "pass", AGAIN: "pass"}
    # a balancer that waits 15 s instead of the claimed 10 still fails
    assert judged([*first, 3.03 + 1.0 + 15.0]) == {LEFT: "pass", AGAIN: "fail"}


def test_the_experiment_holds_the_hang_until_a_late_retry_can_show() -> None:
    assert FailoverExperiment().hang_s(CLAIM) == END - 2.0
