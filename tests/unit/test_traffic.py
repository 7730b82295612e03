"""Pacing a declared load under the contract's rate limits (pure: no service)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gauntlet.contract import load_contract
from gauntlet.scenarios.traffic import LIMIT_SHARE, budgets, mix_of, paced, spaced

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


def test_a_run_shorter_than_a_limit_s_window_spends_the_client_s_budget_over_the_run() -> None:
    # 10 an hour per user: half of it is 5 requests a client; a 6-minute run sends them every
    # 72 s, not every 12 min, and the declared load counts them (at most 5 in any hour)
    assert paced(LAZY, [GENERATE], 0.1, users=10, run_s=360) == pytest.approx(72.0)
    assert budgets(LAZY, [GENERATE], 360) == [([GENERATE], 5, 3600.0)]
    # a run longer than the window: spaced over the window, as before, and no budget
    assert paced(LAZY, [GENERATE], 0.1, users=10, run_s=7200) == pytest.approx(720.0)
    assert budgets(LAZY, [GENERATE], 7200) == []
    # the reference stack's limits are seconds long: every run outlasts them
    assert paced(STACK, [GENERATE], 0.1, users=10, run_s=60) == paced(STACK, [GENERATE], 0.1, 10)
    assert budgets(STACK, [GENERATE], 60) == []


def test_a_limit_all_clients_share_has_no_client_budget() -> None:
    from gauntlet.contract.kinds.ratelimit import RateLimitClaim

    shared = RateLimitClaim(name="all", limit="10/hour", key="none", requests=[GENERATE])
    assert shared.client_budget([GENERATE], LIMIT_SHARE) is None
    own = shared.model_copy(update={"key": "auth"})
    assert own.client_budget([GENERATE], LIMIT_SHARE) == ([GENERATE], 5, 3600.0)
    assert own.client_budget(["GET /api/orders"], LIMIT_SHARE) is None


def test_the_whole_mix_is_every_weighted_request() -> None:
    assert mix_of(STACK) == [n for n, r in STACK.traffic.requests.items() if r.weight > 0]
    assert "POST /auth/login" not in mix_of(STACK)  # weight 0: the auth step, not the load


def test_a_whole_service_load_spaces_only_the_limited_route() -> None:
    # lazy-foundry's generation limit (10 an hour) on one request in eight: paced as an
    # experiment paces, every client would send one request every 90 s. A load keeps the
    # suite's pace under the API limit (100 a minute: one every 1.2 s) and sends the generation
    # route at most every 12 minutes
    mix = mix_of(LAZY)
    assert paced(LAZY, mix, 1.0, users=200) == pytest.approx(90.0)
    pace, spacing = spaced(LAZY, mix, 1.0, users=200)
    assert pace == pytest.approx(60 / (100 * LIMIT_SHARE))
    assert spacing == [([GENERATE], pytest.approx(3600 / (10 * LIMIT_SHARE)))]


def test_a_limit_no_slower_than_the_pace_spaces_nothing() -> None:
    # the reference stack's generate limit (10 per 5 s) allows a request a second, the pace
    assert spaced(STACK, mix_of(STACK), 1.0, users=50) == (1.0, [])


def test_a_seed_suite_s_declared_load_spaces_its_generation_route() -> None:
    # what the runner hands the declared locustfile for lazy-foundry on the Node service
    from gauntlet.config import load_suite
    from gauntlet.runner import _declared

    suite = load_suite(ROOT / "suites" / "seeds" / "lazy-foundry-node.toml")
    spec = json.loads(_declared(suite)["GAUNTLET_TRAFFIC"])
    assert spec["pace_s"] == pytest.approx(60 / (100 * LIMIT_SHARE))
    assert spec["spacing"] == [[["POST /v1/summaries"], pytest.approx(720.0)]]
