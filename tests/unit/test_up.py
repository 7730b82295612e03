"""``gauntlet up``'s handle and watch: what it writes, what ``--stack up`` reads back, and a
service that exits — reaped at once (no ``<defunct>`` left), reported with its code, recorded
in the handle where a shutdown experiment on the up stack reads the code.

Real child processes (``sleep``), no stack: the watch is driven by hand, as the up loop does."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest

from gauntlet.boot import Endpoint, Stack
from gauntlet.boot.attached import AttachedService
from gauntlet.boot.handle import Part, UpHandle, handle_path, read_handle, write_handle
from gauntlet.errors import ConfigError, InfrastructureError
from gauntlet.procs import ManagedProcess
from gauntlet.up import describe, reap_exited


def handle(path: Path, pid: int | None, owner: int | None = None) -> UpHandle:
    return UpHandle(name="up", owner_pid=owner or os.getpid(), backend="local",
                    contract_name="shop", base_url="http://127.0.0.1:8080",
                    api_direct_url="http://127.0.0.1:41000", started_at=time.time(),
                    parts=[Part(name="api", kind="service", url="http://127.0.0.1:8080",
                                pid=pid, direct_url="http://127.0.0.1:41000",
                                log=str(path.parent / "api.log")),
                           Part(name="toxiproxy", kind="toxiproxy",
                                url="http://127.0.0.1:8474", pid=1)])


def test_the_handle_is_written_whole_and_read_back(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = handle_path("up")
    assert path == tmp_path / ".gauntlet" / "up.json"
    with pytest.raises(ConfigError, match=r"no stack is up: .* `gauntlet up`"):
        read_handle(path)
    write_handle(path, handle(path, 1234))
    back = read_handle(path)
    assert back.part("api") is not None and back.part("api").pid == 1234  # type: ignore[union-attr]
    assert back.part("toxiproxy") is None  # not a service a claim could name
    assert [p.name for p in path.parent.iterdir()] == ["up.json"]  # no staging file left
    path.write_text("{}")
    with pytest.raises(ConfigError, match="not an up handle"):
        read_handle(path)
    with pytest.raises(ConfigError, match="stack name"):
        handle_path("../x")


def test_up_prints_each_part_with_its_pid_and_address(tmp_path: Path) -> None:
    lines = describe(handle(tmp_path / "up.json", 1234), tmp_path / "up.json", 2.5)
    text = "\n".join(lines)
    assert "stack 'up' up (local) in 2.50 s — contract shop" in lines[0]
    assert "api" in lines[1] and "pid 1234" in lines[1] and "http://127.0.0.1:8080" in lines[1]
    assert "own port http://127.0.0.1:41000" in lines[1]
    assert "--stack up" in text and f"kill -HUP {os.getpid()}" in text


def test_a_service_that_exits_is_reaped_reported_and_its_code_read_back(
        tmp_path: Path) -> None:
    """Before, `gauntlet up` kept a killed service as a <defunct> child and said nothing."""
    proc = ManagedProcess("api", ["sleep", "30"], log_path=tmp_path / "api.log").start()
    try:
        assert proc.pid is not None
        path = tmp_path / ".gauntlet" / "up.json"
        up = handle(path, proc.pid)
        write_handle(path, up)
        stack = Stack(backend="local", base_url=up.base_url, services={"api": proc},
                      endpoints=(Endpoint("api", "service", up.base_url, proc.pid),))
        said: list[str] = []
        assert not reap_exited(stack, up, said.append)  # running: nothing to say
        attached = AttachedService(path, "api", proc.pid)
        attached.send_signal(signal.SIGTERM)  # as a shutdown experiment does, by pid

        def watch() -> None:  # the up loop, by hand
            deadline = time.monotonic() + 5
            while not reap_exited(stack, up, said.append) and time.monotonic() < deadline:
                time.sleep(0.05)
            write_handle(path, up)

        watcher = threading.Thread(target=watch)
        watcher.start()
        assert attached.wait(10) == -signal.SIGTERM
        watcher.join()
        assert said == [f"service api (pid {proc.pid}) exited with signal SIGTERM"]
        with pytest.raises(psutil.NoSuchProcess):  # reaped: no zombie left behind
            psutil.Process(proc.pid).status()
        part = read_handle(path).part("api")
        assert part is not None and not part.running and part.exits[0].code == -15
    finally:
        proc.stop()


def test_a_wait_on_a_stack_whose_owner_is_gone_is_an_infrastructure_error(
        tmp_path: Path) -> None:
    path = tmp_path / "up.json"
    gone = psutil.Popen(["true"])
    gone.wait()
    write_handle(path, handle(path, 99999999, owner=gone.pid))
    with pytest.raises(InfrastructureError, match=r"owner \(pid \d+\) exited"):
        AttachedService(path, "api", 99999999).wait(1)
