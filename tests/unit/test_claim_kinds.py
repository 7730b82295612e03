"""Claim kinds are registered by the modules that define them; ``[claims]`` is built from what
is registered, and every generic question the harness asks of a claim goes through its model."""

from __future__ import annotations

from pathlib import Path

import pytest

from gauntlet.contract import (
    BreakerClaim,
    Claim,
    PoolClaim,
    claim_kinds,
    kind_of,
    load_contract,
    parse_contract,
)
from gauntlet.contract.claim import stated_numbers
from gauntlet.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = sorted([ROOT / "stack" / "contract.toml", *(ROOT / "contracts").rglob("*.toml"),
                    *(ROOT / "tests" / "services").rglob("contract*.toml")])
# what the claims table left out of every kind before kinds said it themselves
OLD_WIRING = frozenset({
    "name", "link", "requests", "metric", "open_answer", "exempt", "key", "status",
    "store_link", "service", "pid_file", "command", "inflight_link", "sql", "http_path",
    "path", "header", "markers", "key_header", "retry_after_header", "inflight_ms",
    "degraded", "acknowledged"})


def test_gauntlets_kinds_are_found_by_module_in_contract_order() -> None:
    assert [k.key for k in claim_kinds()][:17] == [
        "breaker", "retries", "rate_limit", "connection_limit", "shutdown", "failover",
        "health", "deadline", "pool", "integrity", "realtime", "affinity", "header", "logs",
        "probe", "queue", "stated"]
    found = kind_of("breaker")
    assert found is not None and found.model is BreakerClaim and BreakerClaim.kind == "breaker"


def test_typed_access_by_model() -> None:
    contract = load_contract(ROOT / "stack" / "contract.toml")
    breakers = contract.claims.of(BreakerClaim)
    assert [b.id for b in breakers] == ["breaker.upstream"]
    assert all(isinstance(c, Claim) for c in contract.claims.all())
    assert contract.claims.of(PoolClaim)[0].answer_markers() == {
        "pool.postgres": contract.claims.of(PoolClaim)[0].answer}


def test_an_unknown_kind_is_an_unknown_key() -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'claims.brekaer'"):
        parse_contract({"name": "c", "claims": {"brekaer": [{"name": "x"}]}})


@pytest.mark.parametrize("path", CONTRACTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_each_kinds_wiring_states_what_the_table_always_stated(path: Path) -> None:
    for claim in load_contract(path).claims.all():
        if claim.statement() is not None:
            continue
        dumped = claim.model_dump(mode="json", by_alias=True)
        assert claim.stated_numbers() == stated_numbers(dumped, OLD_WIRING), claim.id
