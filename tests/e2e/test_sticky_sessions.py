"""Socket.IO behind sticky sessions (Quemiai): two instances of the Node service behind the
reference gateway's nginx, the realtime load starting on the polling transport. Sticky per
client address, every connection's requests reach one instance and the connect gate passes;
round-robin (the variant), a connection's second request meets the instance that never saw its
session and the gate fails."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from stack.gateway.__main__ import nginx_binary
from tests.e2e.experiments import ROOT, sio_connect_gate

SUITE = ROOT / "suites" / "realtime-pair.toml"

pytestmark = pytest.mark.skipif(
    nginx_binary({}) is None or shutil.which("node") is None
    or not (ROOT / "examples" / "node-stack" / "node_modules").is_dir(),
    reason="nginx, node or examples/node-stack/node_modules missing (run scripts/setup.sh)")


def test_sticky_sessions_keep_every_socketio_connection_on_one_instance(tmp_path: Path) -> None:
    status, reason = sio_connect_gate(tmp_path, SUITE, [])
    assert status == "pass", reason


def test_without_stickiness_the_connections_fail(tmp_path: Path) -> None:
    status, reason = sio_connect_gate(tmp_path, SUITE, ["gateway_not_sticky"])
    assert status == "fail", reason
