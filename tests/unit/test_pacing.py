"""Pacing of the declared load (gauntlet.scenarios.pacing): a client never starts two requests
closer than its pace, and clients held by one fault do not come out of it marching in step."""

from __future__ import annotations

import itertools
import random

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from gauntlet.scenarios.pacing import Budget, Spacing, next_wait_s


@given(st.floats(0, 10), st.floats(0.01, 5), st.floats(0, 0.999))
def test_two_starts_of_a_client_are_at_least_a_pace_apart(spent: float, pace: float,
                                                          draw: float) -> None:
    assert spent + next_wait_s(spent, pace, draw) >= pace - 1e-9


def starts(offset_s: float, latency_s: list[float], pace_s: float,
           rng: random.Random) -> list[float]:
    t, out = offset_s, []
    for latency in latency_s:
        out.append(t)
        t += latency + next_wait_s(latency, pace_s, rng.random())
    return out


def test_a_client_keeps_its_random_phase() -> None:
    # Locust's constant_pacing counted the pace from the spawn, so the random offset each
    # user slept at start was taken back at the first wait: 40 users sent within 0.4 s of
    # each second and a 0.3 s outage every 3 s fell in the silence (CI's retries-postgres)
    rng = random.Random(1)
    phases = [starts(rng.uniform(0, 1.0), [0.05] * 10, 1.0, rng)[-1] % 1.0 for _ in range(40)]
    assert np.histogram(phases, bins=5, range=(0, 1))[0].min() >= 3


def test_clients_released_together_by_a_fault_spread_again() -> None:
    rng = random.Random(2)
    # a 2 s outage holds every client's request until it ends; after it they run at 50 ms.
    # Waiting nothing after an overrun (constant_pacing) would start them all at 2.0 s and
    # keep them in step from then on: one bin of five would hold all 40
    phases = []
    for _ in range(40):
        offset = rng.uniform(0, 1.0)
        phases.append(starts(offset, [2.0 - offset, *[0.05] * 6], 1.0, rng)[-1] % 1.0)
    counts = np.histogram(phases, bins=5, range=(0, 1))[0]
    assert counts.max() <= 16 and counts.min() >= 2


def sends(spacing: Spacing, names: list[str], weights: list[int], pace_s: float, until_s: float,
          rng: random.Random) -> list[tuple[float, str]]:
    """One client's requests at its pace, as the declared locustfile picks them."""
    out = []
    for t in np.arange(0.0, until_s, pace_s):
        allowed, w = spacing.allowed(names, weights, float(t))
        if allowed:
            name = rng.choices(allowed, w)[0]
            spacing.sent(name, float(t))
            out.append((float(t), name))
    return out


def test_a_limited_route_is_spaced_and_the_rest_keeps_the_pace() -> None:
    rng = random.Random(3)
    spacing = Spacing([(["generate"], 720.0)], 0.0, rng.random)
    sent = sends(spacing, ["list", "create", "generate"], [3, 2, 1], 1.2, 3600.0, rng)
    generated = [t for t, n in sent if n == "generate"]
    assert len(generated) in (4, 5)  # 3600 s at one per 720 s
    assert all(b - a >= 720.0 for a, b in itertools.pairwise(generated))
    assert len(sent) == 3000  # a request every 1.2 s, none skipped


def test_clients_start_at_random_phases_of_a_limited_route() -> None:
    # every client may send the route at once only if the phases are equal: a limit keyed on
    # nothing would see all of them in its first window
    rng = random.Random(4)
    firsts = []
    for _ in range(40):
        spacing = Spacing([(["generate"], 100.0)], 0.0, rng.random)
        firsts.append(next(t for t, n in sends(spacing, ["generate"], [1], 1.0, 200.0, rng)))
    assert np.histogram(firsts, bins=5, range=(0, 100))[0].min() >= 3


def test_each_limited_group_has_a_phase_of_its_own() -> None:
    spacing = Spacing([(["upload"], 100.0), (["generate"], 100.0)], 0.0, random.Random(5).random)
    # one draw for both would free them at the same moment
    assert len(spacing.allowed(["upload", "generate"], [1, 1], min(spacing.free_at))[0]) == 1


def test_a_budget_holds_a_group_back_once_spent_in_its_window() -> None:
    """5 summaries an hour (half of lazy-foundry's 10): spread over a short run at any pace,
    never a sixth within an hour, whatever the run's length."""
    budget = Budget([(["POST /summaries"], 5, 3600.0)])
    names, weights = ["POST /summaries", "GET /notes"], [1, 5]
    for i in range(5):
        assert budget.allowed(names, weights, 10.0 * i) == (names, weights)
        budget.sent("POST /summaries", 10.0 * i)
    budget.sent("GET /notes", 50.0)  # not in the group: not counted
    assert budget.allowed(names, weights, 60.0) == (["GET /notes"], [5])
    assert budget.allowed(names, weights, 3599.0) == (["GET /notes"], [5])
    # an hour after the first one, one is free again
    assert budget.allowed(names, weights, 3600.5) == (names, weights)


def test_no_budget_holds_nothing() -> None:
    assert Budget([]).allowed(["a", "b"], [1, 2], 0.0) == (["a", "b"], [1, 2])
