"""Watching for an experiment's evidence while it runs, and saying what was tried to get it.

An experiment that ran but never exercised its mechanism has failed as an experiment, even when
its verdicts are honestly inconclusive. So each experiment names the evidence its verdicts need
(:class:`Evidence`), looks for it during the fault (:class:`LiveSamples` reads the samples the
load has written so far; a metric scrape is the other witness), and when a phase ends without
it, adapts within a bound it states — another pulse, a longer fault, more load on the guarded
requests — before it settles. Every step is an event on the timeline (``evidence.sought``,
``evidence.adapted``, ``evidence.found``, ``evidence.missing``), so the verdicts, which read
only the run dir, can say what was tried (:func:`tried`), and so can the report.

    evidence = Evidence(ctx.timeline, "retries.postgres",
                        "a request failed or was retried during an outage", bound="4 pulses")
    ...
    if not evidence.seen:
        evidence.adapt("pulse again", "the planned outages touched no request")
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gauntlet.scenarios.columns import HEADER_PREFIX, MARKER_PREFIX
from gauntlet.timeline import Event, Timeline

SOUGHT = "evidence.sought"
ADAPTED = "evidence.adapted"
FOUND = "evidence.found"
MISSING = "evidence.missing"


@dataclass(frozen=True)
class LiveSample:
    """The columns a watcher needs of one request, as the capture wrote it."""

    t_start_s: float
    latency_ms: float
    name: str
    status: int
    error: str
    client: str = ""  # the simulated client's key, when the load records one
    # the captured header:/marker: columns, raw text: what a claim's marker is matched on
    columns: Mapping[str, str] = field(default_factory=dict)

    @property
    def t_end_s(self) -> float:
        return self.t_start_s + self.latency_ms / 1000.0

    @property
    def failed(self) -> bool:
        return bool(self.error) or self.status == 0 or self.status >= 500

    def overlaps(self, start_s: float, end_s: float) -> bool:
        return self.t_start_s < end_s and self.t_end_s > start_s


class LiveSamples:
    """The samples the load generator has written so far (``raw/samples-*.csv``), read
    incrementally: whole lines only, so a batch being written is picked up at the next poll.

    The capture flushes every 0.5 s, so what a poll sees lags the requests by that much plus
    their own latency: a watcher waits that long after a fault before it concludes.
    """

    def __init__(self, raw_dir: Path) -> None:
        self.raw_dir = raw_dir
        self._offsets: dict[Path, int] = {}
        self._headers: dict[Path, list[str]] = {}
        self.rows: list[LiveSample] = []

    def poll(self) -> list[LiveSample]:
        """Read what was appended since the last poll; return the new rows."""
        new: list[LiveSample] = []
        for path in sorted(self.raw_dir.glob("samples-*.csv")):
            new += self._read(path)
        self.rows += new
        return new

    def _read(self, path: Path) -> list[LiveSample]:
        offset = self._offsets.get(path, 0)
        try:
            with path.open("rb") as fh:
                fh.seek(offset)
                chunk = fh.read()
        except OSError:
            return []
        end = chunk.rfind(b"\n")
        if end < 0:
            return []
        self._offsets[path] = offset + end + 1
        lines = chunk[: end + 1].decode("utf-8", errors="replace")
        reader = csv.reader(io.StringIO(lines))
        if path not in self._headers:
            self._headers[path] = next(reader, [])
        return list(_parse(self._headers[path], reader))

    def overlapping(self, start_s: float, end_s: float,
                    names: Iterable[str] | None = None) -> list[LiveSample]:
        wanted = set(names) if names is not None else None
        return [r for r in self.rows if r.overlaps(start_s, end_s)
                and (wanted is None or r.name in wanted)]


def _parse(header: list[str], reader: Iterable[list[str]]) -> Iterable[LiveSample]:
    try:
        at = {c: header.index(c) for c in ("t_start_s", "latency_ms", "name", "status", "error")}
    except ValueError:
        return
    client = header.index("client") if "client" in header else None
    marks = [(i, c) for i, c in enumerate(header)
             if c.startswith((HEADER_PREFIX, MARKER_PREFIX))]
    for row in reader:
        try:
            yield LiveSample(float(row[at["t_start_s"]]), float(row[at["latency_ms"]]),
                             row[at["name"]], int(row[at["status"]]), row[at["error"]],
                             row[client] if client is not None else "",
                             {c: row[i] for i, c in marks if row[i]})
        except (IndexError, ValueError):
            continue  # a watcher's view only; the merge after the run counts bad rows


class Evidence:
    """One piece of evidence an experiment seeks, with the bound of what it will try."""

    def __init__(self, timeline: Timeline, claim: str, what: str, *, bound: str) -> None:
        self.timeline = timeline
        self.claim = claim
        self.what = what
        self.bound = bound
        self.seen = False
        self.tries: list[str] = []
        timeline.emit(SOUGHT, claim=claim, what=what, bound=bound)

    def found(self, how: str) -> None:
        if not self.seen:
            self.seen = True
            self.timeline.emit(FOUND, claim=self.claim, what=self.what, how=how)

    def adapt(self, action: str, why: str) -> None:
        """Record one adaptation before it is made."""
        self.tries.append(action)
        self.timeline.emit(ADAPTED, claim=self.claim, what=self.what, action=action, why=why)

    def give_up(self) -> None:
        """The bound ran out without the evidence."""
        if not self.seen:
            self.timeline.emit(MISSING, claim=self.claim, what=self.what, bound=self.bound,
                               tried=list(self.tries))


def tried(events: Iterable[Event], claim: str) -> str:
    """What an experiment tried for its evidence, for an inconclusive verdict's reason
    ("" when it adapted nothing)."""
    actions = [e.data.get("action", "") for e in events
               if e.kind == ADAPTED and e.data.get("claim") == claim]
    if not actions:
        return ""
    counts: dict[str, int] = {}
    for action in actions:
        counts[action] = counts.get(action, 0) + 1
    parts = [f"{a} ({n} times)" if n > 1 else a for a, n in counts.items()]
    bound = next((e.data.get("bound", "") for e in events
                  if e.kind == SOUGHT and e.data.get("claim") == claim), "")
    return f"tried: {', '.join(parts)}" + (f" (bound: {bound})" if bound else "")
