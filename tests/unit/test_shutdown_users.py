"""The shutdown experiment's clients: enough that requests are in flight at the signal even if
only the rarest of the claim's requests waits on the in-flight link (a CI run once had none in
flight with 40 clients, and 'no failed request started before the signal' was inconclusive)."""

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


def test_a_longer_hold_needs_fewer_clients_but_never_fewer_than_the_floor() -> None:
    contract = load_contract(ROOT / "stack" / "contract.toml")
    (claim,) = contract.claims.shutdown
    held = claim.model_copy(update={"inflight_ms": 5000.0})
    assert users_for(contract, held) == MIN_USERS < users_for(contract, claim)
