"""Integrity verdict from read-back facts: lost or duplicated writes fail; nothing acknowledged
or nothing read back is inconclusive; an HTTP read-back says it cannot see duplicates."""

from __future__ import annotations

from typing import Any

from gauntlet.checks.integrity import integrity_verdict
from gauntlet.checks.windows import Window
from gauntlet.contract import IntegrityClaim
from tests.unit.checks.factory import CREATE, T0, ask, frame

SQL = IntegrityClaim(name="orders", requests=["POST /api/orders"],
                     sql="SELECT item, count(*) FROM orders WHERE item = ANY(%(tokens)s)")
HTTP = IntegrityClaim(name="orders", requests=["POST /api/orders"], http_path="/api/orders/{id}")


# ten acknowledged writes, one every half second from 0 s; the fault acts from 2 s to 3 s
WRITES = frame([ask(0.5 * i, 100, 201, CREATE, token=f"t{i}") for i in range(10)])
FAULT = [Window(T0 + 2.0, T0 + 3.0)]


def facts(**kw: Any) -> dict[str, Any]:
    return {"checked": True, "acknowledged": 10, "rows": {}, "method": "sql", "error": None, **kw}


def test_every_acknowledged_write_once_passes() -> None:
    verdict = integrity_verdict(facts(), SQL, WRITES, FAULT)
    assert verdict.passed and verdict.claim == "integrity.orders"
    assert verdict.name == "acknowledged writes exactly once [orders]"
    assert "2 of them in flight while the fault acted" in verdict.reason


def test_writes_the_fault_never_touched_are_no_evidence() -> None:
    """Old code: every acknowledged write read back once passed, though no write was in
    flight while the fault acted — the fault had nothing to lose or duplicate."""
    before = [Window(T0 + 20.0, T0 + 25.0)]
    verdict = integrity_verdict(facts(), SQL, WRITES, before)
    assert verdict.inconclusive and "the fault never touched a write" in verdict.reason
    assert integrity_verdict(facts(), SQL, WRITES, []).inconclusive  # no fault recorded
    assert integrity_verdict(facts(), SQL).inconclusive  # no samples to say so
    # a lost write is a defect whenever it happened
    assert integrity_verdict(facts(rows={"t0": 0}), SQL, WRITES, before).failed


def test_acknowledged_during_counts_writes_in_flight_in_a_window() -> None:
    from gauntlet.checks.integrity import acknowledged_during

    refused = frame([ask(2.5, 10, 503, CREATE, token="r"), ask(2.6, 10, 201, CREATE),
                     ask(2.7, 10, 201, CREATE, token="ok")])
    assert acknowledged_during(refused, SQL, FAULT) == 1  # unacknowledged, tokenless: no
    assert acknowledged_during(WRITES, SQL, FAULT) == 2  # 2.0 and 2.5 s
    assert acknowledged_during(WRITES, SQL, [Window(T0 + 1.55, T0 + 1.7)]) == 1  # its end
    assert acknowledged_during(WRITES, SQL, [Window(T0 + 1.6, T0 + 2.0)]) == 0  # in between


def test_lost_and_duplicated_writes_fail() -> None:
    lost = integrity_verdict(facts(rows={"a": 0}), SQL)
    dup = integrity_verdict(facts(rows={"b": 2}), SQL)
    assert lost.failed and "LOST" in lost.reason
    assert dup.failed and "DUPLICATED" in dup.reason


def test_nothing_read_back_or_acknowledged_is_inconclusive() -> None:
    unread = integrity_verdict(facts(checked=False, error="no database_url"), SQL)
    assert unread.inconclusive and "no database_url" in unread.reason
    assert integrity_verdict(None, SQL).inconclusive
    assert integrity_verdict(facts(acknowledged=0), SQL).inconclusive


def test_http_read_back_passes_saying_it_cannot_see_duplicates() -> None:
    verdict = integrity_verdict(facts(method="http"), HTTP, WRITES, FAULT)
    assert verdict.passed and "not duplicates" in verdict.reason
    assert integrity_verdict(facts(method="http", rows={"a": 0}), HTTP).failed


def test_naive_service_losing_writes_fails() -> None:
    verdict = integrity_verdict(facts(rows={str(i): 0 for i in range(10)}), SQL)
    assert verdict.failed and "10 acknowledged writes LOST" in verdict.reason
