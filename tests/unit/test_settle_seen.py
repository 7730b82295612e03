"""The settle time a run sees (Context.await_answered): the phase after recovery begins once
every request a fault could touch was answered, as the load reports its open requests, not a
settle time planned from the claim's numbers (a 30 s deadline made every run wait 30 s)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from gauntlet.chaos.context import Context
from gauntlet.chaos.watch import ADAPTED, FOUND, MISSING
from gauntlet.scenarios.inflight import STALE_S, Open
from tests.unit.virtual import Clock, Events

NAME = "GET /v1/notes/{id}"
T = 1000.0






def answered(monkeypatch: pytest.MonkeyPatch, board: Any, *, before_s: float,
             bound_s: float = 30.0) -> tuple[float | None, Clock, list[str]]:
    """``board(now_s)``: the open requests the load reports then (None: it reports none)."""
    clock = Clock(T)
    monkeypatch.setattr("gauntlet.chaos.context.time", clock)
    monkeypatch.setattr("gauntlet.chaos.context.in_flight",
                        lambda _dir, now_s: board(now_s))
    timeline = Events(clock)
    ctx: Any = SimpleNamespace(timeline=timeline, on_tick=None)
    run: Any = SimpleNamespace(alive=lambda: True, samples_dir=Path("."))
    at = Context.await_answered(ctx, run, [NAME], before_s=before_s, bound_s=bound_s,
                                phase="steady state after recovery")
    return at, clock, [e.kind for e in timeline.emitted]


def test_it_ends_once_the_requests_started_before_it_are_answered(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two requests slowed by the fault end 1.2 s after it; requests started after it (and
    other requests' names) do not hold the phase back."""
    def board(now_s: float) -> list[Open]:
        held = [Open(NAME, T - 5.0)] if now_s < T + 3.2 else []
        return [*held, Open(NAME, now_s - 0.01), Open("POST /login", T - 9.0)]

    at, _, kinds = answered(monkeypatch, board, before_s=T + 2.0)
    assert at == pytest.approx(T + 3.2, abs=0.06)
    assert kinds[-1] == FOUND


def test_a_board_is_trusted_only_once_it_postdates_the_moment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A board is read when it is at most STALE_S old: one read sooner than STALE_S after
    ``before_s`` may lack a request started just before it."""
    at, _, _ = answered(monkeypatch, lambda now_s: [], before_s=T + 1.0)
    assert at is not None and at >= T + 1.0 + STALE_S


def test_a_request_that_stays_open_runs_out_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    at, clock, kinds = answered(monkeypatch, lambda now_s: [Open(NAME, T - 1.0)],
                                before_s=T, bound_s=4.0)
    assert at is None and clock.now >= T + 4.0 and kinds[-1] == MISSING


def test_a_load_that_reports_nothing_keeps_the_planned_settle_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A team's own locustfile writes no board: the caller waits as long as it planned, and
    the timeline says why, within a second rather than at the bound."""
    at, clock, kinds = answered(monkeypatch, lambda now_s: None, before_s=T, bound_s=30.0)
    assert at is None and clock.now < T + 2.0
    assert kinds[-2:] == [ADAPTED, MISSING]
