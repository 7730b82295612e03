"""Watching for evidence mid-run (gauntlet.chaos.watch) and the retries experiment's sizing:
pure logic, on files and events written here."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gauntlet.chaos.experiments.retries import (
    PulseBudget,
    hold_s,
    metric_delta,
    outage_s,
    shortest_wait_s,
)
from gauntlet.chaos.watch import ADAPTED, SOUGHT, LiveSamples, tried
from gauntlet.checks.markers import marked, row_marked
from gauntlet.contract import Marker, Metric, RetriesClaim
from gauntlet.scenarios.columns import COLUMNS
from gauntlet.timeline import Event

HEADER = ",".join(COLUMNS) + "\n"


def row(t: float, latency: float, status: int = 200, error: str = "",
        name: str = "GET /a") -> str:
    cells = {"t_intended_s": t, "t_start_s": t, "latency_ms": latency, "method": "GET",
             "name": name, "status": status, "error": error, "bytes": 0, "worker": "w",
             "client": "c", "token": "", "phase": "", "seq": 1}
    return ",".join(str(cells[c]) for c in COLUMNS) + "\n"


def test_live_samples_read_whole_lines_as_they_arrive(tmp_path: Path) -> None:
    path = tmp_path / "samples-1.csv"
    path.write_text(HEADER + row(10.0, 5.0) + row(10.5, 900.0, 503)[:20])
    live = LiveSamples(tmp_path)
    assert [r.t_start_s for r in live.poll()] == [10.0]
    with path.open("a") as fh:  # the torn line is completed by the next batch
        fh.write(row(10.5, 900.0, 503)[20:] + row(11.0, 1.0, 0, "connection"))
    new = live.poll()
    assert [(r.status, r.failed) for r in new] == [(503, True), (0, True)]
    assert [r.t_start_s for r in live.overlapping(11.2, 11.3)] == [10.5]
    assert live.overlapping(11.2, 11.3, names=["GET /b"]) == []


def test_live_samples_skip_a_file_not_yet_written(tmp_path: Path) -> None:
    (tmp_path / "samples-2.csv").write_text("")
    assert LiveSamples(tmp_path).poll() == []


def test_tried_names_each_adaptation_and_the_bound() -> None:
    events = [Event(1.0, SOUGHT, {"claim": "retries.db", "what": "x", "bound": "4 + 6"}),
              Event(2.0, ADAPTED, {"claim": "retries.db", "action": "another outage"}),
              Event(3.0, ADAPTED, {"claim": "retries.db", "action": "another outage"}),
              Event(3.0, ADAPTED, {"claim": "other.x", "action": "unrelated"})]
    assert tried(events, "retries.db") == "tried: another outage (2 times) (bound: 4 + 6)"
    assert tried(events, "breaker.none") == ""


def claim(**kw: object) -> RetriesClaim:
    base: dict[str, object] = {"name": "db", "link": "db", "requests": ["GET /a"],
                               "attempts": 3, "initial_s": 0.1, "max_s": 1.0,
                               "call_timeout_s": 1.0}
    return RetriesClaim.model_validate({**base, **kw})


def test_an_outage_has_a_margin_against_the_shortest_jittered_wait() -> None:
    # the Go service's claim: 3 attempts from 100 ms, cenkalti/backoff's ±50 %: the waits
    # can add up to 150 ms, and an outage of 150 ms (half the no-jitter sum) left no margin
    go = claim()
    assert shortest_wait_s(go) == pytest.approx(0.15)
    assert outage_s(go) == pytest.approx(0.075)
    # jitter added on top (tenacity) never shortens a wait
    assert outage_s(claim(jitter=0, initial_s=0.2)) == pytest.approx(0.3)
    # full jitter may retry at once: the shortest outage there is
    assert outage_s(claim(jitter=1)) == pytest.approx(0.02)


def test_an_outage_is_held_so_its_recorded_window_lasts_as_planned() -> None:
    """The window runs from the first ask to Toxiproxy to its answer to the last removal: a
    busy host's 30 ms of injections are taken out of the hold, as the removals will take as
    long (a CI run held 75 ms after the injections, and recorded 96-158 ms)."""
    assert hold_s(0.075, 0.001) == pytest.approx(0.074)
    assert hold_s(0.075, 0.030) == pytest.approx(0.045)
    # injections slower than half the outage: held as long as they took, never less
    assert hold_s(0.075, 0.050) == pytest.approx(0.050)


def test_a_counter_absent_before_its_first_increment_counts_from_zero() -> None:
    metric = Metric(name="app_retries_total", labels={"dependency": "db"})
    after = ('# HELP app_retries_total r\n# TYPE app_retries_total counter\n'
             'app_retries_total{dependency="db"} 5\n')
    # client_golang exports no series (often no TYPE) until the first retry
    assert metric_delta("", after, metric) == 5
    assert metric_delta("", "", metric) == 0
    assert metric_delta(None, after, metric) is None


def test_a_stretched_outage_is_owed_again_within_the_same_bound() -> None:
    """Old code: an outage Toxiproxy stretched past the shortest wait counted as one of the
    planned four; the check then set its requests aside, and the run had three transient
    outages where it planned four (ragbase-node: 79 of 81 absorbed, before the set-aside)."""
    owed = PulseBudget(planned=4, extra=6, shortest_s=0.3)
    assert [owed.planned_left(i) for i in range(5)] == [True] * 4 + [False]
    assert owed.transient(0.15) and not owed.transient(0.45)
    assert owed.stretched == 1 and owed.planned_left(4) and not owed.planned_left(5)
    for _ in range(20):  # however many stretch, never past planned + extra in all
        owed.transient(1.0)
    assert owed.planned_left(9) and not owed.planned_left(10) and owed.most == 10


def test_a_watcher_matches_a_marker_as_the_verdicts_do(tmp_path: Path) -> None:
    """Old code: the breaker's watchers matched the open answer's status alone, so a breaker
    whose open answer is a 201 with a header (a fallback that still writes the order) had
    every ordinary 201 counted as an open answer, and its close never seen."""
    extra = ["header:x-circuit-open", "marker:breaker.n"]
    lines = [",".join([*COLUMNS, *extra]) + "\n"]
    for status, flag, body in ((201, "", ""), (201, "notifications", ""), (201, "other", "1"),
                               (503, "notifications", "1")):
        lines.append(row(1.0, 5.0, status).rstrip("\n") + f",{flag},{body}\n")
    (tmp_path / "samples-1.csv").write_text("".join(lines))
    rows = LiveSamples(tmp_path).poll()
    frame = pd.DataFrame([{"status": r.status, **r.columns} for r in rows])
    for marker in (Marker(status=201, header="X-Circuit-Open", value="notifications"),
                   Marker(header="X-Circuit-Open"), Marker(status=503, body="open")):
        live = [row_marked(r.status, r.columns, marker, "marker:breaker.n") for r in rows]
        assert live == marked(frame, marker, "marker:breaker.n").tolist()
    assert [row_marked(r.status, r.columns,
                       Marker(status=201, header="X-Circuit-Open", value="notifications"),
                       None) for r in rows] == [False, True, False, False]
