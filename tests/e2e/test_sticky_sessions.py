"""Socket.IO behind sticky sessions (Quemiai): two instances of the Node service behind the
reference gateway's nginx, the realtime load starting on the polling transport. Sticky per
client address, every connection's requests reach one instance and the connect gate passes;
round-robin (the variant), a connection's second request meets the instance that never saw its
session and the gate fails."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gauntlet.config import load_suite
from gauntlet.runner import run_suite
from stack.gateway.__main__ import nginx_binary
from tests.e2e.experiments import ROOT

SUITE = ROOT / "suites" / "realtime-pair.toml"
CONNECT = "error_rate [SIO connect]"

pytestmark = pytest.mark.skipif(
    nginx_binary({}) is None or shutil.which("node") is None
    or not (ROOT / "examples" / "node-stack" / "node_modules").is_dir(),
    reason="nginx, node or examples/node-stack/node_modules missing (run scripts/setup.sh)")


def connect_gate(tmp_path: Path, variants: list[str]) -> tuple[str, str]:
    suite = load_suite(SUITE)
    suite = suite.model_copy(update={"stack": suite.stack.model_copy(
        update={"variants": variants})})
    outcome = run_suite(suite, output_dir=tmp_path)
    assert outcome.error is None, outcome.error
    verdict = next(v for v in outcome.verdicts if v.name == CONNECT)
    return verdict.status, verdict.reason


def test_sticky_sessions_keep_every_socketio_connection_on_one_instance(tmp_path: Path) -> None:
    status, reason = connect_gate(tmp_path, [])
    assert status == "pass", reason


def test_without_stickiness_the_connections_fail(tmp_path: Path) -> None:
    status, reason = connect_gate(tmp_path, ["gateway_not_sticky"])
    assert status == "fail", reason
