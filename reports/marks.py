"""What the timeline contributes to a plot: fault windows to shade and events to mark.

A latency spike means little until it is placed against what was done to the system, so every
time plot carries the fault windows and the moments (signals, exits, breaker transitions,
experiment phases) that explain it. This module only turns events into positions and labels;
drawing is :mod:`gauntlet.reports.plots`' job.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gauntlet.timeline import Event

# run-level phases are bookkeeping; an experiment's phases (steady, fault, recovery) explain data
RUN_PHASES = frozenset({"boot", "load", "experiments", "teardown", "done"})


@dataclass(frozen=True)
class FaultWindow:
    """A fault in force from ``start_s`` to ``end_s`` (None: never removed, shade to the end)."""

    start_s: float
    end_s: float | None
    label: str


@dataclass(frozen=True)
class Mark:
    """One moment worth a vertical line: ``kind`` picks its colour, ``label`` is printed."""

    at_s: float
    kind: str
    label: str


def _fault_key(event: Event) -> tuple[str, str, str]:
    """The toxic's name when the event has it (a fault changed in place keeps its name, not
    its description), else the description (run dirs written before the name was)."""
    data = event.data
    return (str(data.get("proxy", "")), str(data.get("fault", "")),
            str(data.get("toxic") or data.get("description", "")))


def _fault_label(event: Event) -> str:
    """``upstream: latency 500 ms``: the description when it names the fault, else both."""
    proxy, fault, description = _fault_key(event)
    if description and (not fault or fault in description):
        what = description
    else:
        what = f"{fault} ({description})" if description else fault or "fault"
    return f"{proxy}: {what}" if proxy and proxy not in what else what


def fault_windows(events: Iterable[Event]) -> list[FaultWindow]:
    """Pair ``fault.applied`` with the next ``fault.removed`` of the same proxy, fault and
    description. A removal with nothing open is ignored; an applied fault never removed (the run
    crashed, or the reset was the only undo) stays open to the end of the plot."""
    open_: dict[tuple[str, str, str], list[Event]] = {}
    windows: list[FaultWindow] = []
    for event in sorted(events, key=lambda e: e.at_s):
        if event.kind == "fault.applied":
            open_.setdefault(_fault_key(event), []).append(event)
        elif event.kind == "fault.removed":
            stack = open_.get(_fault_key(event))
            if stack:
                applied = stack.pop(0)
                windows.append(FaultWindow(applied.at_s, event.at_s, _fault_label(applied)))
        elif event.kind == "toxiproxy.reset":
            # a reset removes every toxic: it closes whatever is still open
            for stack in open_.values():
                windows.extend(FaultWindow(a.at_s, event.at_s, _fault_label(a)) for a in stack)
                stack.clear()
    for stack in open_.values():
        windows.extend(FaultWindow(a.at_s, None, _fault_label(a)) for a in stack)
    return sorted(windows, key=lambda w: w.start_s)


def event_marks(events: Iterable[Event]) -> list[Mark]:
    """Signals, process exits, breaker *transitions* (a polled state repeats; only changes
    count), experiment phases (a steady phase started again included) and the stalls of the
    host the harness's heartbeat saw."""
    marks: list[Mark] = []
    breaker: dict[str, str] = {}
    for event in sorted(events, key=lambda e: e.at_s):
        data = event.data
        if event.kind == "signal.sent":
            label = f"{data.get('signal', 'signal')} → {data.get('service', '?')}"
            marks.append(Mark(event.at_s, "signal", label))
        elif event.kind == "process.exit":
            label = f"{data.get('service', '?')} exited ({data.get('code', '?')})"
            marks.append(Mark(event.at_s, "exit", label))
        elif event.kind == "breaker.state":
            name, state = str(data.get("name", "breaker")), str(data.get("state", "?"))
            if breaker.get(name, "closed") != state:
                marks.append(Mark(event.at_s, f"breaker-{state}", f"breaker {name}: {state}"))
            breaker[name] = state
        elif event.kind == "phase":
            name = str(data.get("name", ""))
            if name and name not in RUN_PHASES:
                marks.append(Mark(event.at_s, "phase", name))
        elif event.kind == "steady.from" and data.get("restarts"):
            marks.append(Mark(float(data.get("from_s", event.at_s)), "phase",
                              "steady (again)"))
        elif event.kind == "host.stall":
            # the harness stopped running here: a spike under this line is the host's. No
            # label: a busy host's stalls must not use up the labels of signals and breakers
            marks.append(Mark(event.at_s, "stall", ""))
    return sorted(marks, key=lambda m: m.at_s)
