"""The operator image (docs/kubernetes.md, built by scripts/bootstrap-containers.sh) in its two
roles, as containers on one Docker network, started with the arguments locust-k8s-operator 2.3.0
gives a `LocustTest`'s pods (internal/resources/command.go): the master's run gets every
sample the two workers send, and nothing of the test is left in Docker after it.

The suite and its locustfile are mounted where the operator mounts its ConfigMap
(``/lotest/src``), the run dir where the example mounts its PVC (``/runs``); the stack is
Python's static file server in a container of the same image. The cluster itself stays
documented, not run. Needs a Docker engine with the image; skipped only when no engine answers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pandas as pd
import pytest

from tests.e2e.remote_run import STATIC, locust_count, remote_suite

pytestmark = [pytest.mark.compose, pytest.mark.xdist_group("compose")]
IMAGE = os.environ.get("GAUNTLET_IMAGE_OPERATOR", "gauntlet-operator:dev")
LABEL = "org.gauntlet.test"
SECRET = "operator-worker-secret-" + uuid.uuid4().hex


@pytest.fixture(autouse=True)
def operator_image() -> None:
    found = subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True,
                           timeout=30)
    assert found.returncode == 0, f"{IMAGE} missing: scripts/bootstrap-containers.sh builds it"


def docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


def _suite(src: Path, stack_host: str) -> None:
    """The suite and its locustfile, as the operator's ConfigMap holds them (``/lotest/src``)."""
    src.mkdir()
    shutil.copy(STATIC, src / "static_hello.py")
    remote_suite(src / "suite.toml", f"http://{stack_host}:8000", master_port=5557,
                 master_host="0.0.0.0", duration_s=5, scenario="static_hello.py",
                 name="operator-roles")


def test_the_operator_roles_run_a_suite_with_two_workers_and_leave_nothing(
        tmp_path: Path) -> None:
    tag = f"gauntlet-op-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    src, runs, www = tmp_path / "src", tmp_path / "runs", tmp_path / "www"
    _suite(src, f"{tag}-stack")
    runs.mkdir()
    www.mkdir()
    (www / "hello.txt").write_text("hello\n")
    label = ["--label", f"{LABEL}={tag}"]
    common = ["run", "-d", *label, "--network", tag, "-e", f"GAUNTLET_WORKER_SECRET={SECRET}"]
    master_args = ["/lotest/src/suite.toml", "--master", "--master-port=5557",
                   "--expect-workers=2", "--autostart", "--autoquit", "60",
                   "--enable-rebalancing", "--only-summary"]
    worker_args = ["worker", "--worker", "--master-port=5557", f"--master-host={tag}-master"]
    try:
        assert docker("network", "create", *label, tag).returncode == 0
        stack = docker(*common, "--name", f"{tag}-stack", "-v", f"{www}:/www:ro",
                       "--entrypoint", "python3", IMAGE, "-m", "http.server", "8000",
                       "--directory", "/www")
        assert stack.returncode == 0, stack.stderr
        master = docker(*common, "--name", f"{tag}-master", "-v", f"{src}:/lotest/src:ro",
                        "-v", f"{runs}:/runs", IMAGE, *master_args)
        assert master.returncode == 0, master.stderr
        for i in (1, 2):
            worker = docker(*common, "--name", f"{tag}-worker-{i}", IMAGE, *worker_args)
            assert worker.returncode == 0, worker.stderr
        waited = docker("wait", f"{tag}-master", timeout=300)
        logs = docker("logs", f"{tag}-master")
        print(logs.stdout)
        assert waited.stdout.strip() == "0", logs.stdout + logs.stderr
        workers = [docker("wait", f"{tag}-worker-{i}", timeout=60).stdout.strip()
                   for i in (1, 2)]
        assert workers == ["0", "0"], [docker("logs", f"{tag}-worker-{i}").stdout
                                       for i in (1, 2)]
        run_dir = runs / logs.stdout.split("run dir: /runs/")[1].split()[0]
        samples = pd.read_parquet(run_dir / "samples.parquet")
        per_worker = samples["worker"].value_counts().to_dict()
        print(f"samples per worker container: {per_worker}; Locust counted "
              f"{locust_count(run_dir)}")
        assert len(per_worker) == 2
        assert len(samples) == locust_count(run_dir) > 0
    finally:
        ids = docker("ps", "-aq", "--filter", f"label={LABEL}={tag}").stdout.split()
        if ids:
            docker("rm", "-f", *ids)
        docker("network", "rm", tag)
    left = docker("ps", "-a", "--filter", f"label={LABEL}={tag}", "--format", "{{.Names}}")
    networks = docker("network", "ls", "--filter", f"label={LABEL}={tag}", "--format",
                      "{{.Name}}")
    print(f"docker ps -a after: {left.stdout.strip() or 'empty'}; networks: "
          f"{networks.stdout.strip() or 'none'}")
    assert left.stdout.strip() == "" and networks.stdout.strip() == ""
