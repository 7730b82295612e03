"""Realtime load, the pure parts: URLs, backoff, the ack/delivery book, the contract's
``[traffic.realtime]``, the suite's checks on it, and the dropped-connection gates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gauntlet.checks.slo import dropped_verdicts
from gauntlet.config import parse_suite
from gauntlet.contract import load_contract, parse_contract
from gauntlet.errors import ConfigError
from gauntlet.scenarios.realtime_spec import (
    ENV,
    Book,
    ConnectionDropped,
    backoff_delay,
    connection_counts,
    endpoint,
    lookup,
    realtime_env,
    with_query,
    ws_url,
)

ROOT = Path(__file__).resolve().parents[2]
NODE = ROOT / "examples" / "node-stack" / "contract.toml"
ECHOWS = ROOT / "tests" / "services" / "echows" / "realtime.toml"


# --- realtime_spec ----------------------------------------------------------------------------


def test_ws_url_follows_the_base_url() -> None:
    assert ws_url("http://127.0.0.1:8000", "/ws", {"token": "a b"}) == \
        "ws://127.0.0.1:8000/ws?token=a+b"
    assert ws_url("https://h.example/api/", "/ws?v=2", {"t": "x"}) == "wss://h.example/api/ws?v=2&t=x"
    assert ws_url("http://h:1", "/ws") == "ws://h:1/ws"


def test_with_query_keeps_what_is_there() -> None:
    assert with_query("http://h:1", {}) == "http://h:1"
    assert with_query("http://h:1/?a=1", {"token": "t"}) == "http://h:1/?a=1&token=t"


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [backoff_delay(0.2, 2.0, n) for n in range(6)] == [0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
    assert backoff_delay(0.5, 1.0, 10_000) == 1.0  # no overflow on a long outage


def test_book_matches_each_token_once() -> None:
    book = Book()
    book.sent("t1", deliver=True, now=100.0, perf=10.0)
    book.sent("t2", deliver=False, now=100.0, perf=10.0)
    assert book.acked("t1", perf=10.004) == pytest.approx(4.0)
    assert book.acked("t1", perf=10.005) is None  # a repeated ack is not a second sample
    assert book.acked("someone-else", perf=10.005) is None
    assert book.acked(None) is None
    assert "t1" in book.pending  # its delivery is still awaited
    assert book.delivered("t1", perf=10.010) == pytest.approx(10.0)
    assert "t1" not in book.pending
    assert book.delivered("t2", perf=10.011) is None  # no delivery was awaited for it
    left = book.outstanding()
    assert [e.token for e in left] == ["t2"] and not book.pending


def test_lookup_answers_none_for_a_frame_without_the_path() -> None:
    frame = {"said": {"ref": "abc"}, "list": [{"id": 1}]}
    assert lookup(frame, "said.ref") == "abc"
    assert lookup(frame, "list.0.id") == 1
    assert lookup(frame, "ok") is None
    assert lookup("not json", "ok") is None
    assert lookup(frame, "list.x") is None


def test_connection_counts_over_protocols() -> None:
    counts = {endpoint("socketio", "connect"): 10, "SIO reconnect": 2, "SIO dropped": 3,
              "WS connect": 5, "WS message": 9, "POST /session": 10}
    assert connection_counts(counts) == (17, 3)
    assert connection_counts({}) == (0, 0)


def test_a_drop_declares_its_own_error_class() -> None:
    assert ConnectionDropped("x").error_class == "dropped"
    assert isinstance(ConnectionDropped("x"), ConnectionError)


def test_realtime_env_carries_the_table_auth_and_token_location() -> None:
    env = realtime_env(load_contract(NODE), client_prefix="p")
    spec = json.loads(env[ENV])
    assert spec["realtime"]["protocol"] == "socketio"
    assert spec["realtime"]["token_location"] == "auth"
    assert spec["auth"]["path"] and spec["client_prefix"] == "p"
    assert realtime_env(None) == {}


def test_realtime_env_can_hold_each_connection_for_the_run() -> None:
    # the reconnect experiment's default: the contract's one message per connection becomes 0
    held = json.loads(realtime_env(load_contract(NODE), messages=0)[ENV])
    assert held["realtime"]["messages"] == 0
    kept = json.loads(realtime_env(load_contract(NODE))[ENV])
    assert kept["realtime"]["messages"] == 1


# --- the contract's [traffic.realtime] ----------------------------------------------------------


def contract_doc(realtime: dict[str, Any], auth: bool = True) -> dict[str, Any]:
    traffic: dict[str, Any] = {"realtime": realtime}
    if auth:
        traffic["auth"] = {"path": "/login", "token": "token"}
    return {"name": "rt", "traffic": traffic}


def test_shipped_realtime_contracts_load() -> None:
    node = load_contract(NODE).traffic.realtime
    assert node is not None and node.protocol == "socketio" and node.deliver_event
    echo = load_contract(ECHOWS).traffic.realtime
    assert echo is not None and echo.protocol == "websocket" and echo.token_location == "query"


@pytest.mark.parametrize(("realtime", "auth", "message"), [
    ({"protocol": "websocket", "ack": "id"}, True, "needs path"),
    ({"protocol": "websocket", "path": "/ws"}, True, "needs ack"),
    ({"protocol": "websocket", "path": "/ws", "ack": "a", "token_in": "auth"}, True,
     "token_in 'auth'"),
    ({"protocol": "socketio", "path": "socket.io"}, True, "must start with '/'"),
    ({"protocol": "socketio", "deliver": "id", "send": {"body": "x"}}, True, "{token}"),
    ({"protocol": "socketio"}, False, "declare [traffic.auth]"),
    ({"protocol": "mqtt"}, True, "protocol"),
    ({"protocol": "socketio", "reconnect": {"initial_s": 2, "max_s": 1}}, True, "below"),
    ({"protocol": "socketio", "mesages": 1}, True, "unknown key"),
])
def test_bad_realtime_tables_are_one_line(realtime: dict[str, Any], auth: bool,
                                          message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_contract(contract_doc(realtime, auth), "c.toml")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_socketio_defaults() -> None:
    contract = parse_contract(contract_doc({"protocol": "socketio", "auth": False}, auth=False))
    realtime = contract.traffic.realtime
    assert realtime is not None
    assert realtime.token_location == "auth" and realtime.transports == ["websocket"]
    assert realtime.messages == 1 and realtime.reconnect is None


# --- the suite ------------------------------------------------------------------------------


def realtime_suite(**load: Any) -> dict[str, Any]:
    return {"name": "rt", "contract": str(NODE),
            "load": {"scenario": "realtime", "model": "open", "rate": 10, "duration_s": 5,
                     "max_concurrency": 40, **load}}


def test_realtime_suite_resolves_the_harness_scenario() -> None:
    suite = parse_suite(realtime_suite(), base_dir=ROOT)
    assert suite.load is not None and suite.load.scenario_path().name == "realtime.py"


def test_realtime_needs_the_contracts_table() -> None:
    doc = realtime_suite()
    doc["contract"] = str(ROOT / "tests" / "services" / "ledger" / "contract.toml")
    with pytest.raises(ConfigError, match=r"needs \[traffic.realtime\]"):
        parse_suite(doc, base_dir=ROOT)


def test_open_pool_must_hold_the_open_connections() -> None:
    # 10 new/s, each open ~1 s (one message, think 1 s): 5 users cannot hold them
    with pytest.raises(ConfigError, match="max_concurrency 5 cannot hold") as err:
        parse_suite(realtime_suite(max_concurrency=5), base_dir=ROOT)
    assert "\n" not in str(err.value)


def test_dropped_gates_are_suite_keys() -> None:
    doc = realtime_suite()
    doc["slo"] = {"max_dropped": 0, "dropped_rate": 0.01,
                  "endpoints": {"SIO connect": {"p95_ms": 200}}}
    suite = parse_suite(doc, base_dir=ROOT)
    assert suite.slo.max_dropped == 0 and suite.slo.dropped_rate == 0.01
    doc["slo"] = {"dropped_rate": 2}
    with pytest.raises(ConfigError, match="dropped_rate"):
        parse_suite(doc, base_dir=ROOT)


# --- dropped-connection gates -----------------------------------------------------------------


def test_dropped_gates_pass_fail_and_say_when_nothing_connected() -> None:
    (count, rate) = dropped_verdicts(0, 0.05, connections=100, dropped=0)
    assert count.passed and rate.passed
    (count, rate) = dropped_verdicts(2, 0.01, connections=100, dropped=3)
    assert count.failed and rate.failed
    assert "3 dropped > 2 of 100 connection attempts" in count.reason
    (count,) = dropped_verdicts(5, None, connections=0, dropped=0)
    assert count.status == "inconclusive"
    assert dropped_verdicts(None, None, connections=10, dropped=10) == []
