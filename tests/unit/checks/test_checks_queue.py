"""The queue claim: its depth gauge below the bound at every reading, judged only when the queue
was used. The end-to-end tests boot the reference stack with a private RabbitMQ and its
no-consumer variant (``tests/e2e/test_notifications.py``); these pin the verdict on recorded
readings."""

from __future__ import annotations

import pandas as pd

from gauntlet.checks.answers import Part
from gauntlet.checks.queue import queue_verdict
from gauntlet.contract import QueueClaim
from gauntlet.timeline import Event

T0 = 1_800_000_000.0


def claim(published: bool = True) -> QueueClaim:
    return QueueClaim.model_validate({
        "name": "notifications", "depth": {"name": "queue_depth"}, "below": 100,
        **({"published": {"name": "published_total"}} if published else {})})


def part(depths: list[float | None], published: list[float] | None = None,
         where: str = "") -> Part:
    events = [Event(T0 + i * 0.5, "metric.value",
                    {"target": "queue.notifications:depth", "value": v})
              for i, v in enumerate(depths)]
    events += [Event(T0 + i * 0.5, "metric.value",
                     {"target": "queue.notifications:published", "value": v})
               for i, v in enumerate(published or [])]
    return Part(where, pd.DataFrame(), frozenset(), tuple(sorted(events, key=lambda e: e.at_s)))


def test_a_short_queue_that_was_used_passes() -> None:
    verdict = queue_verdict(claim(), [part([0, 3, 12, 4, 0], [0, 10, 40, 60, 61])])
    assert verdict.passed, verdict.reason
    assert verdict.observed == 12 and "rose by 61" in verdict.reason


def test_one_reading_at_the_bound_fails_wherever_it_was_taken() -> None:
    quiet = part([0, 1, 0], [0, 5, 9])
    grown = part([10, 60, 100, 140], [0, 50, 100, 150], where="experiments/02-breaker")
    verdict = queue_verdict(claim(), [quiet, grown])
    assert verdict.failed and verdict.observed == 140
    assert "2 of 7 readings" in verdict.reason and "experiments/02-breaker" in verdict.reason


def test_an_unused_queue_is_short_by_default_so_inconclusive() -> None:
    """A check that cannot fail is a defect: nothing published is not evidence of a short
    queue."""
    verdict = queue_verdict(claim(), [part([0, 0, 0, 0], [7, 7, 7, 7])])
    assert verdict.inconclusive and "never rose" in verdict.reason
    # without a published counter, a depth that never left 0 says nothing either
    assert queue_verdict(claim(published=False), [part([0, 0, 0])]).inconclusive
    assert queue_verdict(claim(published=False), [part([0, 2, 0])]).passed


def test_a_gauge_never_exported_or_never_read_is_inconclusive() -> None:
    absent = queue_verdict(claim(), [part([None, None, None], [0, 1, 2])])
    assert absent.inconclusive and "never exported: 3 scrapes" in absent.reason
    unread = queue_verdict(claim(), [part([])])
    assert unread.inconclusive and "never read" in unread.reason


def test_a_counter_that_went_down_once_is_no_evidence_either() -> None:
    """One step down is a restart, or a balancer switching instances once ([10, 10, 1000,
    1000] would be a rise of 990 with nothing sent): either way its rise proves nothing."""
    switched = queue_verdict(claim(), [part([0, 0, 0, 0], [1000, 10, 1000, 1000])])
    assert switched.inconclusive and "set aside 1 part(s)" in switched.reason
    assert queue_verdict(claim(), [part([0, 1, 0, 1], [50, 0, 5, 8])]).passed


def test_a_restart_in_one_part_leaves_the_other_parts_evidence() -> None:
    """A verify restarts the service in its shutdown experiment: that part's counter goes down,
    and only that part is set aside. The load's clean rise still shows the queue was used (it
    used to take every part's evidence with it, leaving a healthy queue inconclusive)."""
    load = part([0, 0, 0, 0], [0, 20, 45, 70], where="load")
    restarted = part([0, 0, 0, 0], [70, 80, 0, 5], where="experiments/05-shutdown")
    verdict = queue_verdict(claim(), [load, restarted])
    assert verdict.passed, verdict.reason
    assert "rose by 70" in verdict.reason and "experiments/05-shutdown" in verdict.reason


def test_non_finite_readings_are_no_readings() -> None:
    verdict = queue_verdict(claim(), [part([float("nan"), 3, float("inf"), 0], [0, 4, 8, 9])])
    assert verdict.passed and verdict.observed == 3


def test_a_counter_read_through_a_balancer_is_no_evidence() -> None:
    """Two instances' counters, read in turn through a balancer, step up and down: their steps
    up are the other instance's total, not messages published. Only the depth can say the
    queue was used then."""
    alternating = [40, 12, 40, 12, 40, 12]
    unused = queue_verdict(claim(), [part([0, 0, 0, 0, 0, 0], alternating)])
    assert unused.inconclusive and "set aside 1 part(s)" in unused.reason
    used = queue_verdict(claim(), [part([0, 3, 1, 0, 2, 0], alternating)])
    assert used.passed and "the depth rose above 0" in used.reason


def test_a_rise_where_the_depth_was_never_read_is_no_evidence() -> None:
    """Messages published in a part whose scrapes had no depth series were never watched
    queueing: the depth readings of the other part, where nothing was published, cannot pass
    the claim on them."""
    unwatched = part([None, None, None], [0, 40, 90], where="experiments/03-breaker")
    idle = part([0, 0, 0], [90, 90, 90], where="load")
    verdict = queue_verdict(claim(), [unwatched, idle])
    assert verdict.inconclusive and "never rose while the depth was read" in verdict.reason
    watched = part([0, 2, 0], [90, 95, 99], where="experiments/04-shutdown")
    assert queue_verdict(claim(), [unwatched, idle, watched]).passed
