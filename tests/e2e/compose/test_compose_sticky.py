"""Socket.IO behind sticky sessions on the compose backend (Quemiai): two instances of the Node
service in containers behind the reference gateway's nginx, the realtime load starting on the
polling transport. Sticky per client address, the connect gate passes; round-robin (the
variant), a connection's second request meets the instance that never saw its session and the
gate fails, as on the local backend (tests/e2e/test_sticky_sessions.py).

Slow-marked, as the other compose experiments: the gateway's image is built only by
``scripts/bootstrap-containers.sh --gateway`` (no test of the default command needs it).
Run: ``GAUNTLET_SLOW=1 bash scripts/test.sh tests/e2e/compose/test_compose_sticky.py``
after that."""

from __future__ import annotations

from pathlib import Path

import pytest

from gauntlet.boot.engine import compose_environment
from gauntlet.config import load_suite
from gauntlet.runner import run_suite
from tests.e2e.experiments import ROOT

SUITE = ROOT / "suites" / "realtime-pair-compose.toml"
CONNECT = "error_rate [SIO connect]"

pytestmark = [
    pytest.mark.compose, pytest.mark.xdist_group("compose"), pytest.mark.slow,
    pytest.mark.skipif(
        "GAUNTLET_IMAGE_GATEWAY" not in compose_environment(),
        reason="no gateway image (run scripts/bootstrap-containers.sh --gateway)"),
]


def connect_gate(tmp_path: Path, variants: list[str]) -> tuple[str, str]:
    suite = load_suite(SUITE)
    suite = suite.model_copy(update={"stack": suite.stack.model_copy(
        update={"variants": variants})})
    outcome = run_suite(suite, output_dir=tmp_path)
    assert outcome.error is None, outcome.error
    verdict = next(v for v in outcome.verdicts if v.name == CONNECT)
    return verdict.status, verdict.reason


def test_sticky_sessions_keep_every_connection_on_one_instance_on_compose(
        tmp_path: Path) -> None:
    status, reason = connect_gate(tmp_path, [])
    assert status == "pass", reason


def test_without_stickiness_the_connections_fail_on_compose(tmp_path: Path) -> None:
    status, reason = connect_gate(tmp_path, ["gateway_not_sticky"])
    assert status == "fail", reason
