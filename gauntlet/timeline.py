"""The run timeline: ``events.jsonl``, one JSON object per line, written as things happen.

Faults applied and removed, signals sent, process exits, probe results and phase marks all go
here, stamped by the run clock. The file is flushed after every line so a crashed run still leaves
its evidence; verdicts and reports read it back with :func:`read_events`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from gauntlet.clock import RunClock

EVENTS_FILE = "events.jsonl"


@dataclass(frozen=True)
class Event:
    """One timeline entry. ``kind`` is a dotted name such as ``fault.applied`` or ``phase``."""

    at_s: float
    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"at_s": self.at_s, "kind": self.kind, **self.data}, sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> Event:
        raw = json.loads(line)
        at_s = float(raw.pop("at_s"))
        kind = str(raw.pop("kind"))
        return cls(at_s=at_s, kind=kind, data=raw)


class Timeline:
    """Append-only writer of ``events.jsonl``; thread-safe because probes run in threads."""

    def __init__(self, path: Path, clock: RunClock) -> None:
        self.path = path
        self.clock = clock
        self._lock = threading.Lock()
        self._fh: TextIO | None = path.open("a", encoding="utf-8")

    def now_s(self) -> float:
        return self.clock.now_s()

    def emit(self, kind: str, *, at_s: float | None = None, **data: Any) -> Event:
        """Write an event now, or at ``at_s`` (a time taken earlier on this clock, for an
        event whose moment is when it was *begun*, such as a fault being applied)."""
        event = Event(at_s=self.clock.now_s() if at_s is None else at_s, kind=kind, data=data)
        with self._lock:
            if self._fh is not None:
                self._fh.write(event.to_json() + "\n")
                self._fh.flush()
        return event

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None

    def __enter__(self) -> Timeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_events(path: Path) -> list[Event]:
    """Read a timeline back, in time order (an event may be written after its moment: a fault
    is stamped when it was asked for); a torn last line (crash mid-write) is skipped."""
    return sorted(_iter_events(path), key=lambda e: e.at_s)


def _iter_events(path: Path) -> Iterator[Event]:
    if not path.exists():
        return
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                yield Event.from_json(line)
            except (ValueError, KeyError):
                continue
