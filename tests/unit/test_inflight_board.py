"""The open-request board the declared load writes and the harness reads (scenarios/inflight.py):
what a shutdown signal is timed on. A board that is stale, torn or absent must read as "nothing
reported", never as requests in flight."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from gauntlet.chaos.experiments.shutdown import held_requests
from gauntlet.scenarios.inflight import STALE_S, Board, Open, in_flight, remove_boards


def test_a_request_is_on_the_board_from_its_sending_to_its_answer(tmp_path: Path) -> None:
    board = Board()
    first = board.sent("POST /orders")
    board.sent("GET /orders")
    board.write(tmp_path)
    seen = in_flight(tmp_path)
    assert seen is not None and sorted(o.name for o in seen) == ["GET /orders", "POST /orders"]
    assert all(time.time() - o.t_start_s < 5 for o in seen)
    board.answered(first)
    board.answered(first)  # answered twice (a retry of the capture): no error
    board.write(tmp_path)
    assert [o.name for o in in_flight(tmp_path) or []] == ["GET /orders"]
    assert [p.name for p in tmp_path.iterdir()] == [f"inflight-{os.getpid()}.json"]


def test_boards_of_every_process_are_read_together(tmp_path: Path) -> None:
    now = time.time()
    for pid, names in ((11, ["a"]), (12, ["b", "c"])):
        (tmp_path / f"inflight-{pid}.json").write_text(
            json.dumps({"at": now, "open": [[n, now - 0.1] for n in names]}))
    seen = in_flight(tmp_path, now)
    assert seen is not None and sorted(o.name for o in seen) == ["a", "b", "c"]
    assert Open("a", now - 0.1) in seen


def test_nothing_reported_is_none_not_an_empty_board(tmp_path: Path) -> None:
    assert in_flight(tmp_path) is None  # a locustfile that does not report
    now = time.time()
    (tmp_path / "inflight-1.json").write_text(json.dumps({"at": now, "open": []}))
    assert in_flight(tmp_path, now) == []  # reported: nothing open


def test_a_stale_or_torn_board_is_not_read(tmp_path: Path) -> None:
    now = time.time()
    (tmp_path / "inflight-1.json").write_text(
        json.dumps({"at": now - STALE_S - 0.1, "open": [["a", now - 1]]}))
    (tmp_path / "inflight-2.json").write_text('{"at": ')
    (tmp_path / "inflight-3.json").write_text(json.dumps({"open": [["a", now]]}))
    assert in_flight(tmp_path, now) is None


def test_boards_are_removed_with_their_temporary_files(tmp_path: Path) -> None:
    Board().write(tmp_path)
    (tmp_path / "inflight-9.json.tmp").write_text("{}")
    (tmp_path / "samples-9.csv").write_text("t\n")
    remove_boards(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["samples-9.csv"]


def test_the_signal_waits_for_a_request_the_link_holds() -> None:
    """Open longer than it typically takes (so the slowed link holds it) and for at most the
    bound (half the hold: the rest is left for the signal to land)."""
    now = 1000.0
    typical = {"POST /generate": 120.0, "GET /orders": 8.0}
    board = [Open("POST /generate", now - 0.05),   # maybe a normal call still: not yet
             Open("POST /generate", now - 0.2),    # held, 0.05 s of the bound left
             Open("POST /generate", now - 0.3),    # held past the bound: may end first
             Open("GET /other", now - 0.2)]        # not a request of the claim
    held = held_requests(board, {"POST /generate", "GET /orders"}, typical, 0.25, now)
    assert held == [Open("POST /generate", now - 0.2)]
    # a request whose usual latency is past half the bound counts from half the bound
    slow = held_requests([Open("GET /orders", now - 0.13)], {"GET /orders"},
                         {"GET /orders": 900.0}, 0.25, now)
    assert slow == [Open("GET /orders", now - 0.13)]
    # no link to hold them: any open request of the claim
    assert held_requests([Open("GET /orders", now - 0.001)], {"GET /orders"}, typical,
                         float("inf"), now) == [Open("GET /orders", now - 0.001)]
