"""A server that dies because its port was taken between the pick and its bind is a
:class:`PortTakenError` (the local boot then boots again with fresh ports); any other early
death stays a plain :class:`BootError`. Real processes, a real held port."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from gauntlet.boot import _files, _set_aside
from gauntlet.boot.binaries import locate
from gauntlet.boot.rabbitmq import ERLANG_DIRS, epmd_answers
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


def test_an_earlier_starts_lines_in_the_same_log_say_nothing_of_this_one(tmp_path: Path) -> None:
    """Logs are appended: a boot retried after a lost port starts the process again on the
    same file, and its old "address already in use" must not make every later death a port
    lost (it used to: the whole file was read)."""
    log = tmp_path / "server.log"
    log.write_text("OSError: [Errno 98] Address already in use\n")
    with ManagedProcess("server", [sys.executable, "-c", "raise SystemExit(2)"],
                        log_path=log) as proc, pytest.raises(BootError) as raised:
        proc.wait_until(lambda: False, timeout_s=10, what="listening")
    assert not isinstance(raised.value, PortTakenError)


@pytest.mark.skipif(locate("epmd", ERLANG_DIRS) is None,
                    reason="no epmd (scripts/setup.sh installs rabbitmq-server)")
def test_an_epmd_whose_port_is_taken_is_a_port_taken_error(tmp_path: Path) -> None:
    """epmd exits 0, and without -d without a word, when its port is taken; a bare connect to
    the port reached whatever held it. Now epmd -d says so, and readiness asks epmd itself."""
    epmd = str(locate("epmd", ERLANG_DIRS))
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        assert not epmd_answers(port)  # something listens, and it is not epmd
        with ManagedProcess("epmd", [epmd, "-port", str(port), "-address", "127.0.0.1", "-d"],
                            log_path=tmp_path / "epmd.log") as proc, \
                pytest.raises(PortTakenError, match="before answering"):
            proc.wait_until(lambda: epmd_answers(port), timeout_s=10, what="answering")


@pytest.mark.skipif(locate("epmd", ERLANG_DIRS) is None,
                    reason="no epmd (scripts/setup.sh installs rabbitmq-server)")
def test_an_epmd_on_a_free_port_answers_with_its_port(tmp_path: Path) -> None:
    epmd = str(locate("epmd", ERLANG_DIRS))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with ManagedProcess("epmd", [epmd, "-port", str(port), "-address", "127.0.0.1", "-d"],
                        log_path=tmp_path / "epmd.log") as proc:
        proc.wait_until(lambda: epmd_answers(port), timeout_s=10, what="answering")
        assert proc.alive()


def test_a_failed_boots_logs_are_set_aside_for_the_next(tmp_path: Path) -> None:
    """The retried boot's services start on fresh files: a logs claim then judges the lines of
    the boot that served, not a bind error of the one that never did."""
    (tmp_path / "judge.log").write_text("the run's own log, there before the boot\n")
    before = _files(tmp_path)
    (tmp_path / "api.log").write_text("OSError: [Errno 98] Address already in use\n")
    (tmp_path / "postgres.log").write_text("ready\n")
    _set_aside(tmp_path, before, 1)
    assert _files(tmp_path) == {"judge.log"}
    assert sorted(p.name for p in (tmp_path / "boot-attempt-1").iterdir()) == \
        ["api.log", "postgres.log"]
    _set_aside(None, set(), 2)  # no logs dir: nothing to do
