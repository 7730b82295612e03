"""Integrity verdict from read-back facts: lost or duplicated writes fail; nothing acknowledged
or nothing read back is inconclusive; an HTTP read-back says it cannot see duplicates."""

from __future__ import annotations

from typing import Any

from gauntlet.checks.integrity import integrity_verdict
from gauntlet.contract import IntegrityClaim

SQL = IntegrityClaim(name="orders", requests=["POST /api/orders"],
                     sql="SELECT item, count(*) FROM orders WHERE item = ANY(%(tokens)s)")
HTTP = IntegrityClaim(name="orders", requests=["POST /api/orders"], http_path="/api/orders/{id}")


def facts(**kw: Any) -> dict[str, Any]:
    return {"checked": True, "acknowledged": 10, "rows": {}, "method": "sql", "error": None, **kw}


def test_every_acknowledged_write_once_passes() -> None:
    verdict = integrity_verdict(facts(), SQL)
    assert verdict.passed and verdict.claim == "integrity.orders"
    assert verdict.name == "acknowledged writes exactly once [orders]"


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
    verdict = integrity_verdict(facts(method="http"), HTTP)
    assert verdict.passed and "not duplicates" in verdict.reason
    assert integrity_verdict(facts(method="http", rows={"a": 0}), HTTP).failed


def test_naive_service_losing_writes_fails() -> None:
    verdict = integrity_verdict(facts(rows={str(i): 0 for i in range(10)}), SQL)
    assert verdict.failed and "10 acknowledged writes LOST" in verdict.reason
