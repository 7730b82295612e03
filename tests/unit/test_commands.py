"""Commands a contract names for a service gauntlet did not start: run in the contract's
folder, bounded, their output read from a file (a restart command that leaves a server in the
background must not hang gauntlet), and a wait command's printed exit code.

Real processes (``sh``, Python's ``http.server``), no stack."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from gauntlet.chaos.commands import CommandTimeout, restart_service, run_command
from gauntlet.chaos.experiments.shutdown import Exited, _wait_command
from gauntlet.contract import ShutdownClaim
from gauntlet.errors import InfrastructureError
from gauntlet.net import free_port


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def test_a_command_runs_in_the_given_folder_and_its_output_is_kept(tmp_path: Path) -> None:
    (tmp_path / "here.txt").write_text("found\n")
    done = run_command(["sh", "-c", "cat here.txt; echo 17"], cwd=tmp_path, timeout_s=10,
                       what="t")
    assert done.returncode == 0 and done.output.splitlines() == ["found", "17"]
    assert done.exit_code_printed() == 17
    assert run_command(["sh", "-c", "echo done"], cwd=tmp_path, timeout_s=10,
                       what="t").exit_code_printed() is None


def test_a_server_left_in_the_background_does_not_hang_the_command(tmp_path: Path) -> None:
    """A pipe would stay open while the backgrounded child holds it: run() would wait for it."""
    started = time.monotonic()
    done = run_command(["sh", "-c", "sleep 30 & echo $!"], cwd=tmp_path, timeout_s=10,
                       what="t")
    try:
        assert time.monotonic() - started < 5
    finally:
        _kill(int(done.output.strip()))


def test_a_command_past_its_bound_is_killed_and_said(tmp_path: Path) -> None:
    with pytest.raises(CommandTimeout, match=r"t: sleep 30 still running after 0.3 s"):
        run_command(["sleep", "30"], cwd=tmp_path, timeout_s=0.3, what="t")
    with pytest.raises(InfrastructureError, match="cannot run"):
        run_command(["./absent.sh"], cwd=tmp_path, timeout_s=1, what="t")


def test_a_wait_command_gives_the_exit_code_or_says_why_not(tmp_path: Path) -> None:
    claim = ShutdownClaim(name="s", pid_file="app.pid", wait=["x"], requests=["GET /"],
                          deadline_s=5)
    assert _wait_command(tmp_path, claim, ["sh", "-c", "echo 0"])(5) == Exited(0)
    assert _wait_command(tmp_path, claim, ["sh", "-c", "echo 137"])(5) == Exited(137)
    unknown = _wait_command(tmp_path, claim, ["sh", "-c", "echo no such container; exit 1"])(5)
    assert unknown is not None and unknown.code is None
    assert unknown.unknown is not None and "no such container" in unknown.unknown
    assert _wait_command(tmp_path, claim, ["sleep", "30"])(0.3) is None  # not exited in time


def test_restart_runs_the_command_and_waits_for_the_service(tmp_path: Path) -> None:
    port = free_port()
    script = tmp_path / "start.sh"
    script.write_text(f"#!/bin/sh\n{sys.executable} -m http.server {port} --bind 127.0.0.1 "
                      "> server.log 2>&1 &\necho $! > server.pid\n")
    script.chmod(0o755)
    try:
        took = restart_service([str(script)], cwd=tmp_path, timeout_s=20, what="t",
                               ready_url=f"http://127.0.0.1:{port}/")
        assert took < 20
    finally:
        _kill(int((tmp_path / "server.pid").read_text()))
    with pytest.raises(InfrastructureError, match="exited with 3"):
        restart_service(["sh", "-c", "echo broken; exit 3"], cwd=tmp_path, timeout_s=5,
                        what="t", ready_url=f"http://127.0.0.1:{port}/")
    with pytest.raises(InfrastructureError, match="not answering 200"):
        restart_service(["true"], cwd=tmp_path, timeout_s=0.5, what="t",
                        ready_url=f"http://127.0.0.1:{free_port()}/")
