"""The status-retry experiment's plan from the contract alone: which claims it runs for, and
the share of answers it forges (under any breaker on the same link, so the forged failures
never open it)."""

from __future__ import annotations

from pathlib import Path

from gauntlet.chaos.experiments.retrystatus import (
    MAX_SHARE,
    RetryStatusExperiment,
    forged_share,
)
from gauntlet.contract import RetriesClaim, load_contract

ROOT = Path(__file__).resolve().parents[2]


def test_it_runs_for_claims_that_name_statuses_only() -> None:
    experiment = RetryStatusExperiment()
    assert list(experiment.targets(load_contract(ROOT / "stack" / "contract.toml"))) == [
        "upstream"]  # the postgres retries claim names none
    assert experiment.targets(load_contract(ROOT / "contracts" / "quick.toml")) == {}


def test_the_share_stays_under_a_third_of_the_links_breaker_rate() -> None:
    contract = load_contract(ROOT / "stack" / "contract.toml")
    claim = contract.claims.find("retries", "upstream")
    assert isinstance(claim, RetriesClaim)
    assert forged_share(claim, contract, None) == 0.5 / 3  # breaker.upstream: 50 %
    assert forged_share(claim, contract, 0.1) == 0.1
    ledger = load_contract(ROOT / "tests" / "services" / "ledger" / "contract.toml")
    pricing = ledger.claims.find("retries", "pricing")
    assert isinstance(pricing, RetriesClaim)
    assert forged_share(pricing, ledger, None) <= MAX_SHARE


def test_it_settles_for_the_backoff_and_a_call_but_not_for_ever() -> None:
    experiment = RetryStatusExperiment()
    contract = load_contract(ROOT / "stack" / "contract.toml")
    assert experiment.settle_s(contract.claims.find("retries", "upstream")) == 2.5
    seed = load_contract(ROOT / "contracts" / "seeds" / "lazy-foundry.toml")
    assert experiment.settle_s(seed.claims.find("retries", "upstream")) == 6.0  # 30 s calls
