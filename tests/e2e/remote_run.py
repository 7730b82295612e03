"""What the remote-worker tests share (test_workers.py on loopback, test_netns_workers.py across
network namespaces, compose/test_operator_image.py in containers): the suite they run — a small
load on one static file, sent by two remote workers — and how they read and end a run."""

from __future__ import annotations

import contextlib
import csv
import signal
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

import psutil

from tests.e2e.conftest import ROOT

STATIC = ROOT / "tests" / "e2e" / "locustfiles" / "static_hello.py"
# static_hello with its third sample batch altered on the way to the master
TAMPERED = ROOT / "tests" / "e2e" / "locustfiles" / "tampered_hello.py"


def remote_suite(path: Path, base_url: str, *, master_port: int, wait_s: float = 120,
                 duration_s: float = 4, master_host: str | None = None,
                 scenario: str | Path = STATIC, name: str = "remote-workers",
                 staged: bool = False) -> Path:
    """Write the suite to ``path``. A ``master_host`` beyond loopback comes with a target
    beyond it: the suite then says ``allow_remote`` (the test's own namespace or network).
    ``staged``: two stages of ``duration_s / 2`` (2 users, then 4) instead of a flat load."""
    remote = master_host is not None
    half = duration_s / 2
    shape = (f"stages = [{{duration_s = {half}, users = 2}}, {{duration_s = {half}, users = 4}}]"
             if staged else f"users = 4\nduration_s = {duration_s}")
    path.write_text(f"""
name = "{name}"
[stack]
backend = "external"
base_url = "{base_url}"
{"allow_remote = true" if remote else ""}
[load]
scenario = "{scenario}"
{shape}
remote_workers = 2
{f'master_bind_host = "{master_host}"' if remote else ""}
master_bind_port = {master_port}
remote_wait_s = {wait_s}
[slo]
error_rate = 0.01
""")
    return path


def stop(proc: subprocess.Popen[str]) -> None:
    """SIGINT, a bounded wait, then SIGKILL, and its pipes closed: a failed test leaves nothing
    running, and nothing open."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=45)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def finish(run: subprocess.Popen[str], others: Iterable[subprocess.Popen[str]] = ()
           ) -> tuple[str, str, list[str]]:
    """The run's stdout and stderr once it ended, and each other process' output (stdout and
    stderr together) once it ended too (bounded); whatever is left is then stopped. The run's
    output is printed: the figures, as a user sees them."""
    others = list(others)
    try:
        stdout, stderr = run.communicate(timeout=240)
        outputs = [(out or "") + (err or "") for out, err in
                   (proc.communicate(timeout=60) for proc in others)]
    finally:
        for proc in (run, *others):
            stop(proc)
    print(stdout)
    return stdout, stderr, outputs


def kill_when_both_ship(run: subprocess.Popen[str], runs: Path,
                        victim: subprocess.Popen[str]) -> None:
    """Once both workers' samples are arriving in the run dir under ``runs``, and 2 s more,
    SIGKILL ``victim`` (a `gauntlet worker`) with its Locust: a worker lost mid-run."""
    deadline = time.monotonic() + 120
    while len({p.name.rsplit("-", 1)[0] for p in runs.glob("*/raw/samples-*.csv")}) < 2:
        assert run.poll() is None and time.monotonic() < deadline, "no samples arrived"
        time.sleep(0.2)
    time.sleep(2)
    owner = psutil.Process(victim.pid)
    for proc in [*owner.children(recursive=True), owner]:
        with contextlib.suppress(psutil.Error):
            proc.kill()


def locust_count(run_dir: Path) -> int:
    """Locust's own request count (the master's Aggregated row): the cross-check."""
    with (run_dir / "locust_stats.csv").open() as fh:
        row = next(r for r in csv.DictReader(fh) if r["Name"] == "Aggregated")
    return int(row["Request Count"])


def run_dir_of(stdout: str) -> Path:
    return Path(stdout.split("run dir: ")[1].split()[0])


def lost_line(stdout: str) -> str:
    """The console's line on remote samples lost on the way (the reason of every verdict)."""
    return next(line for line in stdout.splitlines() if line.startswith("remote samples lost:"))
