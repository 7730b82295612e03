"""``gauntlet up`` for local iteration: fixed ports, the services with their pids, a handle that
``run``/``chaos --stack up`` aim at (no address in the suite), a service that dies reported and
reaped, and ``gauntlet down``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil

from gauntlet.net import free_port
from tests.e2e.conftest import GAUNTLET, ROOT, gauntlet

CONTRACT = str(ROOT / "stack" / "contract.toml")


def _wait_for(what: str, log: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while what not in log.read_text():
        assert time.monotonic() < deadline, f"no {what!r} in:\n{log.read_text()}"
        time.sleep(0.2)


def test_up_keeps_a_stack_others_aim_at_by_name(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "up.log"
    with log.open("w") as out:
        up = subprocess.Popen([*GAUNTLET, "up", "--contract", CONTRACT, "--port", f"api={port}"],
                              cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
                              env={**os.environ, "COLUMNS": "200"})
    try:
        _wait_for("--stack up", log, 120)
        handle = json.loads((tmp_path / ".gauntlet" / "up.json").read_text())
        api = next(p for p in handle["parts"] if p["name"] == "api")
        assert api["url"] == f"http://127.0.0.1:{port}"
        assert f"pid {api['pid']}" in log.read_text()

        # names no address: the handle gives them. Its gates are the contract's p95 500 ms
        # and p99 1000 ms moved to 2500 and 5000 (a decidable p99 still: 368+ requests): this
        # test is about aiming at the up stack, and this host's speed that minute is not part
        # of it (2423533's CI, beside the other worker: p95 466.7 ms, 95 % CI 409.6 to 516.7)
        suite = tmp_path / "suite.toml"
        suite.write_text(f'name = "quick"\ncontract = "{CONTRACT}"\n[load]\nscenario = '
                         f'"{ROOT / "stack" / "locustfiles" / "api_mix.py"}"\nusers = 40\n'
                         'spawn_rate = 40\nduration_s = 14\n[slo]\np95_ms = 2500\n'
                         'p99_ms = 5000\n')
        ran = gauntlet("run", str(suite), "--stack", "up", "--output", "runs", cwd=tmp_path)
        assert ran.returncode == 0, ran.stdout + ran.stderr
        assert "stack up (up) in" in ran.stderr and f"127.0.0.1:{port}" in ran.stderr

        # the exit code is the one `gauntlet up` reaped; then it starts the service again
        shut = gauntlet("chaos", "shutdown", "--contract", CONTRACT, "--stack", "up",
                        "--output", "runs", cwd=tmp_path)
        assert shut.returncode == 0, shut.stdout + shut.stderr
        assert "PASS shutdown[shutdown.sigterm]: exits 0 within the deadline" in shut.stdout
        assert "it is started again after it" in shut.stderr
        _wait_for(f"service api (pid {api['pid']}) exited with code 0", log)
        _wait_for("service api started again", log)

        # a service that dies is reported and reaped, and --stack refuses a stack without it
        again = next(p for p in json.loads((tmp_path / ".gauntlet" / "up.json").read_text())
                     ["parts"] if p["name"] == "api")
        os.kill(again["pid"], signal.SIGKILL)
        _wait_for(f"service api (pid {again['pid']}) exited with signal SIGKILL", log)
        assert not psutil.pid_exists(again["pid"])  # reaped: no <defunct> left
        refused = gauntlet("chaos", "shutdown", "--contract", CONTRACT, "--stack", "up",
                           "--output", "runs", cwd=tmp_path)
        assert refused.returncode == 3
        assert "service api of the up stack exited with code -9" in refused.stderr
    finally:
        down = gauntlet("down", cwd=tmp_path)
        up.wait(timeout=60)
    assert down.returncode == 0 and "stack stopped" in down.stderr
    assert up.returncode == 0 and not (tmp_path / ".gauntlet" / "up.json").exists()
    assert gauntlet("down", cwd=tmp_path).returncode == 0  # nothing up: said, not an error
