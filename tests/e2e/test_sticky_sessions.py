"""Socket.IO behind sticky sessions (Quemiai): two instances of the Node service behind the
reference gateway's nginx, the realtime load starting on the polling transport. Sticky per
client address, every connection's requests reach one instance and the connect gate passes;
round-robin (the variant), a connection's second request meets the instance that never saw its
session and the gate fails.

The ``affinity`` claim says the same as a verdict, with its evidence: both instances served
sessions (their links' bytes, as the harness's Toxiproxy counted them). A gateway that sends
everyone to one instance keeps every session together too, and that is no pass."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from stack.gateway.__main__ import nginx_binary
from tests.e2e.experiments import ROOT, explain, run, sio_connect_gate

SUITE = ROOT / "suites" / "realtime-pair.toml"
PAIR = ROOT / "contracts" / "gateway-node-pair.toml"
KEPT = "sessions kept on one instance [socketio]"

pytestmark = pytest.mark.skipif(
    nginx_binary({}) is None or shutil.which("node") is None
    or not (ROOT / "examples" / "node-stack" / "node_modules").is_dir(),
    reason="nginx, node or examples/node-stack/node_modules missing (run scripts/setup.sh)")


# the suite's connect gate says what the affinity verdicts below say, without their evidence
# that both instances served: with the slow tests (GAUNTLET_SLOW=1), to keep the default run
# within its time
@pytest.mark.slow
def test_sticky_sessions_keep_every_socketio_connection_on_one_instance(tmp_path: Path) -> None:
    status, reason = sio_connect_gate(tmp_path, SUITE, [])
    assert status == "pass", reason


@pytest.mark.slow
def test_without_stickiness_the_connections_fail(tmp_path: Path) -> None:
    status, reason = sio_connect_gate(tmp_path, SUITE, ["gateway_not_sticky"])
    assert status == "fail", reason


def test_the_affinity_claim_passes_with_both_instances_serving(tmp_path: Path) -> None:
    verdicts = run(tmp_path, "affinity", contract=PAIR)
    assert verdicts[KEPT].passed, explain(verdicts)
    assert "connects and messages succeeded" in verdicts[KEPT].reason
    assert "the instances received api " in verdicts[KEPT].reason


def test_the_affinity_claim_fails_round_robin(tmp_path: Path) -> None:
    verdicts = run(tmp_path, "affinity", contract=PAIR, variants=["gateway_not_sticky"])
    assert verdicts[KEPT].failed, explain(verdicts)
    assert "connects" in verdicts[KEPT].reason and "failed" in verdicts[KEPT].reason


def test_one_instance_serving_every_session_is_no_pass(tmp_path: Path) -> None:
    """The gateway balances over one instance only (the second runs, idle): every session
    succeeds, and the verdict is inconclusive, naming the spread it saw."""
    one = tmp_path / "one.toml"
    one.write_text(f'extends = "{PAIR}"\nname = "pair-one-serving"\n\n'
                   '[services.gateway.local_env]\n'
                   'GATEWAY_UPSTREAM = "{links.api.host}:{links.api.port}"\n')
    verdicts = run(tmp_path, "affinity", contract=one)
    assert verdicts[KEPT].inconclusive, explain(verdicts)
    assert "did not spread the sessions (api 100%, api2 0%" in verdicts[KEPT].reason
