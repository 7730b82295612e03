"""A process of the stack that dies under load is named, with its last log lines (exit 3).

Real processes (``ManagedProcess``), no stack: the watch only asks each one whether it runs.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest

from gauntlet.boot.stack import Stack, StackProcessDied
from gauntlet.outcome import ExitCode, exit_code
from gauntlet.procs import ManagedProcess


def _proc(tmp_path: Path, name: str, code: str) -> ManagedProcess:
    return ManagedProcess(name, [sys.executable, "-c", code], log_path=tmp_path / f"{name}.log")


def _until_dead(proc: ManagedProcess) -> None:
    deadline = time.monotonic() + 10
    while proc.alive():
        assert time.monotonic() < deadline, f"{proc.name} did not die"
        time.sleep(0.02)


def test_a_killed_stack_process_is_an_infrastructure_error(tmp_path: Path) -> None:
    sleeper = "import time\nprint('ready to serve', flush=True)\ntime.sleep(60)"
    with _proc(tmp_path, "api", sleeper) as api, _proc(tmp_path, "toxiproxy", sleeper) as proxy:
        stack = Stack("local", "http://127.0.0.1:9", processes={"api": api,
                                                                "toxiproxy": proxy},
                      logs_dir=tmp_path)
        time.sleep(0.3)  # let them write their first line
        stack.check_alive("the load")  # both run: nothing to say
        proxy.send_signal(signal.SIGKILL)
        _until_dead(proxy)
        with pytest.raises(StackProcessDied) as caught:
            stack.check_alive("the load")
    error = caught.value
    assert str(error).startswith("stack process 'toxiproxy' was killed by SIGKILL during the "
                                 "load")
    assert error.logs is not None and "ready to serve" in error.logs
    assert exit_code([], error) == ExitCode.INFRASTRUCTURE


def test_an_exit_code_is_named(tmp_path: Path) -> None:
    with _proc(tmp_path, "postgres:db", "print('FATAL: out of disk'); raise SystemExit(2)"
               ) as db:
        _until_dead(db)
        stack = Stack("local", "http://127.0.0.1:9", processes={"postgres:db": db})
        with pytest.raises(StackProcessDied, match="'postgres:db' exited with code 2") as caught:
            stack.check_alive("the load")
    assert "FATAL: out of disk" in (caught.value.logs or "")


def test_a_stack_without_processes_has_nothing_to_watch() -> None:
    Stack("external", "http://127.0.0.1:9").check_alive("the load")
