"""Realtime verdicts on synthetic records: reconnection after a drop, no acknowledged message
lost (counted from when delivery was possible again), round trips back to steady — and each
one inconclusive, never passed, when its evidence never occurred."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from gauntlet.checks.realtime import (
    NOT_LOST,
    RECONNECTED,
    RESTART_READY,
    RESTART_SIGNAL,
    ROUND_TRIP,
    realtime_steady,
    realtime_verdicts,
)
from gauntlet.contract import RealtimeClaim
from gauntlet.timeline import Event
from tests.unit.checks.factory import T0, by_name, fault

CLAIM = RealtimeClaim(name="chat", link="store", reconnect_s=3, deliver_s=2)
RESTART = CLAIM.model_copy(update={"restart": True})
FAULT = [*fault("store", 4, 7), *fault("store", 4, 7, kind="reset_peer")]


def row(at: float, name: str, ms: float = 5.0, *, client: str = "c1", token: str = "",
        error: str = "") -> dict[str, Any]:
    return {"at": at, "ms": ms, "name": name, "client": client, "token": token, "error": error}


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The columns the realtime capture writes (status 0: a WebSocket has none)."""
    t = np.array([T0 + r["at"] for r in rows], dtype="float64")
    return pd.DataFrame({
        "t_intended_s": t, "t_start_s": t,
        "latency_ms": np.array([r["ms"] for r in rows], dtype="float64"),
        "method": pd.Categorical(["WS"] * len(rows)),
        "name": pd.Categorical([r["name"] for r in rows]),
        "status": np.zeros(len(rows), dtype="int32"),
        "error": pd.Categorical([r["error"] for r in rows]),
        "bytes": 10, "worker": "w",
        "client": pd.array([r["client"] for r in rows], dtype="string"),
        "token": pd.array([r["token"] for r in rows], dtype="string"),
        "phase": pd.array([""] * len(rows), dtype="string"),
        "seq": np.full(len(rows), -1, dtype="int64"),
    })


def chat(start: float, end: float, *, client: str = "c1", step: float = 0.2,
         deliver_ms: float | None = 8.0, ack_ms: float = 4.0) -> list[dict[str, Any]]:
    """A message every ``step`` s: acked after ``ack_ms``, delivered ``deliver_ms`` after the
    send (None: never)."""
    rows = []
    for i in range(round((end - start) / step)):
        at = round(start + i * step, 6)
        token = f"{client}-{at}"
        rows.append(row(at, "message", ack_ms, client=client, token=token))
        if deliver_ms is not None:
            rows.append(row(at, "deliver", deliver_ms, client=client, token=token))
    return rows


def restart(signal_at: float, ready_at: float) -> list[Event]:
    return [Event(T0 + signal_at, RESTART_SIGNAL, {"service": "api"}),
            Event(T0 + ready_at, RESTART_READY, {"service": "api", "poll_s": 0.1})]


def judge(rows: list[dict[str, Any]], events: list[Event],
          claim: RealtimeClaim = CLAIM) -> dict[str, Any]:
    return by_name(realtime_verdicts(frame(rows), events, claim))


def healthy_restart(client: str = "c1", back_at: float = 13.5) -> list[dict[str, Any]]:
    """Connected, messages through the link fault (acked once it is back), a drop at the
    restart and a reconnect after it."""
    return [row(0.0, "connect", 60, client=client), *chat(0.5, 4.0, client=client),
            *chat(7.0, 11.0, client=client),
            row(11.0, "dropped", 0, client=client, error="dropped"),
            row(back_at, "reconnect", 20, client=client), *chat(back_at + 0.1, 20, client=client)]


def test_a_healthy_service_passes_every_verdict() -> None:
    got = judge(healthy_restart("c1") + healthy_restart("c2", 13.2), [*FAULT, *restart(9, 13)],
                RESTART)
    assert list(got) == [RECONNECTED, NOT_LOST, ROUND_TRIP]
    assert all(v.passed for v in got.values()), [v.reason for v in got.values()]
    assert all(v.claim == "realtime.chat" for v in got.values())
    assert "2 clients" in got[RECONNECTED].reason


def test_a_connection_back_too_late_fails_and_one_never_back_fails() -> None:
    late = judge(healthy_restart(back_at=16.5), [*FAULT, *restart(9, 13)], RESTART)
    assert late[RECONNECTED].failed and late[RECONNECTED].observed == 3.52  # to its handshake's end
    rows = [r for r in healthy_restart() if r["at"] < 11.5]
    never = judge([*rows, row(20, "connect", client="other")], [*FAULT, *restart(9, 13)],
                  RESTART)
    assert never[RECONNECTED].failed and "never re-established" in never[RECONNECTED].reason


def test_no_drop_is_inconclusive_and_says_which_evidence_was_missing() -> None:
    rows = [row(0.0, "connect", 60), *chat(0.5, 20)]
    got = judge(rows, FAULT)
    assert got[RECONNECTED].inconclusive
    assert "no connection dropped during the 3.0 s fault on store" in got[RECONNECTED].reason
    assert got[NOT_LOST].passed and got[ROUND_TRIP].passed


def test_messages_acked_and_never_delivered_are_lost() -> None:
    # the subscriber never came back after the link: acknowledged, never pushed
    rows = [row(0.0, "connect", 60), *chat(0.5, 4.0), *chat(7.0, 20, deliver_ms=None)]
    got = judge(rows, FAULT)
    assert got[NOT_LOST].failed and "never delivered" in got[NOT_LOST].reason
    assert got[ROUND_TRIP].failed and "none of" in got[ROUND_TRIP].reason


def test_delivery_counts_from_when_it_was_possible_again() -> None:
    # acked just before the link went, pushed 1 s after it came back: in time
    caught = [row(3.9, "message", 4, token="t"), row(3.9, "deliver", 4100, token="t")]
    got = judge([row(0.0, "connect", 60), *chat(0.5, 3.8), *caught, *chat(7.0, 20)], FAULT)
    assert got[NOT_LOST].passed, got[NOT_LOST].reason
    # ... and pushed 3 s after: late, lost
    caught[1]["ms"] = 6100
    got = judge([row(0.0, "connect", 60), *chat(0.5, 3.8), *caught, *chat(7.0, 20)], FAULT)
    assert got[NOT_LOST].failed and "1 delivered later" in got[NOT_LOST].reason


def test_a_message_pending_when_its_connection_dropped_is_not_judged() -> None:
    rows = [*healthy_restart(), row(10.95, "message", 4, token="cut")]
    got = judge(rows, [*FAULT, *restart(9, 13)], RESTART)
    assert got[NOT_LOST].passed and "1 more were awaiting delivery" in got[NOT_LOST].reason


def test_nothing_acked_after_the_fault_is_inconclusive() -> None:
    rows = [row(0.0, "connect", 60), *chat(0.5, 4.0)]
    got = judge(rows, FAULT)
    assert got[NOT_LOST].inconclusive and "during or after" in got[NOT_LOST].reason
    assert got[ROUND_TRIP].inconclusive


def test_no_fault_recorded_makes_everything_inconclusive() -> None:
    got = judge([row(0.0, "connect", 60), *chat(0.5, 20)], [])
    assert all(v.inconclusive for v in got.values())


def test_slow_round_trips_after_recovery_fail() -> None:
    rows = [row(0.0, "connect", 60), *chat(0.5, 4.0), *chat(7.0, 20, deliver_ms=400)]
    assert judge(rows, FAULT)[ROUND_TRIP].failed


def test_steady_state_counts_failed_handshakes_and_drops_as_errors() -> None:
    rows = [row(0.0, "connect", 60), *chat(0.5, 4.0)]
    steady = realtime_steady(frame(rows), FAULT, CLAIM, warmup_s=0.5, max_error_rate=0.05,
                             p95_ms=None)
    assert steady.passed
    broken = rows + [row(1.0 + i * 0.1, "connect", 5, client=f"x{i}", error="reset")
                     for i in range(20)]
    steady = realtime_steady(frame(broken), FAULT, CLAIM, warmup_s=0.5, max_error_rate=0.05,
                             p95_ms=None)
    assert steady.failed


@given(st.lists(st.floats(0.5, 19.5), min_size=1, max_size=30),
       st.floats(0.0, 10.0), st.booleans())
def test_lost_messages_never_pass(lost_at: list[float], deliver_s: float, restarted: bool
                                  ) -> None:
    """However the losses fall, a record with an acknowledged message that was never delivered
    (and was due before the record ended) never passes that verdict."""
    claim = CLAIM.model_copy(update={"deliver_s": max(0.1, deliver_s), "restart": restarted})
    rows = [row(0.0, "connect", 60), *chat(0.5, 40)]  # goes on past every deadline
    rows += [row(at, "message", 4, token=f"lost-{i}") for i, at in enumerate(lost_at)]
    events = [*FAULT, *(restart(9, 13) if restarted else [])]
    verdict = judge(rows, events, claim)[NOT_LOST]
    assert not verdict.passed


def test_a_round_trip_just_over_the_bound_is_marginal_not_a_fail() -> None:
    """CI, Node chat on a starved host: a p95 of 60 ms over 82 messages after recovery against
    a 57 ms bound (steady 7 ms). Old code: fail. The p95's interval reaches below the bound."""
    after = chat(7.0, 15.2, step=0.1, deliver_ms=10)
    delivered = [r for r in after if r["name"] == "deliver"]
    assert len(delivered) == 82
    for r in delivered[::16]:
        r["ms"] = 60.0  # 6 slow deliveries of 82 set the p95
    rows = [row(0.0, "connect", 60), *chat(0.5, 4.0, deliver_ms=7), *after]
    got = judge(rows, FAULT)[ROUND_TRIP]
    assert got.inconclusive and got.marginal, got.reason
    assert "marginal" in got.reason
