"""Fault windows and event marks from the timeline."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gauntlet.reports.marks import event_marks, fault_windows
from gauntlet.timeline import Event


def fault(at_s: float, kind: str, proxy: str = "upstream", what: str = "latency",
          description: str = "latency 500 ms") -> Event:
    return Event(at_s, kind, {"proxy": proxy, "fault": what, "description": description})


def test_applied_and_removed_pair_by_proxy_fault_and_description() -> None:
    events = [
        fault(10, "fault.applied"),
        fault(12, "fault.applied", proxy="postgres", what="down", description="down"),
        fault(20, "fault.removed", proxy="postgres", what="down", description="down"),
        fault(25, "fault.removed"),
    ]
    windows = fault_windows(events)
    assert [(w.start_s, w.end_s) for w in windows] == [(10, 25), (12, 20)]
    assert windows[0].label == "upstream: latency 500 ms"
    assert windows[1].label == "postgres: down"


def test_unmatched_applied_stays_open_and_stray_removal_is_ignored() -> None:
    windows = fault_windows([fault(3, "fault.removed"), fault(5, "fault.applied")])
    assert [(w.start_s, w.end_s) for w in windows] == [(5, None)]


def test_reset_closes_open_faults() -> None:
    windows = fault_windows([fault(5, "fault.applied"), Event(9, "toxiproxy.reset")])
    assert [(w.start_s, w.end_s) for w in windows] == [(5, 9)]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 100, allow_nan=False), st.booleans(),
                          st.sampled_from(["upstream", "postgres"])), max_size=30))
def test_every_applied_fault_gets_exactly_one_window(
    rows: list[tuple[float, bool, str]],
) -> None:
    events = [fault(at, "fault.applied" if applied else "fault.removed", proxy=proxy)
              for at, applied, proxy in rows]
    windows = fault_windows(events)
    assert len(windows) == sum(applied for _, applied, _ in rows)
    assert all(w.end_s is None or w.end_s >= w.start_s for w in windows)


def test_marks_signals_exits_breaker_transitions_and_experiment_phases() -> None:
    events = [
        Event(0, "phase", {"name": "boot"}),
        Event(1, "phase", {"name": "steady"}),
        Event(2, "breaker.state", {"name": "upstream", "state": "closed"}),
        Event(3, "breaker.state", {"name": "upstream", "state": "open"}),
        Event(4, "breaker.state", {"name": "upstream", "state": "open"}),
        Event(5, "signal.sent", {"service": "api", "signal": "SIGTERM"}),
        Event(6, "process.exit", {"service": "api", "code": 0, "after_s": 1.0}),
        Event(7, "probe", {"target": "ready", "status": 200}),
        Event(7.5, "steady.from", {"from_s": 1.8, "restarts": ["16.5 % errors (503 x27)"]}),
        Event(7.55, "steady.from", {"from_s": 7.0, "restarts": []}),
        Event(7.6, "host.stall", {"until_s": 8.0, "lag_s": 0.4}),
        Event(8, "phase", {"name": "done"}),
    ]
    marks = event_marks(events)
    assert [(m.at_s, m.label) for m in marks] == [
        (1, "steady"), (1.8, "steady (again)"), (3, "breaker upstream: open"),
        (5, "SIGTERM → api"), (6, "api exited (0)"), (7.6, ""),
    ]


def test_a_fault_changed_in_place_is_one_window_paired_by_its_toxic() -> None:
    """The status-retry experiment moves one toxic from status to status: its applied and
    removed events carry different descriptions, and the same toxic name."""
    from gauntlet.checks.windows import fault_windows as judged_windows
    from gauntlet.reports.marks import fault_windows as plotted_windows
    from gauntlet.timeline import Event

    def ev(kind: str, at: float, description: str) -> Event:
        return Event(at, kind, {"proxy": "upstream", "fault": "http_status", "toxic": "t1",
                                "description": description})

    events = [ev("fault.applied", 1.0, "status=502, share=0"),
              ev("fault.updated", 2.0, "status=502, share=0.2"),
              ev("fault.removed", 5.0, "status=404, share=0"),
              Event(9.0, "experiment.finished", {})]
    assert [(w.start_s, w.end_s) for w in judged_windows(events, "upstream")] == [(1.0, 5.0)]
    assert [(w.start_s, w.end_s) for w in plotted_windows(events)] == [(1.0, 5.0)]
