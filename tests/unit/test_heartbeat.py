"""The heartbeat notices when the harness stopped running: a wake-up a quarter second late or
more is a ``host.stall`` on the timeline; a little late is a busy host, not a stall."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from gauntlet.chaos.heartbeat import STALL_S, Heartbeat
from gauntlet.checks.windows import HOST_STALL, stall_windows
from gauntlet.timeline import RunClock, Timeline, read_events


def timeline(tmp_path: Path) -> Timeline:
    return Timeline(tmp_path / "events.jsonl", RunClock())


def test_only_a_wake_up_late_by_the_bound_is_a_stall(tmp_path: Path) -> None:
    with timeline(tmp_path) as tl:
        beat = Heartbeat(tl)
        beat.beat(100.0, 100.1, 0.05)           # a busy host
        beat.beat(200.0, 200.6, STALL_S + 0.3)  # a stop
        beat.beat(300.0, 300.3, STALL_S)
    assert [(w.start_s, w.end_s) for w in beat.stalls()] == [(200.0, 200.6), (300.0, 300.3)]
    assert beat.stalled_in(199.0, 200.1) == beat.stalls()[0]
    assert beat.stalled_in(200.7, 299.9) is None
    events = read_events(tmp_path / "events.jsonl")
    assert [e.kind for e in events] == [HOST_STALL, HOST_STALL]
    assert [(w.start_s, w.end_s) for w in stall_windows(events)] == \
        [(200.0, 200.6), (300.0, 300.3)]


def test_a_process_that_stopped_running_is_seen(tmp_path: Path) -> None:
    """The main thread holds the interpreter for 0.8 s (a switch interval of 2 s): the
    heartbeat's thread cannot run, as when the host stops scheduling this process."""
    old = sys.getswitchinterval()
    with timeline(tmp_path) as tl, Heartbeat(tl).running() as beat:
        time.sleep(0.2)
        sys.setswitchinterval(2.0)
        try:
            started = time.monotonic()
            while time.monotonic() - started < 0.8:
                pass
        finally:
            sys.setswitchinterval(old)
        time.sleep(0.2)
    longest = max((w.duration_s for w in beat.stalls()), default=0.0)
    assert longest >= 0.5, beat.stalls()


def test_a_pause_the_monotonic_clock_did_not_count_is_a_stall(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A VM snapshotted and resumed: the wall clock comes back 8.6 s ahead while the monotonic
    one did not move. Old code kept the run clock on its anchor, so every sample after it sat
    8.6 s from the timeline's faults, and the heartbeat, reading only the monotonic clock, saw
    nothing."""
    with timeline(tmp_path) as tl, Heartbeat(tl).running() as beat:
        time.sleep(0.2)
        real = time.time
        monkeypatch.setattr(time, "time", lambda: real() + 8.6)  # the resumed guest's clock
        time.sleep(0.2)
    [stall] = beat.stalls()
    assert 8.6 <= stall.duration_s <= 8.9
    assert abs(tl.now_s() - time.time()) < 0.05  # on the wall clock again
