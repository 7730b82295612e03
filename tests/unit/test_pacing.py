"""Pacing of the declared load (gauntlet.scenarios.pacing): a client never starts two requests
closer than its pace, and clients held by one fault do not come out of it marching in step."""

from __future__ import annotations

import random

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from gauntlet.scenarios.pacing import next_wait_s


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
