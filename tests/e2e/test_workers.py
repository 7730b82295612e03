"""Remote Locust workers end to end: `gauntlet run` with `load.remote_workers` as the master,
`gauntlet worker` processes started separately (here on loopback), against a static server.

The target is Python's own static file server: what is tested is the way samples travel from
the workers to the run dir, not a service — and who the master lets in: a worker with the
wrong secret and a client that never proves itself are refused, a batch under a forged MAC is
rejected, a worker killed mid-run is reported with the share of the load it left unrecorded.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import psutil
import pytest

from gauntlet.net import can_connect, free_ports
from tests.e2e.conftest import GAUNTLET, ROOT, still_running
from tests.e2e.remote_run import (
    TAMPERED,
    finish,
    kill_when_both_ship,
    locust_count,
    lost_line,
    remote_suite,
    run_dir_of,
    stop,
)

SECRET = "e2e-worker-secret-" + os.urandom(8).hex()
ENV = {**os.environ, "COLUMNS": "200", "GAUNTLET_WORKER_SECRET": SECRET}


@pytest.fixture
def static_url(tmp_path: Path) -> Iterator[str]:
    """``http.server`` on a free loopback port, serving ``/hello.txt``; stopped after."""
    www = tmp_path / "www"
    www.mkdir()
    (www / "hello.txt").write_text("hello\n")
    (port,) = free_ports(1)
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
         "--directory", str(www)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not can_connect("127.0.0.1", port):
            assert server.poll() is None and time.monotonic() < deadline, "static server down"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        # SIGTERM, not SIGINT: on Ctrl-C http.server joins its request threads, and a worker's
        # keep-alive connection held that join for the whole bounded wait (45 s a test)
        server.terminate()
        server.wait(timeout=10)




def _start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([*GAUNTLET, *args], cwd=ROOT, env=env or ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _start_run(tmp_path: Path, url: str, master_port: int, *, wait_s: float = 120,
               duration_s: float = 4, staged: bool = False) -> subprocess.Popen[str]:
    """`gauntlet run` of the remote-worker suite; its run dir goes under ``tmp_path/runs``."""
    suite = remote_suite(tmp_path / "suite.toml", url, master_port=master_port, wait_s=wait_s,
                         duration_s=duration_s, staged=staged)
    return _start("run", str(suite), "--output", str(tmp_path / "runs"))


def _stranger(master_port: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.e2e.rogue_worker", "127.0.0.1",
                             str(master_port)], cwd=ROOT, env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)








def test_two_remote_workers_ship_every_sample_and_strangers_are_refused(
        tmp_path: Path, static_url: str) -> None:
    (master_port,) = free_ports(1)
    run = _start_run(tmp_path, static_url, master_port)
    workers = [_start("worker", "--master", f"127.0.0.1:{master_port}") for _ in range(2)]
    # a worker whose secret is not the run's, and one without a secret
    wrong = tmp_path / "wrong-secret"
    wrong.write_text("not-this-runs-secret-at-all\n")
    impostor = _start("worker", "--master", f"127.0.0.1:{master_port}", "--secret-file",
                      str(wrong))
    stranger = _stranger(master_port)
    stdout, stderr, (*finished, imp_out, stranger_out) = finish(
        run, [*workers, impostor, stranger])
    assert run.returncode == 0, stdout + stderr
    for worker, out in zip(workers, finished, strict=True):
        assert worker.returncode == 0, out
        assert "the master ended the test" in out
    assert "p50" in stdout and "p99" in stdout and "PASS" in stdout

    # refused: the impostor is told and exits 2; the run says who it would not let in
    assert impostor.returncode == 2, imp_out
    assert "refused this worker: sent a wrong proof" in imp_out
    assert "master: refused worker " in stdout and "its worker secret is not this run's" \
        in stdout
    assert stranger.returncode == 0 and "refused as rogue-stranger_" in stranger_out, \
        stranger_out
    stranger_id = stranger_out.split("refused as ")[1].split(":")[0]
    assert "sent no proof: it has no worker secret" in stranger_out
    assert f"master: refused worker {stranger_id}: sent no proof" in stdout

    run_dir = run_dir_of(stdout)
    samples = pd.read_parquet(run_dir / "samples.parquet")
    assert samples["worker"].nunique() == 2, samples["worker"].value_counts()
    assert len(samples) == locust_count(run_dir) > 0  # every request, and no more
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["overall"]["count"] == len(samples)

    status = json.loads((run_dir / "raw" / "remote-workers.json").read_text())
    assert len(status["seen"]) == 2 and set(status["done"]) == set(status["seen"])
    assert all(not d["missing"] and not d["faults"] for d in status["done"].values())
    assert all(not b["problems"] and b["accepted"] > 0 for b in status["batches"].values())
    assert len(status["refused"]) == 2 and stranger_id in status["refused"]
    assert status["unanswered"] == []
    generators = [json.loads(p.read_text()) for p in (run_dir / "raw").glob("generator-*.json")]
    assert len(generators) == 2 and all(g["remote"] for g in generators)
    assert {g["node"] for g in generators} == set(status["seen"])
    assert summary["generator"]["processes"] >= 2  # the remote workers are counted
    events = (run_dir / "events.jsonl").read_text()
    assert events.count('"load.worker_refused"') == 2
    assert SECRET not in (run_dir / "events.jsonl").read_text() + json.dumps(summary)


def test_a_staged_load_waits_for_every_worker_s_last_chunk(tmp_path: Path,
                                                         static_url: str) -> None:
    """Stages end the test from Locust's shape greenlet, not the main one: the master still
    asks for and waits for the workers' last chunks, so every sample is in the record."""
    (master_port,) = free_ports(1)
    run = _start_run(tmp_path, static_url, master_port, duration_s=6, staged=True)
    workers = [_start("worker", "--master", f"127.0.0.1:{master_port}") for _ in range(2)]
    stdout, stderr, _ = finish(run, workers)
    assert run.returncode == 0, stdout + stderr
    run_dir = run_dir_of(stdout)
    samples = pd.read_parquet(run_dir / "samples.parquet")
    assert samples["worker"].nunique() == 2
    assert len(samples) == locust_count(run_dir) > 0
    status = json.loads((run_dir / "raw" / "remote-workers.json").read_text())
    assert set(status["done"]) == set(status["seen"]) and len(status["seen"]) == 2


def test_a_forged_batch_is_rejected_and_no_verdict_passes(tmp_path: Path,
                                                          static_url: str) -> None:
    """One worker's third batch is altered after it was signed (a man in the middle, played
    by its locustfile): the master drops it, and the run's verdicts are inconclusive (exit 4),
    saying so."""
    (master_port,) = free_ports(1)
    run = _start_run(tmp_path, static_url, master_port)
    master = f"127.0.0.1:{master_port}"
    workers = [_start("worker", "--master", master, "-f", str(TAMPERED)),
               _start("worker", "--master", master)]
    stdout, stderr, _ = finish(run, workers)
    assert run.returncode == 4, stdout + stderr
    lost = lost_line(stdout)
    assert ": batch 2 (samples-" in lost and "bytes): bad MAC" in lost, lost
    assert "PASS" not in stdout and "INCONCLUSIVE" in stdout
    run_dir = run_dir_of(stdout)
    samples = pd.read_parquet(run_dir / "samples.parquet")
    assert 0 < len(samples) < locust_count(run_dir)  # the altered batch is not among them


def test_a_worker_killed_mid_run_is_reported_with_the_load_it_left_unrecorded(
        tmp_path: Path, static_url: str) -> None:
    (master_port,) = free_ports(1)
    runs = tmp_path / "runs"
    run = _start_run(tmp_path, static_url, master_port, duration_s=10)
    workers = [_start("worker", "--master", f"127.0.0.1:{master_port}") for _ in range(2)]
    try:
        kill_when_both_ship(run, runs, workers[0])
    except BaseException:
        for proc in (run, *workers):
            stop(proc)
        raise
    stdout, stderr, _ = finish(run, workers)
    assert run.returncode == 4, stdout + stderr
    assert "its last chunk never arrived" in stdout
    assert "s test; at its rate before (" in stdout and "requests were never recorded (the " \
        "record holds" in stdout
    assert "PASS" not in stdout and "INCONCLUSIVE" in stdout


def test_workers_that_never_arrive_fail_the_run_cleanly(tmp_path: Path, static_url: str) -> None:
    """Only one of two workers comes: exit 3 with a message naming the wait, nothing left."""
    (master_port,) = free_ports(1)
    lone = _start("worker", "--master", f"127.0.0.1:{master_port}")
    run = _start_run(tmp_path, static_url, master_port, wait_s=3)
    seen: set[int] = set()
    try:
        owner = psutil.Process(run.pid)
        while run.poll() is None:  # every process the run starts, while it runs
            with contextlib.suppress(psutil.Error):
                seen |= {p.pid for p in owner.children(recursive=True)}
            time.sleep(0.1)
        stdout, stderr = run.communicate(timeout=60)
        lone_out, lone_err = lone.communicate(timeout=60)
    finally:
        for proc in (run, lone):
            stop(proc)
    assert run.returncode == 3, stdout + stderr
    assert "remote workers: 1 of 2 connected" in stderr, stderr
    assert "load.remote_wait_s" in stderr
    assert seen, "the run should have started Locust"
    alive = still_running(seen)
    assert alive == [], alive
    # the worker that did come was told to quit by the master
    assert lone.returncode == 0, lone_out + lone_err
    with socket.socket() as probe:  # the master's port is free again
        probe.bind(("127.0.0.1", master_port))


def test_a_run_without_a_secret_makes_one_shows_it_once_and_keeps_it_nowhere(
        tmp_path: Path, static_url: str) -> None:
    (master_port,) = free_ports(1)
    suite = remote_suite(tmp_path / "suite.toml", static_url, master_port=master_port, wait_s=1)
    env = {k: v for k, v in ENV.items() if not k.startswith("GAUNTLET_WORKER_SECRET")}
    done = subprocess.run([*GAUNTLET, "run", str(suite), "--output", str(tmp_path / "runs")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    shown = [line for line in (done.stdout + done.stderr).splitlines()
             if "worker secret for this run (shown once" in line]
    assert len(shown) == 1, done.stdout + done.stderr
    secret = shown[0].rsplit(": ", 1)[1].strip()
    assert len(secret) == 43  # 32 random bytes, URL-safe
    assert done.returncode == 3  # no worker came within remote_wait_s
    kept = [p for p in (tmp_path / "runs").rglob("*") if p.is_file()
            and secret.encode() in p.read_bytes()]
    assert kept == [], kept


def test_an_unusable_secret_file_is_a_usage_error_before_anything_starts(
        tmp_path: Path, static_url: str) -> None:
    (master_port,) = free_ports(1)
    suite = remote_suite(tmp_path / "suite.toml", static_url, master_port=master_port)
    short = tmp_path / "short"
    short.write_text("abc\n")
    env = {**ENV, "GAUNTLET_WORKER_SECRET_FILE": str(short)}
    done = subprocess.run([*GAUNTLET, "run", str(suite), "--output", str(tmp_path / "runs")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "at least 16 characters, not 3" in done.stdout + done.stderr
    assert not (tmp_path / "runs").exists()  # no run dir
