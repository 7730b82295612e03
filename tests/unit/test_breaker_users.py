"""The breaker experiment's clients: enough for the breaker to see the calls it needs in one
window, and no more (more clients behind a pool change which failure a hung link causes)."""

from __future__ import annotations

from pathlib import Path

from gauntlet.chaos.experiments.breaker import (
    DEFAULT_USERS,
    BreakerExperiment,
    calls_needed,
    users_for,
)
from gauntlet.contract import load_contract
from gauntlet.scenarios.traffic import paced

ROOT = Path(__file__).resolve().parents[2]


def test_clients_enough_to_open_the_breaker_in_one_window() -> None:
    contract = load_contract(ROOT / "stack" / "contract.toml")
    (claim,) = contract.claims.breaker
    requests = BreakerExperiment().requests(claim)
    users = users_for(contract, claim, requests)
    rate = users / paced(contract, requests, 0.1, users)
    assert rate * (claim.window_s or 0) >= calls_needed(claim)
    assert users == DEFAULT_USERS  # ten clients at the contract's pace are enough here


def test_a_breaker_needing_many_calls_gets_more_clients() -> None:
    contract = load_contract(ROOT / "stack" / "contract.toml")
    (claim,) = contract.claims.breaker
    requests = BreakerExperiment().requests(claim)
    hungry = claim.model_copy(update={"min_calls": 200})
    users = users_for(contract, hungry, requests)
    assert users > DEFAULT_USERS
    rate = users / paced(contract, requests, 0.1, users)
    assert rate * (claim.window_s or 0) >= calls_needed(hungry)
