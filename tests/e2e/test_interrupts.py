"""Interrupted runs leave nothing behind: no toxic, no disabled proxy, no process, no temp dir.

Twenty runs are cut at random points (seeded, so a failure can be replayed): ten by SIGINT to
gauntlet while a chaos experiment drives faults on a long-lived stack (the external backend, so
the Toxiproxy outlives the run and can be inspected), ten by ``kill -9`` of a stack process under
a local-backend run.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from gauntlet.boot import Stack
from tests.e2e.conftest import GAUNTLET, ROOT

RUNS = int(os.environ.get("GAUNTLET_INTERRUPT_RUNS", "10"))


def _alive(pids: set[int]) -> list[int]:
    return [p for p in pids if psutil.pid_exists(p)
            and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]


def _external_suite(stack: Stack, path: Path, experiment: str) -> Path:
    assert stack.toxiproxy is not None
    proxies = ", ".join(f'{k} = "{v}"' for k, v in stack.proxies.items())
    path.write_text(
        f'name = "interrupt"\n[stack]\nbackend = "external"\nbase_url = "{stack.base_url}"\n'
        f'toxiproxy_url = "{stack.toxiproxy.url}"\ndatabase_url = "{stack.database_url}"\n'
        f"proxies = {{ {proxies} }}\n"
        f'policy = {{ breaker_open_s = 2, breaker_window_s = 3, upstream_timeout_s = 1 }}\n'
        f'[[experiments]]\nname = "{experiment}"\n'
        'params = { steady_s = 1.0 }\n'
    )
    return path


def _watch_children(proc: subprocess.Popen[str], until: float) -> set[int]:
    seen: set[int] = set()
    while time.monotonic() < until and proc.poll() is None:
        try:
            seen |= {c.pid for c in psutil.Process(proc.pid).children(recursive=True)}
        except psutil.Error:
            break
        time.sleep(0.05)
    return seen


@pytest.mark.parametrize("seed", range(RUNS))
def test_sigint_at_a_random_point_leaves_no_toxic(stack: Stack, tmp_path: Path,
                                                  seed: int) -> None:
    rng = random.Random(seed)
    experiment = rng.choice(["breaker", "dependency_down"])
    suite = _external_suite(stack, tmp_path / "suite.toml", experiment)
    proc = subprocess.Popen([*GAUNTLET, "run", str(suite), "--output", str(tmp_path / "runs")],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    try:
        children = _watch_children(proc, time.monotonic() + rng.uniform(1.0, 7.0))
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode in (130, 1), stderr
        assert stack.toxiproxy is not None
        toxics = {name: t for name, t in stack.toxiproxy.all_toxics().items() if t}
        assert toxics == {}, f"seed {seed}: toxics left behind: {toxics}"
        disabled = [p.name for p in stack.toxiproxy.proxies().values() if not p.enabled]
        assert disabled == [], f"seed {seed}: proxies left disabled: {disabled}"
        assert _alive(children) == [], f"seed {seed}: processes left behind"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


@pytest.mark.parametrize("seed", range(RUNS))
def test_kill_9_of_a_stack_process_tears_the_run_down(tmp_path: Path, seed: int) -> None:
    rng = random.Random(1000 + seed)
    victim = rng.choice(["postgres", "redis-server", "toxiproxy-server", "stack.api",
                         "stack.upstream"])
    suite = tmp_path / "suite.toml"
    suite.write_text('name = "kill9"\n[load]\nscenario = "api_mix"\nusers = 5\n'
                     'duration_s = 20\n[slo]\nerror_rate = 1.0\n')
    proc = subprocess.Popen([*GAUNTLET, "run", str(suite), "--output", str(tmp_path / "runs")],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    try:
        children = _watch_children(proc, time.monotonic() + rng.uniform(4.0, 9.0))
        targets = [c for c in psutil.Process(proc.pid).children(recursive=True)
                   if victim in " ".join(c.cmdline())]
        if targets:
            targets[0].send_signal(signal.SIGKILL)
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode in (0, 1, 3), stderr
        assert _alive(children) == [], f"seed {seed} ({victim}): processes left behind"
        mine = [d for d in Path(tempfile.gettempdir()).glob("gauntlet-*")
                if (d / "owner.pid").exists()
                and (d / "owner.pid").read_text().strip() == str(proc.pid)]
        assert mine == [], f"seed {seed} ({victim}): temp dirs left behind"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
