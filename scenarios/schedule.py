"""The open-model arrival schedule: when request number k *should* start.

Pure arithmetic, no Locust import, so it is unit-tested on its own. A schedule is a list of
stages, each ramping linearly from the previous rate to its own over its duration (a constant
rate is one stage whose start and end rates are equal). Slot k is the time t at which the
expected arrivals N(t) = ∫rate reach k, so a ramp is followed exactly, not in steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class RateSegment:
    duration_s: float
    rate_start: float
    rate_end: float

    @property
    def count(self) -> float:
        return (self.rate_start + self.rate_end) / 2.0 * self.duration_s


class Schedule:
    """Intended start offsets (seconds from the schedule's start) for slots 0, 1, 2, ..."""

    def __init__(self, segments: list[RateSegment]) -> None:
        self.segments = segments
        self.duration_s = sum(s.duration_s for s in segments)
        self.total = sum(s.count for s in segments)

    @classmethod
    def constant(cls, rate: float, duration_s: float) -> Schedule:
        return cls([RateSegment(duration_s, rate, rate)])

    @classmethod
    def from_stages(cls, stages: list[tuple[float, float]], start_rate: float = 0.0) -> Schedule:
        """``[(duration_s, rate), ...]``: each stage ramps from the previous rate to its own."""
        segments = []
        previous = start_rate
        for duration_s, rate in stages:
            segments.append(RateSegment(duration_s, previous, rate))
            previous = rate
        return cls(segments)

    def expected_by(self, offset_s: float) -> float:
        """N(t): how many requests should have started by ``offset_s``."""
        done = 0.0
        t = 0.0
        for seg in self.segments:
            if offset_s >= t + seg.duration_s:
                done += seg.count
                t += seg.duration_s
                continue
            dt = max(0.0, offset_s - t)
            slope = (seg.rate_end - seg.rate_start) / seg.duration_s
            return done + seg.rate_start * dt + slope * dt * dt / 2.0
        return done

    def offset_of(self, k: int) -> float | None:
        """When slot ``k`` (0-based) is due, or None when the schedule has no such slot."""
        target = k + 0.5 if self.segments and self.segments[0].rate_start == 0 else float(k)
        if target >= self.total:
            return None
        t = 0.0
        for seg in self.segments:
            if target >= seg.count:
                target -= seg.count
                t += seg.duration_s
                continue
            slope = (seg.rate_end - seg.rate_start) / seg.duration_s
            if abs(slope) < 1e-12:
                return t + target / seg.rate_start
            # rate_start*dt + slope*dt^2/2 = target  ->  solve for dt >= 0
            disc = seg.rate_start**2 + 2.0 * slope * target
            return t + (-seg.rate_start + math.sqrt(max(disc, 0.0))) / slope
        return None


def stage_at(stages: list[tuple[float, int, float]], run_time_s: float) -> tuple[int, float] | None:
    """Users and spawn rate in force at ``run_time_s``, or None past the last stage."""
    elapsed = 0.0
    for duration_s, users, spawn_rate in stages:
        elapsed += duration_s
        if run_time_s < elapsed:
            return users, spawn_rate
    return None
