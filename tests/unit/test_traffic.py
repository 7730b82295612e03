"""Pacing a declared load under the contract's rate limits (pure: no service)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gauntlet.contract import load_contract
from gauntlet.scenarios.traffic import LIMIT_SHARE, mix_of, paced

ROOT = Path(__file__).resolve().parents[1].parent
STACK = load_contract(ROOT / "stack" / "contract.toml")
LAZY = load_contract(ROOT / "contracts" / "seeds" / "lazy-foundry.toml")
GENERATE = "POST /api/generate"
MIX = ["GET /api/orders", "POST /api/orders", GENERATE]


def test_a_client_keeps_under_half_of_the_limit_of_what_it_sends() -> None:
    # reference stack: 10 per 5 s per user on the API → one request per second at most
    assert paced(STACK, [GENERATE], 0.1, users=10) == pytest.approx(5 / (10 * LIMIT_SHARE))


def test_a_limit_slows_a_client_only_by_its_share_of_the_mix() -> None:
    alone = paced(LAZY, [GENERATE], 0.1, users=10)  # 10 an hour: one every 12 min
    assert alone == pytest.approx(3600 / (10 * LIMIT_SHARE))
    weights = {n: max(LAZY.traffic.requests[n].weight, 1) for n in MIX}
    share = weights[GENERATE] / sum(weights.values())
    assert paced(LAZY, MIX, 0.1, users=10) == pytest.approx(alone * share)


def test_the_whole_mix_is_every_weighted_request() -> None:
    assert mix_of(STACK) == [n for n, r in STACK.traffic.requests.items() if r.weight > 0]
    assert "POST /auth/login" not in mix_of(STACK)  # weight 0: the auth step, not the load
