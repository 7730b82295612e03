"""Connections in flight per address: over the limit refused with its status, held requests as
the evidence that anything was in flight together, another address unaffected."""

from __future__ import annotations

from gauntlet.checks.connlimit import BYSTANDER, OVER, connlimit_verdicts
from gauntlet.contract import ConnectionLimitClaim
from tests.unit.checks.factory import ask, frame

CLAIM = ConnectionLimitClaim.model_validate({"name": "per-address", "limit": 10,
                                             "requests": ["GET /health/live"], "link": "api"})
NAME = "GET /health/live"


def over(admitted: int, refused: int, held_ms: float = 2000.0) -> list[dict[str, object]]:
    return ([ask(1.0, held_ms, 200, NAME, phase=OVER, seq=i) for i in range(admitted)]
            + [ask(1.0, 3.0, 503, NAME, phase=OVER, seq=admitted + i) for i in range(refused)])


def bystander(status: int = 200) -> list[dict[str, object]]:
    return [ask(1.3, 2000.0, status, NAME, phase=BYSTANDER, seq=i) for i in range(3)]


def judged(*rows: list[dict[str, object]]) -> dict[str, str]:
    return {v.name.split(" [")[0]: v.status
            for v in connlimit_verdicts(frame(*rows), CLAIM, 2000.0)}


LIMIT = "requests over 10 in flight refused with 503"
OTHERS = "other addresses unaffected"


def test_the_limit_held_and_the_rest_refused_passes() -> None:
    assert judged(over(10, 5), bystander()) == {LIMIT: "pass", OTHERS: "pass"}


def test_no_limit_or_a_higher_one_fails() -> None:
    got = judged(over(15, 0), bystander())
    assert got[LIMIT] == "fail"
    assert got[OTHERS] == "inconclusive"  # nobody refused: another served shows nothing


def test_a_lower_limit_than_claimed_fails() -> None:
    assert judged(over(5, 10), bystander())[LIMIT] == "fail"


def test_requests_never_held_in_flight_prove_nothing() -> None:
    assert judged(over(15, 0, held_ms=20.0), bystander())[LIMIT] == "inconclusive"


def test_too_few_sent_is_inconclusive() -> None:
    assert judged(over(8, 0), bystander())[LIMIT] == "inconclusive"


def test_another_address_refused_fails_and_none_sent_is_inconclusive() -> None:
    assert judged(over(10, 5), bystander(503))[OTHERS] == "fail"
    assert judged(over(10, 5))[OTHERS] == "inconclusive"


def test_a_late_answer_of_the_status_is_not_the_limiter() -> None:
    late = [ask(1.0, 2100.0, 503, NAME, phase=OVER, seq=100 + i) for i in range(5)]
    got = judged([*over(10, 0), *late], bystander())
    assert got[LIMIT] == "fail"  # nothing refused at once
