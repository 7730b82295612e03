"""The load generator's own stall watch (scenarios/stallwatch.py): a greenlet that wakes late
writes the span, and the harness's heartbeat records it as a ``host.stall``."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import gevent

from gauntlet.chaos.heartbeat import Heartbeat
from gauntlet.checks.windows import HOST_STALL
from gauntlet.scenarios import stallwatch
from gauntlet.timeline import RunClock, Timeline, read_events


def test_a_generator_that_stood_still_writes_the_span(tmp_path: Path) -> None:
    """A blocking call in the generator's loop (a file write the kernel held up) stops every
    greenlet: the watch wakes late and says from when to when."""
    watcher = gevent.spawn(stallwatch.watch, str(tmp_path), os.getpid())
    try:
        gevent.sleep(0.15)
        time.sleep(0.6)  # not gevent's: nothing else runs meanwhile
        gevent.sleep(0.15)
    finally:
        watcher.kill()
    offsets: dict[Path, int] = {}
    [(start, end, lag)] = stallwatch.read_new(tmp_path, offsets)
    assert 0.5 <= lag <= end - start < 1.0
    assert stallwatch.read_new(tmp_path, offsets) == []  # read once


def test_only_whole_lines_are_read(tmp_path: Path) -> None:
    path = tmp_path / "stalls-7.jsonl"
    line = json.dumps({"at": 100.0, "until": 101.0, "lag": 0.95})
    path.write_text(line + "\n" + line[:10])  # the second still being written
    offsets: dict[Path, int] = {}
    assert stallwatch.read_new(tmp_path, offsets) == [(100.0, 101.0, 0.95)]
    with path.open("a") as fh:
        fh.write(line[10:] + "\n")
    assert stallwatch.read_new(tmp_path, offsets) == [(100.0, 101.0, 0.95)]


def test_the_heartbeat_records_the_generators_stalls(tmp_path: Path) -> None:
    (tmp_path / "stalls-9.jsonl").write_text(
        json.dumps({"at": 200.0, "until": 202.5, "lag": 2.45}) + "\n")
    with Timeline(tmp_path / "events.jsonl", RunClock()) as tl:
        beat = Heartbeat(tl)
        beat.watch_generators(tmp_path)
        with beat.running():
            time.sleep(0.1)  # read at the stop, if not before
    assert [(w.start_s, w.end_s) for w in beat.stalls()] == [(200.0, 202.5)]
    [event] = [e for e in read_events(tmp_path / "events.jsonl") if e.kind == HOST_STALL]
    assert event.data["source"] == "generator" and event.data["until_s"] == 202.5
