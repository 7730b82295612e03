"""Sessions behind a balancer kept on one instance: passes with every instance serving and the
sessions intact, fails when sessions broke across instances, and is inconclusive when the
balancer never spread them (one instance served everything) or nothing counted the bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gauntlet.chaos.toxiproxy import proxy_bytes
from gauntlet.checks.affinity import KEPT, MIN_SHARE, affinity_verdicts, served
from gauntlet.contract import AffinityClaim, load_contract, parse_contract
from gauntlet.errors import ConfigError
from gauntlet.scenarios.realtime_spec import CONNECT, MESSAGE
from tests.unit.checks.factory import ask, frame

ROOT = Path(__file__).resolve().parents[3]
CLAIM = AffinityClaim(name="socketio", instances=["api", "api2"])


def sessions(n: int, broken: int = 0) -> list[dict[str, Any]]:
    """``n`` sessions, a connect and a message each; the last ``broken`` refused at connect."""
    rows = []
    for i in range(n):
        refused = i >= n - broken
        rows.append(ask(i * 0.05, 30, 0 if refused else 200, CONNECT, client=f"c{i}"))
        if not refused:
            rows.append(ask(i * 0.05 + 0.03, 5, 200, MESSAGE, client=f"c{i}"))
    return rows


def test_sessions_intact_with_every_instance_serving_pass() -> None:
    (verdict,) = affinity_verdicts(frame(sessions(200)), {"carried": {"api": 510_000,
                                                                      "api2": 490_000}}, CLAIM)
    assert verdict.passed and verdict.name == f"{KEPT} [socketio]"
    assert verdict.claim == "affinity.socketio"
    assert "100.0% of connects and messages succeeded" in verdict.reason
    assert "the instances received api 51%, api2 49% of 1.0 MB of requests" in verdict.reason


def test_sessions_broken_across_instances_fail_with_the_counts() -> None:
    (verdict,) = affinity_verdicts(frame(sessions(200, broken=90)),
                                   {"carried": {"api": 400_000, "api2": 380_000}}, CLAIM)
    assert verdict.failed
    assert "90 of 200 connects and 0 of 110 messages failed" in verdict.reason


def test_one_instance_serving_every_session_is_no_evidence() -> None:
    """Every client sent to one instance keeps every session together without showing the
    balancer can: inconclusive, whatever the sessions did (a pass here would be a check that
    cannot fail on a single instance)."""
    for rows in (sessions(200), sessions(200, broken=90)):
        (verdict,) = affinity_verdicts(frame(rows), {"carried": {"api": 900_000, "api2": 2_000}},
                                       CLAIM)
        assert verdict.inconclusive
        assert ("did not spread the sessions (api 100%, api2 0% of 902.0 kB of requests)"
                in verdict.reason)


def test_uncounted_bytes_and_no_sessions_are_inconclusive() -> None:
    unseen = {"unseen": "the Toxiproxy at http://x:8474 keeps no byte counts"}
    (verdict,) = affinity_verdicts(frame(sessions(50)), unseen, CLAIM)
    assert verdict.inconclusive and "keeps no byte counts: whether sessions met" in verdict.reason
    (verdict,) = affinity_verdicts(frame([*sessions(0), ask(0.1)]),
                                   {"carried": {"api": 1, "api2": 1}}, CLAIM)
    assert verdict.inconclusive and "no session was opened" in verdict.reason


def test_served_needs_a_tenth_of_the_bytes_on_every_instance() -> None:
    assert served({"api": 90, "api2": 10}, ["api", "api2"])[0]
    assert not served({"api": 91, "api2": 9}, ["api", "api2"])[0]
    assert not served({}, ["api", "api2"])[0] and MIN_SHARE == 0.1


def test_proxy_bytes_counts_one_direction_per_proxy() -> None:
    text = "\n".join([
        '# TYPE toxiproxy_proxy_received_bytes_total counter',
        'toxiproxy_proxy_received_bytes_total{direction="downstream",listener="l",'
        'proxy="api2",upstream="u"} 3476',
        'toxiproxy_proxy_received_bytes_total{direction="upstream",listener="l",'
        'proxy="api2",upstream="u"} 79',
        'toxiproxy_proxy_sent_bytes_total{direction="upstream",listener="l",'
        'proxy="api2",upstream="u"} 79',
        'promhttp_metric_handler_errors_total{cause="encoding"} 0', ""])
    assert proxy_bytes(text) == {"api2": 79}  # requests: what clients sent upstream
    assert proxy_bytes(text, "downstream") == {"api2": 3476}


def test_the_pair_contract_claims_affinity_over_both_instances() -> None:
    contract = load_contract(ROOT / "contracts" / "gateway-node-pair.toml")
    (claim,) = contract.claims.affinity
    assert claim.instances == ["api", "api2"] and claim.min_success == 0.99


def _doc(realtime: dict[str, Any] | None, instances: list[str]) -> dict[str, Any]:
    traffic: dict[str, Any] = {}
    if realtime is not None:
        traffic["realtime"] = {"auth": False, **realtime}
    return {"name": "pair", "links": {"api": {}, "api2": {}}, "traffic": traffic,
            "claims": {"affinity": [{"name": "s", "instances": instances}]}}


@pytest.mark.parametrize(("realtime", "instances", "message"), [
    (None, ["api", "api2"], "needs [traffic.realtime]"),
    ({"protocol": "socketio"}, ["api", "api2"], "never meets a second instance"),
    ({"protocol": "websocket", "path": "/ws", "ack": "id"}, ["api", "api2"],
     "never meets a second instance"),
    ({"protocol": "socketio", "transports": ["polling"]}, ["api", "nope"],
     "instances name no link of the contract: 'nope'"),
    ({"protocol": "socketio", "transports": ["polling"]}, ["api", "api"], "a link twice"),
    ({"protocol": "socketio", "transports": ["polling"]}, ["api"], "at least 2"),
])
def test_a_claim_its_load_cannot_exercise_is_refused_in_one_line(
        realtime: dict[str, Any] | None, instances: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_contract(_doc(realtime, instances), "c.toml")
    assert message in str(err.value) and "\n" not in str(err.value)
