"""Phase lengths an experiment derives from the contract (pure: no stack)."""

from __future__ import annotations

from pathlib import Path

from gauntlet.chaos.experiments.base import breaker_hold_s
from gauntlet.contract import load_contract

ROOT = Path(__file__).resolve().parents[2]


def test_a_dependency_outage_settles_only_once_its_breaker_may_have_closed() -> None:
    stack = load_contract(ROOT / "stack" / "contract.toml")
    assert breaker_hold_s(stack, "postgres") == 0.0  # no breaker on the database link
    upstream = stack.claims.find("breaker", "upstream")
    assert breaker_hold_s(stack, "upstream") == upstream.open_s + upstream.call_s + 2.0  # type: ignore[attr-defined]
    langsense = load_contract(ROOT / "contracts" / "seeds" / "langsense.toml")
    # LangSense's database breaker stays open 60 s after PostgreSQL is back
    assert breaker_hold_s(langsense, "postgres") == 60 + 6 + 2.0
