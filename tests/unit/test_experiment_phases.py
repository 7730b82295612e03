"""Phase lengths an experiment derives from the contract (pure: no stack)."""

from __future__ import annotations

from pathlib import Path

from gauntlet.contract import BreakerClaim, load_contract

ROOT = Path(__file__).resolve().parents[2]


def test_a_dependency_outage_settles_only_once_its_breaker_may_have_closed() -> None:
    stack = load_contract(ROOT / "stack" / "contract.toml")
    assert stack.holds_after_s("postgres") == 0.0  # no breaker on the database link
    [upstream] = [c for c in stack.claims.of(BreakerClaim) if c.name == "upstream"]
    assert stack.holds_after_s("upstream") == upstream.open_s + upstream.call_s + 2.0
    langsense = load_contract(ROOT / "contracts" / "seeds" / "langsense.toml")
    # LangSense's database breaker stays open 60 s after PostgreSQL is back
    assert langsense.holds_after_s("postgres") == 60 + 6 + 2.0
