"""A managed RabbitMQ link on the local backend: a private broker per boot (its own node name,
ports and epmd), reached through the link's Toxiproxy, and nothing of it left afterwards — no
broker, no epmd daemon."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from gauntlet.boot import boot
from gauntlet.boot.rabbitmq import AMQP_HEADER, locate_rabbitmq
from gauntlet.config import parse_suite

pytestmark = pytest.mark.skipif(locate_rabbitmq() is None,
                                reason="rabbitmq-server is not installed (scripts/setup.sh)")

CONTRACT = """
name = "broker-boot"
[probes]
live = "/"
ready = "/"
[links.bus]
managed = "rabbitmq"
[services.web]
main = true
command = ["{python}", "-m", "http.server", "{port}", "--bind", "127.0.0.1"]
ready = "/"
local_env = { BUS_URL = "{links.bus.url}" }
"""


def erlang_processes() -> set[str]:
    done = subprocess.run(["pgrep", "-f", "gauntlet-bus-"], capture_output=True, text=True,
                          check=False)
    return set(done.stdout.split())


def test_a_private_broker_answers_through_its_proxy_and_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "contract.toml").write_text(CONTRACT)
    suite = parse_suite({"name": "b", "contract": str(tmp_path / "contract.toml"), "stack": {}},
                        needs_work=False)
    before = erlang_processes()
    with boot(suite, logs_dir=tmp_path / "logs") as stack:
        bus = next(e for e in stack.endpoints if e.name == "bus")
        assert bus.url.startswith("amqp://guest:guest@127.0.0.1:")
        port = int(bus.url.rsplit(":", 1)[1].strip("/"))
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(AMQP_HEADER)
            assert sock.recv(1) == b"\x01"  # Connection.Start, through Toxiproxy
        epmd_pid = stack.processes["epmd:bus"].pid
        assert epmd_pid is not None and Path(f"/proc/{epmd_pid}").exists()
    assert erlang_processes() <= before  # the node is gone
    assert not Path(f"/proc/{epmd_pid}").exists()  # and its epmd, which a daemon would outlive
    assert "Server startup complete" in (tmp_path / "logs" / "bus.log").read_text()
