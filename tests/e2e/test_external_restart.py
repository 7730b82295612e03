"""A shutdown claim on the external backend, through a PID file, with the team's restart
command: the experiment passes (no exit code claimed), the run says before it starts that the
service will be started again, the command (``./restart.sh``, from the contract's folder) runs
after the experiment, and the next run finds the stack whole.

The team's stack is the reference stack kept by ``gauntlet up``; its restart script plays the
team's supervisor (SIGHUP to ``gauntlet up``) and writes the new pid to the PID file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

from gauntlet.net import free_port
from tests.e2e.conftest import GAUNTLET, ROOT, gauntlet

REFERENCE = ROOT / "stack" / "contract.toml"

RESTART = '''#!{python}
"""The team's supervisor starts the service again; the new pid goes to the PID file."""
import json, os, signal, sys, time
from pathlib import Path

handle = Path({handle!r})
before = Path("api.pid").read_text().strip()  # the contract's folder: commands run there
os.kill(json.loads(handle.read_text())["owner_pid"], signal.SIGHUP)
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    api = next(p for p in json.loads(handle.read_text())["parts"] if p["name"] == "api")
    if str(api["pid"]) != before and all(e["pid"] != api["pid"] for e in api["exits"]):
        Path("api.pid").write_text(str(api["pid"]))
        sys.exit(0)
    time.sleep(0.1)
sys.exit("not restarted")
'''


def test_the_restart_command_starts_the_service_again(tmp_path: Path) -> None:
    port = free_port()
    stack_dir, team, elsewhere = tmp_path / "stack", tmp_path / "team", tmp_path / "elsewhere"
    for folder in (stack_dir, team, elsewhere):
        folder.mkdir()
    log = stack_dir / "up.log"
    with log.open("w") as out:
        up = subprocess.Popen([*GAUNTLET, "up", "--contract", str(REFERENCE), "--port",
                               f"api={port}"], cwd=stack_dir, stdout=out,
                              stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "200"})
    try:
        handle_path = stack_dir / ".gauntlet" / "up.json"
        deadline = time.monotonic() + 120
        while not handle_path.exists():
            assert up.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        handle = json.loads(handle_path.read_text())
        api = next(p for p in handle["parts"] if p["name"] == "api")
        (team / "api.pid").write_text(str(api["pid"]))
        restart = team / "restart.sh"
        restart.write_text(RESTART.format(python=sys.executable, handle=str(handle_path)))
        restart.chmod(0o755)
        (team / "contract.toml").write_text(
            f'extends = "{REFERENCE}"\nname = "reference-stack"\n'
            '[[claims.shutdown]]\nname = "sigterm"\nservice = ""\npid_file = "api.pid"\n'
            'exit_code = "any"\nrestart = ["./restart.sh"]\n')
        (team / "suite.toml").write_text(
            'name = "team"\ncontract = "contract.toml"\n[stack]\nbackend = "external"\n'
            f'base_url = "http://127.0.0.1:{port}"\n'
            f'toxiproxy_url = "{handle["toxiproxy_url"]}"\n'
            f'database_url = "{handle["database_url"]}"\n')

        for attempt in (1, 2):  # the second finds the service the first restarted
            pid = int((team / "api.pid").read_text())
            shut = gauntlet("chaos", "shutdown", "--contract", "../team/contract.toml",
                            "--suite", "../team/suite.toml", "--output", "runs",
                            cwd=elsewhere)
            assert shut.returncode == 0, f"attempt {attempt}:\n{shut.stdout}{shut.stderr}"
            assert "exits any code within the deadline" in shut.stdout
            assert "it is started again after it" in shut.stderr
            new_pid = int((team / "api.pid").read_text())
            assert new_pid != pid and psutil.Process(new_pid).is_running()
            run_dir = Path(shut.stdout.split("run dir: ")[1].split()[0])
            events = (run_dir / "experiments").glob("*/events.jsonl")
            kinds = [json.loads(line)["kind"] for f in events
                     for line in f.read_text().splitlines()]
            assert kinds.index("process.exit") < kinds.index("service.restarted")
    finally:
        down = gauntlet("down", cwd=stack_dir)
        up.wait(timeout=60)
    assert down.returncode == 0, down.stdout + down.stderr
