"""The run clock: monotonic after its anchor, and on the wall clock again after a pause of the
machine that the monotonic clock did not count (the samples of the load are stamped with the
wall clock, and must stay on the timeline's axis)."""

from __future__ import annotations

import pytest

from gauntlet import clock as clock_module
from gauntlet.clock import LEAP_S, RunClock


class Clocks:
    def __init__(self) -> None:
        self.wall = 1000.0
        self.mono = 50.0

    def advance(self, wall_s: float, mono_s: float) -> None:
        self.wall += wall_s
        self.mono += mono_s


@pytest.fixture
def clocks(monkeypatch: pytest.MonkeyPatch) -> Clocks:
    c = Clocks()
    monkeypatch.setattr(clock_module.time, "time", lambda: c.wall)
    monkeypatch.setattr(clock_module.time, "monotonic", lambda: c.mono)
    return c


def test_small_steps_of_the_wall_clock_are_not_followed(clocks: Clocks) -> None:
    clock = RunClock()
    clocks.advance(1.0 + LEAP_S / 2, 1.0)  # NTP stepped it a little: events keep their order
    assert clock.now_s() == 1001.0
    clocks.advance(1.0 - 0.5, 1.0)  # set back: time never runs backwards on the run's axis
    assert clock.now_s() == 1002.0


def test_a_leap_ahead_takes_a_new_anchor_and_is_kept(clocks: Clocks) -> None:
    clock = RunClock()
    clocks.advance(2.0, 2.0)
    assert clock.now_s() == 1002.0
    clocks.advance(8.6, 0.0)  # a snapshot: the monotonic clock did not count the pause
    assert clock.now_s() == pytest.approx(1010.6)  # old code: 1002.0, 8.6 s off the samples
    clocks.advance(1.0, 1.0)
    assert clock.now_s() == pytest.approx(1011.6)
    assert clock.started_at_s == 1000.0
    assert clock.elapsed_s() == pytest.approx(11.6)
