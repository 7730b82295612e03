"""The seed suites: each parses, plans a run for every claim of its contract, and keeps the
seed's stated numbers (only load durations may be scaled)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gauntlet.chaos.planning import plan_experiments, unverified
from gauntlet.config import load_suite

ROOT = Path(__file__).resolve().parents[2]
SEEDS = sorted((ROOT / "suites" / "seeds").glob("*.toml"))
SYSTEMS = {"lazy-foundry", "quemiai", "ragbase", "my-saas-chat", "langsense"}


def test_every_seed_system_has_a_suite_and_the_node_ones_a_node_suite() -> None:
    names = {p.stem for p in SEEDS}
    assert names >= SYSTEMS
    assert names >= {f"{s}-node" for s in ("lazy-foundry", "quemiai", "ragbase")}


@pytest.mark.parametrize("path", SEEDS, ids=[p.stem for p in SEEDS])
def test_a_seed_suite_verifies_every_claim(path: Path) -> None:
    suite = load_suite(path)
    assert suite.every_claim and suite.load is not None
    planned = plan_experiments(suite)
    assert planned
    # every claim instance an experiment can take is planned; the rest are reported, not lost
    gaps = unverified(suite.the_contract, planned)
    kinds = {v.claim.split(".")[0] for v in gaps}
    assert kinds <= {"deadline", "pool", "integrity", "stated"}, [v.reason for v in gaps]
    # a stated claim keeps its own reason, in words
    assert all(v.reason != "not verified: " for v in gaps)
    # one run per claim instance, never two
    labels = [p.label for p in planned]
    assert len(labels) == len(set(labels))


def test_lazy_foundry_keeps_its_users_and_scales_only_durations() -> None:
    load = load_suite(ROOT / "suites" / "seeds" / "lazy-foundry.toml").load
    assert load is not None and load.stages is not None
    assert [s.users for s in load.stages] == [100, 100, 200, 200, 0]
    assert load.declared_duration_s == pytest.approx(900.0)
    assert load.duration_scale == 0.1
    quick = load.scaled(0.02)
    assert [s.users for s in quick.stages or []] == [100, 100, 200, 200, 0]
    assert quick.total_duration_s == pytest.approx(18.0)


def test_quemiai_runs_its_socketio_load_on_two_sticky_instances() -> None:
    """Quemiai's "Socket.IO load behind sticky sessions" is a claim its Node suite verifies
    (two instances behind sticky nginx, the affinity experiment), not a row it states."""
    suite = load_suite(ROOT / "suites" / "seeds" / "quemiai-node.toml")
    contract = suite.the_contract
    assert not contract.claims.stated
    (affinity,) = contract.claims.affinity
    assert list(affinity.instances) == ["api", "api2"]
    assert contract.services["gateway"].env["GATEWAY_STICKY"] == "1"
    (breaker,) = contract.claims.breaker
    assert breaker.instances == 2  # each instance's breaker sees half the calls
    assert "affinity[socketio]" in [p.label for p in plan_experiments(suite)]
