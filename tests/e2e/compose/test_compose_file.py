"""The compose backend on a compose file written the way a team writes its own (no Toxiproxy in
it): gauntlet's overlay routes every link through a Toxiproxy container, the experiments run,
and nothing of the run — container, network, volume — is left after it, nor after Ctrl-C in
the middle of an experiment.

Needs a Docker engine with the images (scripts/bootstrap-containers.sh); skipped only when no
engine answers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from gauntlet.boot.engine import PROJECT_LABEL
from tests.e2e.conftest import GAUNTLET, ROOT, gauntlet
from tests.e2e.experiments import COMPOSE_USERS

# one test worker runs every compose test, one at a time (see test_compose_backend.py)
pytestmark = [pytest.mark.compose, pytest.mark.xdist_group("compose")]
CONTRACT = ROOT / "contracts" / "reference-compose.toml"
NODE = ROOT / "examples" / "node-stack" / "contract.toml"  # its own compose file, no Toxiproxy



def leftovers(pid: int) -> dict[str, list[str]]:
    """Containers, networks and volumes of any compose project gauntlet process ``pid``
    started (projects are named ``gauntlet-<pid>-<hex>``)."""
    prefix = f"gauntlet-{pid}-"
    found: dict[str, list[str]] = {}
    for kind, argv in (("containers", ["ps", "-a"]), ("networks", ["network", "ls"]),
                       ("volumes", ["volume", "ls"])):
        out = subprocess.run(["docker", *argv, "--format",
                              f'{{{{.Label "{PROJECT_LABEL}"}}}}'],
                             capture_output=True, text=True, check=True, timeout=30).stdout
        found[kind] = [p for p in out.split() if p.startswith(prefix)]
    return found


@pytest.mark.parametrize("contract", [NODE, CONTRACT], ids=["node-stack", "reference"])
def test_team_compose_file_runs_through_the_overlay_and_leaves_nothing(tmp_path: Path,
                                                                      contract: Path) -> None:
    proc = subprocess.Popen([*GAUNTLET, "chaos", "shutdown", "--contract", str(contract),
                             "--backend", "compose", "--param", f"users={COMPOSE_USERS}",
                             "--output", str(tmp_path)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = proc.communicate(timeout=400)
    assert proc.returncode == 0, stdout + stderr
    assert "stack up (compose) in" in stderr
    assert "PASS shutdown" in stdout and "exits 0 within the deadline" in stdout
    assert leftovers(proc.pid) == {"containers": [], "networks": [], "volumes": []}


def test_ctrl_c_mid_experiment_leaves_nothing_of_the_run(tmp_path: Path) -> None:
    proc = subprocess.Popen([*GAUNTLET, "chaos", "dependency_down", "--contract",
                             str(NODE), "--backend", "compose", "--claim", "postgres",
                             "--output", str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        applied = False
        while time.monotonic() < deadline and proc.poll() is None and not applied:
            applied = any("fault.applied" in p.read_text()
                          for p in tmp_path.rglob("events.jsonl"))
            time.sleep(0.2)
        assert applied, "the experiment never applied its fault"
        assert leftovers(proc.pid)["containers"], "the project should be running now"
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 130, stderr
        assert leftovers(proc.pid) == {"containers": [], "networks": [], "volumes": []}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)


def test_compose_file_boot_failure_names_the_service_and_cleans_up(tmp_path: Path) -> None:
    """A service that dies at start: one line naming it, exit 3, its log in the run dir,
    nothing left."""
    broken = tmp_path / "contract.toml"
    broken.write_text(f'extends = "{CONTRACT}"\n[variants]\nbad = {{ API_PORT = "nope" }}\n')
    result = gauntlet("chaos", "breaker", "--contract", str(broken), "--backend", "compose",
                      "--variant", "bad", "--output", str(tmp_path / "runs"), timeout=400,
                      env={"PYTHONUNBUFFERED": "1", "COLUMNS": "200", **os.environ})
    assert result.returncode == 3, result.stdout + result.stderr
    assert "api" in result.stderr
    logs = list((tmp_path / "runs").rglob("api.log"))
    assert logs, "the failing service's log should be in the run dir"
