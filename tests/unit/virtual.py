"""A virtual clock and timeline for unit tests of the harness's waits: a watcher's loop runs
at once, each of its sleeps moving the clock instead of the test."""

from __future__ import annotations

from typing import Any

from gauntlet.timeline import Event


class Clock:
    """A virtual clock for both the timeline (wall) and the waits (monotonic): patch it in as
    the module's ``time``."""

    def __init__(self, now_s: float) -> None:
        self.now = now_s

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class Events:
    """A timeline on the virtual clock that keeps what it was told."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.emitted: list[Event] = []

    def now_s(self) -> float:
        return self.clock.now

    def emit(self, kind: str, **data: Any) -> Event:
        event = Event(self.clock.now, kind, data)
        self.emitted.append(event)
        return event
