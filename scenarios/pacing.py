"""Pacing a simulated client: at most one request start per pace, without marching in step, and
at most one of a rate-limited group of its requests per that group's interval.

Pure (no Locust import), so it is unit-tested in the harness' process and used by the
declared locustfile inside Locust.
"""

from __future__ import annotations

from collections.abc import Callable


def next_wait_s(spent_s: float, pace_s: float, draw: float) -> float:
    """How long a client waits before its next request, ``spent_s`` after the last one started
    (``draw``: uniform in [0, 1)).

    Within the pace it waits the pace out, so two starts of one client are never closer than
    ``pace_s`` (what keeps it under the contract's rate limits). A request that overran the pace
    was held — by a fault, a backoff, a slow dependency — and every client held by the same
    fault comes free at about the same moment: sent at once, they would march in step from then
    on, a burst once a pace with silence between, and a short fault timed on the run clock can
    fall in the silence every time (the retries experiment missed its outage that way). So an
    overrun waits a random share of the pace, which spreads the clients again and still keeps
    two starts ``pace_s`` apart.
    """
    return pace_s - spent_s if spent_s < pace_s else draw * pace_s


class Spacing:
    """The least time between one client's requests of a group, for groups a rate limit covers
    that are only part of what the client sends: a route limited to 10 an hour is sent at most
    every 12 minutes (at half the limit) while the rest of the mix keeps the client's pace.

    Slowing the whole client for that route instead would turn an SLO load into a trickle:
    at 10 an hour on one request in eight, a client would send one request every 90 s. Each
    group starts at a random phase of its interval, so clients spawned together do not send
    the limited route together, and a limit keyed on nothing sees its share from the start.
    """

    def __init__(self, groups: list[tuple[list[str], float]], now: float,
                 draw: Callable[[], float]) -> None:
        """``draw``: uniform in [0, 1) at each call (``random.random``), a phase per group."""
        self.groups = [(frozenset(names), interval) for names, interval in groups if interval > 0]
        self.free_at = [now + draw() * interval for _, interval in self.groups]

    def allowed(self, names: list[str], weights: list[int],
                now: float) -> tuple[list[str], list[int]]:
        """``names`` (with their ``weights``) less those a group holds back at ``now``."""
        held = set().union(*(g for (g, _), free in zip(self.groups, self.free_at, strict=True)
                             if free > now))
        return _without(names, weights, held)

    def sent(self, name: str, now: float) -> None:
        """``name`` was sent at ``now``: every group holding it is closed for its interval."""
        for i, (group, interval) in enumerate(self.groups):
            if name in group:
                self.free_at[i] = now + interval


class Budget:
    """At most so many of a group's requests from one client in any window: the guard of a
    limit the experiment spreads over its run instead of over the window
    (:func:`~gauntlet.scenarios.traffic.budgets`). A run that outlasts its plan holds the
    group back once the client has spent its share, rather than meet the limiter."""

    def __init__(self, groups: list[tuple[list[str], int, float]]) -> None:
        self.groups = [(frozenset(names), count, window) for names, count, window in groups]
        self.starts: list[list[float]] = [[] for _ in self.groups]

    def allowed(self, names: list[str], weights: list[int],
                now: float) -> tuple[list[str], list[int]]:
        """``names`` (with their ``weights``) less those of a group spent at ``now``."""
        held: set[str] = set()
        for (group, count, window), starts in zip(self.groups, self.starts, strict=True):
            starts[:] = [t for t in starts if t > now - window]
            if len(starts) >= count:
                held |= group
        return _without(names, weights, held)

    def sent(self, name: str, now: float) -> None:
        for (group, _, _), starts in zip(self.groups, self.starts, strict=True):
            if name in group:
                starts.append(now)


def _without(names: list[str], weights: list[int],
             held: set[str]) -> tuple[list[str], list[int]]:
    """``names`` and their ``weights`` less the ``held`` ones. Called before every request a
    client sends: with nothing held (the usual case) the lists are returned as they are."""
    if not held:
        return names, weights
    kept = [(n, w) for n, w in zip(names, weights, strict=True) if n not in held]
    return [n for n, _ in kept], [w for _, w in kept]
