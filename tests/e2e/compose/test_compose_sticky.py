"""Socket.IO behind sticky sessions on the compose backend (Quemiai): two instances of the Node
service in containers behind the reference gateway's nginx, the realtime load starting on the
polling transport. Sticky per client address, the connect gate passes; round-robin (the
variant), a connection's second request meets the instance that never saw its session and the
gate fails, as on the local backend (tests/e2e/test_sticky_sessions.py). The ``affinity``
claim's verdict likewise, its evidence the bytes each instance's link carried through the
overlay's Toxiproxy.

Slow-marked, as the other compose experiments: the gateway's image is built only by
``scripts/bootstrap-containers.sh --gateway`` (no test of the default command needs it).
Run: ``GAUNTLET_SLOW=1 bash scripts/test.sh tests/e2e/compose/test_compose_sticky.py``
after that."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.experiments import ROOT, compose_extra, explain, run, sio_connect_gate

SUITE = ROOT / "suites" / "realtime-pair-compose.toml"
PAIR = ROOT / "contracts" / "gateway-node-pair-compose.toml"
KEPT = "sessions kept on one instance [socketio]"

pytestmark = compose_extra("GAUNTLET_IMAGE_GATEWAY", "gateway", "gateway")


def test_sticky_sessions_keep_every_connection_on_one_instance_on_compose(
        tmp_path: Path) -> None:
    status, reason = sio_connect_gate(tmp_path, SUITE, [])
    assert status == "pass", reason


def test_without_stickiness_the_connections_fail_on_compose(tmp_path: Path) -> None:
    status, reason = sio_connect_gate(tmp_path, SUITE, ["gateway_not_sticky"])
    assert status == "fail", reason


def test_the_affinity_claim_on_compose_passes_sticky_and_fails_round_robin(
        tmp_path: Path) -> None:
    sticky = run(tmp_path / "sticky", "affinity", contract=PAIR, stack={"backend": "compose"})
    assert sticky[KEPT].passed, explain(sticky)
    spread = run(tmp_path / "spread", "affinity", contract=PAIR, stack={"backend": "compose"},
                 variants=["gateway_not_sticky"])
    assert spread[KEPT].failed, explain(spread)
