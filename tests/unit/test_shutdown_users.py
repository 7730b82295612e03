"""The shutdown experiment's clients: enough that requests are in flight at the signal even if
only the rarest of the claim's requests waits on the in-flight link (the signal waits for one,
and these keep the wait short), and no more: the 99 clients an expected 8 in flight derived for
the reference service starved its database pool on a busy CI host before any fault."""

from __future__ import annotations

from pathlib import Path

from gauntlet.chaos.experiments.shutdown import IN_FLIGHT, MAX_USERS, MIN_USERS, users_for
from gauntlet.contract import load_contract
from gauntlet.scenarios.traffic import mix_weights, paced

ROOT = Path(__file__).resolve().parents[2]


def test_enough_clients_for_requests_in_flight_at_the_signal() -> None:
    contract = load_contract(ROOT / "stack" / "contract.toml")
    (claim,) = contract.claims.shutdown
    users = users_for(contract, claim)
    weights = mix_weights(contract, claim.requests)
    rarest = min(weights.values()) / sum(weights.values())
    rate = users / paced(contract, claim.requests, 0.1, users) * rarest
    assert rate * claim.inflight_ms / 1000.0 >= IN_FLIGHT
    assert MIN_USERS <= users <= MAX_USERS
    assert users == MIN_USERS  # 40 leave 3.2 in flight: the floor is enough here


def test_a_shorter_hold_needs_more_clients_and_a_longer_one_never_fewer_than_the_floor() -> None:
    contract = load_contract(ROOT / "stack" / "contract.toml")
    (claim,) = contract.claims.shutdown
    brief = claim.model_copy(update={"inflight_ms": 200.0})
    held = claim.model_copy(update={"inflight_ms": 5000.0})
    assert users_for(contract, held) == MIN_USERS < users_for(contract, brief) <= MAX_USERS
