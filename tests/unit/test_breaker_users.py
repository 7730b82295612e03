"""The breaker experiment's clients: enough for the breaker to see the calls it needs in one
window, and enough for the steady phase to hold a decidable p95 within its planned time."""

from __future__ import annotations

from pathlib import Path

from gauntlet.chaos.experiments.base import STEADY_SAMPLES
from gauntlet.chaos.experiments.breaker import (
    STEADY_USERS,
    BreakerExperiment,
    calls_needed,
    users_for,
)
from gauntlet.contract import load_contract
from gauntlet.scenarios.traffic import paced

ROOT = Path(__file__).resolve().parents[2]


def test_clients_enough_to_open_and_for_a_decidable_steady_phase() -> None:
    contract = load_contract(ROOT / "stack" / "contract.toml")
    (claim,) = contract.claims.breaker
    requests = BreakerExperiment().requests(claim)
    users = users_for(contract, claim, requests, steady_s=4.0)
    rate = users / paced(contract, requests, 0.1, users)
    assert rate * 4.0 >= STEADY_SAMPLES
    assert rate * (claim.window_s or 0) >= calls_needed(claim)
    # a long planned steady phase needs no more clients than opening the breaker does
    assert users_for(contract, claim, requests, steady_s=1000.0) < users


def test_the_steady_phase_alone_never_asks_for_more_than_its_cap() -> None:
    contract = load_contract(ROOT / "stack" / "contract.toml")
    (claim,) = contract.claims.breaker
    requests = BreakerExperiment().requests(claim)
    assert users_for(contract, claim, requests, steady_s=0.01) <= STEADY_USERS * 1.5
