"""Clients for an experiment's light load: enough that its steady phases are decidable soon,
at the pace the contract allows a client (pure: no stack)."""

from __future__ import annotations

from pathlib import Path

from gauntlet.chaos.context import STEADY_SAMPLES, users_for_steady
from gauntlet.chaos.experiments.degraded import MAX_USERS, MIN_USERS, STEADY_WITHIN_S
from gauntlet.contract import load_contract
from gauntlet.scenarios.traffic import paced

ROOT = Path(__file__).resolve().parents[2]


def test_a_slow_pace_gets_clients_enough_for_a_steady_phase_in_seconds() -> None:
    """Old code: five clients at LangSense's pace (one request a second each) took 18 s for
    each of the degraded-latency run's two steady phases."""
    contract = load_contract(ROOT / "contracts" / "seeds" / "langsense.toml")
    (claim,) = [c for c in contract.claims.health if c.name == "postgres"]
    users = users_for_steady(contract, claim.requests, floor=MIN_USERS, most=MAX_USERS,
                             within_s=STEADY_WITHIN_S)
    rate = users / paced(contract, claim.requests, 0.1, users)
    assert rate * STEADY_WITHIN_S >= STEADY_SAMPLES
    assert MIN_USERS < users <= MAX_USERS


def test_the_light_load_when_it_is_enough_and_the_most_when_nothing_is() -> None:
    contract = load_contract(ROOT / "stack" / "contract.toml")
    requests = ["GET /api/orders", "GET /api/orders/{id}"]  # one a second per client
    # five clients send 90 in 18 s: enough for a phase of 20 s, not for one of 6 s
    assert users_for_steady(contract, requests, floor=MIN_USERS, most=MAX_USERS,
                            within_s=20.0) == MIN_USERS
    assert users_for_steady(contract, requests, floor=MIN_USERS, most=MAX_USERS,
                            within_s=6.0) == 15
    assert users_for_steady(contract, requests, floor=MIN_USERS, most=MAX_USERS,
                            within_s=0.01) == MAX_USERS
