"""Requests in flight as the load generator sees them, for an action that must land while
requests are inside the service: a shutdown signal is timed on what is in flight, not on a rate.

Completed samples tell which requests *were* in flight at an instant only once they have ended,
so a signal sent at a planned moment finds in flight whatever chance leaves there: a Poisson
count, which with 40 clients on the reference stack in containers was 2, 2 and 4 in three runs,
and 0 in one CI run. So, when asked (``$GAUNTLET_REPORT_INFLIGHT``), the declared load keeps a
:class:`Board` of its open requests — an entry as each is sent, removed when it is answered —
and writes it every :data:`WRITE_EVERY_S` to ``inflight-<pid>.json`` beside its samples; the
harness reads every process's latest board with :func:`in_flight`.

This module is loaded both inside Locust (the board) and by the harness (the reader), so it
imports neither Locust nor gevent. Only the declared load reports: a team's own locustfile
does not, and the experiment then acts at its planned moment, as it says on the timeline.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

ENV = "GAUNTLET_REPORT_INFLIGHT"
FILE_GLOB = "inflight-*.json"
# how often the board is written: a request held 0.5 s by a slowed link is seen within 4 % of it
WRITE_EVERY_S = 0.02
# a board older than this is a process that stopped writing (ended, or a stalled host): unread
STALE_S = 0.5
# a load with no board this long after the harness first looked writes none: it is a team's
# own locustfile, and a watcher acts as it planned, saying why (REPORTS_NONE)
FIRST_BOARD_S = 1.0
REPORTS_NONE = "the load reports no open requests (only the contract's declared load does)"


@dataclass(frozen=True)
class Open:
    """One request sent and not yet answered: its name and when it started (epoch seconds,
    the clock of the samples' ``t_start_s``)."""

    name: str
    t_start_s: float


class Board:
    """The open requests of one Locust process. Greenlets of one process share it; no lock is
    needed, as gevent switches only at I/O."""

    def __init__(self) -> None:
        self._open: dict[int, tuple[str, float]] = {}
        self._keys = itertools.count()

    def sent(self, name: str) -> int:
        key = next(self._keys)
        self._open[key] = (name, time.time())
        return key

    def answered(self, key: int) -> None:
        self._open.pop(key, None)

    def write(self, directory: Path) -> None:
        """Replace this process's board file in one rename: a reader never sees half of it."""
        path = directory / f"inflight-{os.getpid()}.json"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps({"at": time.time(), "open": list(self._open.values())}))
        os.replace(tmp, path)


def in_flight(raw_dir: Path, now_s: float | None = None) -> list[Open] | None:
    """The requests open in every process whose board is fresh (written in the last
    :data:`STALE_S`); None when no process reports one (a locustfile that does not report,
    or a load that ended)."""
    now_s = time.time() if now_s is None else now_s
    found: list[Open] | None = None
    for path in sorted(raw_dir.glob(FILE_GLOB)):
        try:
            board = json.loads(path.read_text())
            at = float(board["at"])
            rows = [Open(str(name), float(start)) for name, start in board["open"]]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # removed between the glob and the read, or not a board
        if now_s - at > STALE_S:
            continue
        found = (found or []) + rows
    return found


def remove_boards(raw_dir: Path) -> None:
    """The boards are read while the load runs, and nothing after it."""
    for path in raw_dir.glob(FILE_GLOB + "*"):  # and the .tmp a write left half done
        path.unlink(missing_ok=True)
