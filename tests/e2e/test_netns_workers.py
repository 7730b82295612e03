"""Remote workers across a real network: a master, two workers and the stack, each in a network
namespace of its own, joined by veth pairs to a router namespace that forwards between them.

    10.77.1.2 master (`gauntlet run`)  ─┐
    10.77.2.2 worker 1                 ─┼─ hub (10.77.N.1, ip_forward) ─ 10.77.4.2 stack
    10.77.3.2 worker 2                 ─┘

Nothing goes over loopback: the workers reach the master's port and the stack through the
hub's routing, and the stack (Python's static file server) logs which address each request came
from. Needs root and ``ip netns`` (iproute2, installed by scripts/setup.sh); skipped with the
reason where namespaces cannot be created. CI runs as root, so there it runs.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import psutil
import pytest

from tests.e2e.conftest import ROOT
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

SECRET = "netns-worker-secret-" + os.urandom(8).hex()
ENV = {**os.environ, "COLUMNS": "200", "GAUNTLET_WORKER_SECRET": SECRET}
ROLES = ("master", "worker1", "worker2", "stack")
MASTER, STACK = "10.77.1.2", "10.77.4.2"
PORT, MASTER_PORT = 8000, 5557
_nets = itertools.count(1)


@dataclass
class Net:
    """The namespaces of one test; :meth:`run` starts a process inside one of them."""

    names: dict[str, str]
    procs: list[subprocess.Popen[str]] = field(default_factory=list)

    def run(self, role: str, argv: list[str], **kw: object) -> subprocess.Popen[str]:
        proc: subprocess.Popen[str] = subprocess.Popen(  # type: ignore[call-overload]
            ["ip", "netns", "exec", self.names[role], *argv], cwd=ROOT, env=ENV, text=True, **kw)
        self.procs.append(proc)
        return proc

    def gauntlet(self, role: str, *args: str) -> subprocess.Popen[str]:
        return self.run(role, [sys.executable, "-m", "gauntlet.cli", *args],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


def _in(ns: str, *args: str) -> None:
    _ip("netns", "exec", ns, *args)


def _remove(ns: str) -> None:
    """Kill what runs in ``ns``, then delete it (its end of each veth pair goes with it)."""
    pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True,
                          timeout=30).stdout.split()
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            psutil.Process(int(pid)).kill()
    subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)


def _sweep() -> None:
    """Namespaces an earlier test process left when it was killed (``g<pid>x<n>-<role>``, its
    pid gone): removed before this test makes its own."""
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=30)
    for line in listed.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        match = re.match(r"^g(\d+)x\d+-(hub|master|worker\d|stack)$", name)
        if match and not psutil.pid_exists(int(match.group(1))):
            _remove(name)


@contextlib.contextmanager
def network() -> Iterator[Net]:
    """Four namespaces routed through a fifth; every one of them, and what runs in it, is
    removed after (deleting a namespace deletes its end of each veth pair)."""
    tag = f"g{os.getpid()}x{next(_nets)}"
    hub = f"{tag}-hub"
    names = {role: f"{tag}-{role}" for role in ROLES}
    made: list[str] = []
    try:
        try:
            _sweep()
            _ip("netns", "add", hub)
        except (OSError, subprocess.CalledProcessError) as exc:
            detail = exc.stderr.strip() if isinstance(exc, subprocess.CalledProcessError) else exc
            pytest.skip(f"cannot create network namespaces here ({detail}): needs root and "
                        "iproute2")
        made.append(hub)
        _in(hub, "ip", "link", "set", "lo", "up")
        _in(hub, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        for i, role in enumerate(ROLES, 1):
            ns = names[role]
            _ip("netns", "add", ns)
            made.append(ns)
            _in(ns, "ip", "link", "set", "lo", "up")
            near, far = f"{tag}{i}h", f"{tag}{i}n"
            _ip("link", "add", near, "type", "veth", "peer", "name", far)
            _ip("link", "set", near, "netns", hub)
            _ip("link", "set", far, "netns", ns)
            _in(hub, "ip", "addr", "add", f"10.77.{i}.1/24", "dev", near)
            _in(hub, "ip", "link", "set", near, "up")
            _in(ns, "ip", "addr", "add", f"10.77.{i}.2/24", "dev", far)
            _in(ns, "ip", "link", "set", far, "up")
            _in(ns, "ip", "route", "add", "default", "via", f"10.77.{i}.1")
        net = Net(names)
        try:
            yield net
        finally:
            for proc in net.procs:
                stop(proc)
    finally:
        for ns in made:
            _remove(ns)




def _stack(net: Net, tmp_path: Path) -> Path:
    """The static server in the stack's namespace; its log names each request's source."""
    www = tmp_path / "www"
    www.mkdir()
    (www / "hello.txt").write_text("hello\n")
    log = tmp_path / "stack.log"
    with log.open("w") as fh:  # the server has its own copy of the file
        net.run("stack", [sys.executable, "-m", "http.server", str(PORT), "--bind", STACK,
                          "--directory", str(www)], stdout=subprocess.DEVNULL, stderr=fh)
    probe = (f"import socket; socket.create_connection(('{STACK}', {PORT}), timeout=1).close()")
    deadline = time.monotonic() + 30
    while subprocess.run(["ip", "netns", "exec", net.names["master"], sys.executable, "-c",
                          probe], capture_output=True, timeout=30).returncode != 0:
        assert time.monotonic() < deadline, "the stack is not reachable from the master"
        time.sleep(0.2)
    return log








def _suite(tmp_path: Path, duration_s: float) -> str:
    return str(remote_suite(tmp_path / "suite.toml", f"http://{STACK}:{PORT}",
                            master_port=MASTER_PORT, master_host=MASTER, duration_s=duration_s,
                            name="netns-workers"))


def _sources(log: Path) -> dict[str, int]:
    """Requests per source address, from the static server's log."""
    counts: dict[str, int] = {}
    for line in log.read_text().splitlines():
        if '"GET /hello.txt' in line:
            source = line.split()[0]
            counts[source] = counts.get(source, 0) + 1
    return counts


def test_workers_in_their_own_namespaces_send_every_sample_through_the_router(
        tmp_path: Path) -> None:
    with network() as net:
        log = _stack(net, tmp_path)
        run = net.gauntlet("master", "run", _suite(tmp_path, 5), "--output",
                           str(tmp_path / "runs"))
        master = f"{MASTER}:{MASTER_PORT}"
        workers = [net.gauntlet(w, "worker", "--master", master)
                   for w in ("worker1", "worker2")]
        wrong = tmp_path / "wrong-secret"
        wrong.write_text("a-secret-of-another-run\n")
        impostor = net.gauntlet("worker1", "worker", "--master", master, "--secret-file",
                                str(wrong))
        stranger = net.run("worker2", [sys.executable, "-m", "tests.e2e.rogue_worker",
                                       MASTER, str(MASTER_PORT)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        stdout, stderr, (*finished, imp_out, stranger_out) = finish(
            run, [*workers, impostor, stranger])
    assert run.returncode == 0, stdout + stderr
    assert all(w.returncode == 0 for w in workers), finished
    run_dir = run_dir_of(stdout)
    samples = pd.read_parquet(run_dir / "samples.parquet")
    per_worker = samples["worker"].value_counts().to_dict()
    sources = _sources(log)
    print(f"samples per worker: {per_worker}; Locust counted {locust_count(run_dir)}; "
          f"requests at the stack per source address: {sources}")
    assert len(per_worker) == 2
    assert len(samples) == locust_count(run_dir) > 0
    # the load came from the workers' namespaces, through the hub: never from the master's
    assert set(sources) == {"10.77.2.2", "10.77.3.2"}, sources
    assert sum(sources.values()) == len(samples)
    # neither the worker with another run's secret nor the one without a secret got in: each
    # was told, and the run names both
    told = next(line for line in imp_out.splitlines() if "refused" in line)
    named = [line for line in stdout.splitlines() if line.startswith("master: ")]
    print(f"impostor: {told}\nno secret: {stranger_out.strip()}\nrun: " + "\nrun: ".join(named))
    assert impostor.returncode == 2 and "refused this worker: sent a wrong proof" in told
    assert "sent no proof: it has no worker secret" in stranger_out
    assert sum("refused worker" in line for line in named) == 2, named
    status = json.loads((run_dir / "raw" / "remote-workers.json").read_text())
    assert len(status["refused"]) == 2 and status["unanswered"] == []
    assert len(status["seen"]) == 2


def test_a_forged_batch_and_a_killed_worker_leave_no_verdict_passing(tmp_path: Path) -> None:
    with network() as net:
        _stack(net, tmp_path)
        runs = tmp_path / "runs"
        run = net.gauntlet("master", "run", _suite(tmp_path, 10), "--output", str(runs))
        master = f"{MASTER}:{MASTER_PORT}"
        # worker 1's third batch is altered after signing (its locustfile plays the man in
        # the middle); worker 2 is killed mid-run
        workers = [net.gauntlet("worker1", "worker", "--master", master, "-f", str(TAMPERED)),
                   net.gauntlet("worker2", "worker", "--master", master)]
        kill_when_both_ship(run, runs, workers[1])  # worker 2, with its Locust
        stdout, stderr, _ = finish(run, workers)
    assert run.returncode == 4, stdout + stderr
    lost = lost_line(stdout)
    print(f"run: {lost}")
    assert "bad MAC" in lost and "its last chunk never arrived" in lost
    assert "requests were never recorded (the record holds" in lost
    assert "PASS" not in stdout and "INCONCLUSIVE" in stdout
