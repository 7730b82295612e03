"""A breaker on a link watched closed after the link is back (gauntlet.chaos.breakerwatch):
pure logic over samples written here, with the run's real clock and timeline."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from gauntlet.chaos.breakerwatch import (
    CLOSE_MARGIN_S,
    CLOSED_ANSWERS,
    await_link_settled,
    watched_breakers,
)
from gauntlet.clock import RunClock
from gauntlet.contract import load_contract
from gauntlet.scenarios.columns import COLUMNS
from gauntlet.timeline import EVENTS_FILE, Event, Timeline, read_events

ROOT = Path(__file__).resolve().parents[2]
LANGSENSE = ROOT / "contracts" / "seeds" / "langsense.toml"
OPEN = "header:x-circuit-open"  # the column LangSense's database breaker is marked in


def row(t: float, status: int, flag: str = "", name: str = "POST /api/orders") -> str:
    cells = {"t_intended_s": t, "t_start_s": t, "latency_ms": 5.0, "method": "POST",
             "name": name, "status": status, "error": "", "bytes": 0, "worker": "w",
             "client": "c", "token": "", "phase": "", "seq": 1}
    return ",".join([*(str(cells[c]) for c in COLUMNS), flag]) + "\n"


def test_the_phase_after_recovery_begins_at_the_close_seen(tmp_path: Path) -> None:
    """Old code: the outage and the slow link held the phase after recovery for the breaker's
    whole closing bound (open 60 s + one call + 2 s = 68 s in LangSense) past the link's
    return, though the breaker closed about 55 s after it."""
    contract = load_contract(LANGSENSE)
    assert [c.name for c in watched_breakers(contract, "postgres", ["POST /api/orders"])] \
        == ["database"]
    removed = 1_000.0
    rows = [row(removed + 0.5, 503, "database"), row(removed + 1.0, 503, "database")]
    rows += [row(removed + 1.2 + i * 0.01, 201) for i in range(CLOSED_ANSWERS)]
    held, took, events = _settle_abs(tmp_path, rows, removed, hold_s=68.0)
    assert abs(held - (1.2 + CLOSE_MARGIN_S)) < 1e-6
    assert took < 5.0  # it did not wait out the 68 s
    found = [e for e in events if e.kind == "evidence.found"]
    assert found and found[0].data["claim"] == "breaker.database"


def test_a_breaker_still_open_is_waited_out_to_its_bound(tmp_path: Path) -> None:
    removed = 1_000.0
    rows = [row(removed + 0.5 + i * 0.01, 201) for i in range(CLOSED_ANSWERS - 1)]
    rows.append(row(removed + 0.9, 503, "database"))  # open after most of them: not closed
    held, took, _ = _settle_abs(tmp_path, rows, removed, hold_s=1.0)
    assert held == 1.0 and took >= 0.5


def test_a_breaker_the_load_does_not_pass_through_is_waited_out(tmp_path: Path) -> None:
    removed = 1_000.0
    rows = [row(removed + 0.5 + i * 0.01, 200, name="GET /api/orders")
            for i in range(CLOSED_ANSWERS)]
    held, took, _ = _settle_abs(tmp_path, rows, removed, hold_s=2.0, sent=["GET /api/orders"])
    assert held == 2.0 and took < 0.5  # no watch at all: the planned hold


def _settle_abs(tmp_path: Path, rows: list[str], removed_s: float, hold_s: float,
                sent: list[str] | None = None) -> tuple[float, float, list[Event]]:
    """Write ``rows``, watch them as if the link came back at ``removed_s``, and return the
    hold found, how long the watch took, and the events it wrote."""
    samples = tmp_path / "samples"
    samples.mkdir()
    (samples / "samples-1.csv").write_text(",".join([*COLUMNS, OPEN]) + "\n" + "".join(rows))
    with Timeline(tmp_path / EVENTS_FILE, RunClock()) as timeline:
        # the link came back at removed_s: the clock reads from there
        ctx: Any = SimpleNamespace(contract=load_contract(LANGSENSE), on_tick=None,
                                   timeline=_Shifted(timeline, removed_s))
        run: Any = SimpleNamespace(samples_dir=samples, alive=lambda: True)
        began = time.monotonic()
        held = await_link_settled(ctx, run, "postgres", sent or ["POST /api/orders"],
                                  removed_s, hold_s)
        took = time.monotonic() - began
    return held, took, read_events(tmp_path / EVENTS_FILE)


class _Shifted:
    """A timeline whose clock reads from ``start_s`` on: the rows above are written at fixed
    times, and the watch measures its deadline from the link's return."""

    def __init__(self, timeline: Timeline, start_s: float) -> None:
        self._timeline, self._offset = timeline, start_s - timeline.now_s()
        self.path = timeline.path

    def now_s(self) -> float:
        return self._timeline.now_s() + self._offset

    def emit(self, kind: str, **data: Any) -> Any:
        return self._timeline.emit(kind, **data)
