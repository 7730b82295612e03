"""A server that dies because its port was taken between the pick and its bind is a
:class:`PortTakenError` (the local boot then boots again with fresh ports); any other early
death stays a plain :class:`BootError`. Real processes, a real held port."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from gauntlet.errors import BootError, PortTakenError
from gauntlet.procs import ManagedProcess

BIND = "import socket,sys; socket.socket().bind(('127.0.0.1', int(sys.argv[1])))"


def test_a_server_that_lost_its_port_is_a_port_taken_error(tmp_path: Path) -> None:
    """Old code: the broker's eaddrinuse (its AMQP port taken while it booted) was a BootError
    like any other, and the run stopped with exit 3 where a boot on other ports would do."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        with ManagedProcess("server", [sys.executable, "-c", BIND, str(port)],
                            log_path=tmp_path / "server.log") as proc, \
                pytest.raises(PortTakenError, match="exited with code 1 before listening"):
            proc.wait_until(lambda: False, timeout_s=10, what="listening")


def test_any_other_early_death_is_a_boot_error(tmp_path: Path) -> None:
    with ManagedProcess("server", [sys.executable, "-c", "raise SystemExit(2)"],
                        log_path=tmp_path / "server.log") as proc, \
            pytest.raises(BootError) as raised:
        proc.wait_until(lambda: False, timeout_s=10, what="listening")
    assert not isinstance(raised.value, PortTakenError)
