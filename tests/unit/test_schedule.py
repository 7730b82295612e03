"""The open-model arrival schedule and the closed-model stage shape (pure arithmetic)."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from gauntlet.scenarios.schedule import Schedule, stage_at


@given(st.floats(min_value=1, max_value=5000), st.floats(min_value=0.5, max_value=120))
def test_constant_rate_slots_are_evenly_spaced(rate: float, duration: float) -> None:
    s = Schedule.constant(rate, duration)
    assert s.offset_of(0) == 0.0
    k = int(s.total) - 1
    if k > 0:
        offset = s.offset_of(k)
        assert offset is not None
        assert math.isclose(offset, k / rate, rel_tol=1e-9)
    assert s.offset_of(math.ceil(s.total) + 1) is None


@given(st.floats(min_value=10, max_value=1000), st.floats(min_value=1, max_value=60))
def test_ramp_follows_expected_count(rate: float, duration: float) -> None:
    s = Schedule.from_stages([(duration, rate)], start_rate=0.0)
    assert math.isclose(s.total, rate * duration / 2, rel_tol=1e-9)
    for k in range(0, int(s.total), max(1, int(s.total) // 20)):
        offset = s.offset_of(k)
        assert offset is not None
        # slot k sits where the expected arrivals reach k + 1/2
        assert math.isclose(s.expected_by(offset), k + 0.5, rel_tol=1e-6, abs_tol=1e-6)


def test_slots_are_monotonic_across_stages() -> None:
    s = Schedule.from_stages([(2, 100), (3, 100), (2, 0)], start_rate=0)
    offsets = [s.offset_of(k) for k in range(int(s.total))]
    assert all(o is not None for o in offsets)
    assert offsets == sorted(offsets)  # type: ignore[type-var]


@given(st.lists(st.tuples(st.floats(min_value=0.1, max_value=100),
                          st.integers(min_value=0, max_value=500),
                          st.floats(min_value=0.1, max_value=100)), min_size=1, max_size=6))
def test_stages_produce_the_declared_user_counts(stages: list[tuple[float, int, float]]) -> None:
    t = 0.0
    for duration, users, rate in stages:
        assert stage_at(stages, t + duration / 2) == (users, rate)
        t += duration
    assert stage_at(stages, t + 0.001) is None
