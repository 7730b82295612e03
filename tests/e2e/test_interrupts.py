"""Interrupted runs leave nothing behind: no toxic, no disabled proxy, no process, no temp dir.

Twenty runs are cut at seeded points (a failure can be replayed by its seed): ten by SIGINT to
gauntlet while a chaos experiment has a fault applied on a long-lived stack (the external
backend, so the Toxiproxy outlives the run and can be inspected), ten by ``kill -9`` of a stack
process under a local-backend run. The test command runs the first five of each; the other
ten are marked slow (``GAUNTLET_SLOW=1``).

Neither test can pass by accident: the SIGINT is sent when the run's timeline says a fault was
applied (never after a guessed sleep, which may land before any fault or after the run), and a
``kill -9`` that finds no victim, or a run that ends before its trigger, fails the test. A run
whose stack lost a process must end as an infrastructure error (exit 3) naming that process,
mid-boot or mid-load alike: no verdict of a crashed stack may pass, fail or be inconclusive.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from gauntlet.boot import Stack
from tests.e2e.conftest import GAUNTLET, ROOT

API_MIX = str(Path(__file__).resolve().parents[2] / "stack" / "locustfiles" / "api_mix.py")


RUNS = int(os.environ.get("GAUNTLET_INTERRUPT_RUNS", "10"))
IN_CI = 5  # the test command runs the first five seeds of each; the rest are marked slow


def seeds() -> list[object]:
    return [s if s < IN_CI else pytest.param(s, marks=pytest.mark.slow) for s in range(RUNS)]
CONTRACT = ROOT / "stack" / "contract.toml"
TRIGGER_WAIT_S = 120.0  # boot + steady phase, generously
EXPERIMENT_EVENTS = "*/experiments/*/events.jsonl"
RUN_EVENTS = "*/events.jsonl"


def _alive(pids: set[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            continue
    return alive


def _children(proc: subprocess.Popen[str]) -> list[psutil.Process]:
    try:
        children: list[psutil.Process] = psutil.Process(proc.pid).children(recursive=True)
        return children
    except psutil.Error:
        return []


def _events(runs: Path, pattern: str) -> list[dict[str, Any]]:
    """Every complete line of every ``events.jsonl`` under ``runs`` matching ``pattern``."""
    out = []
    for path in sorted(runs.glob(pattern)):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # the line being written right now
    return out


def _ended(proc: subprocess.Popen[str], what: str) -> None:
    """The run ended before its trigger: the test could not interrupt anything, so it fails."""
    _, stderr = proc.communicate(timeout=30)
    pytest.fail(f"the run ended (exit {proc.returncode}) before {what}; nothing was "
                f"interrupted. stderr:\n{stderr[-3000:]}")


def _wait_for_event(proc: subprocess.Popen[str], runs: Path, pattern: str, kind: str,
                    seen: set[int]) -> dict[str, Any]:
    """Poll the run's timeline until an event of ``kind`` is written; record the run's child
    processes meanwhile (into ``seen``). Fails if the run ends first or nothing comes."""
    deadline = time.monotonic() + TRIGGER_WAIT_S
    while True:
        seen |= {c.pid for c in _children(proc)}
        found = [e for e in _events(runs, pattern) if e.get("kind") == kind]
        if found:
            return found[0]
        if proc.poll() is not None:
            _ended(proc, f"any {kind!r} event")
        if time.monotonic() > deadline:
            pytest.fail(f"no {kind!r} event within {TRIGGER_WAIT_S:.0f} s")
        time.sleep(0.02)


def _watch(proc: subprocess.Popen[str], seconds: float, seen: set[int]) -> None:
    """Keep recording the run's children for ``seconds`` (the seeded offset after a trigger)."""
    until = time.monotonic() + seconds
    while time.monotonic() < until and proc.poll() is None:
        seen |= {c.pid for c in _children(proc)}
        time.sleep(0.02)


def _external_suite(stack: Stack, path: Path, experiment: str) -> Path:
    assert stack.toxiproxy is not None
    proxies = ", ".join(f'{k} = "{v}"' for k, v in stack.proxies.items())
    path.write_text(
        f'name = "interrupt"\ncontract = "{CONTRACT}"\n'
        f'[stack]\nbackend = "external"\nbase_url = "{stack.base_url}"\n'
        f'toxiproxy_url = "{stack.toxiproxy.url}"\ndatabase_url = "{stack.database_url}"\n'
        f"proxies = {{ {proxies} }}\n"
        f'[[experiments]]\nname = "{experiment}"\n'
        'params = { steady_s = 1.0 }\n'
    )
    return path


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)
    if proc.stderr is not None:
        proc.stderr.close()


@pytest.mark.xdist_group("default-stack")  # the session stack: one worker boots it once
@pytest.mark.parametrize("seed", seeds())
def test_sigint_while_a_fault_is_applied_leaves_no_toxic(stack: Stack, tmp_path: Path,
                                                         seed: int) -> None:
    rng = random.Random(seed)
    experiment = rng.choice(["breaker", "dependency_down"])
    delay_s = rng.uniform(0.0, 1.0)  # into the fault window, counted from its 'fault.applied'
    suite = _external_suite(stack, tmp_path / "suite.toml", experiment)
    runs = tmp_path / "runs"
    proc = subprocess.Popen([*GAUNTLET, "run", str(suite), "--output", str(runs)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    children: set[int] = set()
    try:
        _wait_for_event(proc, runs, EXPERIMENT_EVENTS, "fault.applied", children)
        _watch(proc, delay_s, children)
        if proc.poll() is not None:
            _ended(proc, "the SIGINT")
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        _, stderr = proc.communicate(timeout=60)
        took = time.monotonic() - sent
        where = f"seed {seed} ({experiment}, +{delay_s:.2f} s)"
        assert proc.returncode == 130, f"{where}: exit {proc.returncode}\n{stderr[-3000:]}"
        assert "interrupted" in stderr, stderr[-3000:]
        summaries = list(runs.glob("*/summary.json"))
        assert len(summaries) == 1
        assert json.loads(summaries[0].read_text())["status"] == "interrupted"
        # the timeline agrees with Toxiproxy: every fault applied was removed
        events = _events(runs, EXPERIMENT_EVENTS)
        applied = sum(e.get("kind") == "fault.applied" for e in events)
        removed = sum(e.get("kind") == "fault.removed" for e in events)
        assert applied >= 1 and removed == applied, f"{where}: {applied} applied, {removed} removed"
        assert stack.toxiproxy is not None
        toxics = {name: t for name, t in stack.toxiproxy.all_toxics().items() if t}
        assert toxics == {}, f"{where}: toxics left behind: {toxics}"
        disabled = [p.name for p in stack.toxiproxy.proxies().values() if not p.enabled]
        assert disabled == [], f"{where}: proxies left disabled: {disabled}"
        assert children, f"{where}: the run started no process (no load?)"
        assert _alive(children) == [], f"{where}: processes left behind"
        assert took < 45, f"{where}: {took:.1f} s from SIGINT to exit"
    finally:
        _stop(proc)


# The local backend's processes, by the program each runs: a binary's name, or ``-m module``.
VICTIMS = ("postgres", "redis-server", "toxiproxy-server", "stack.api", "stack.upstream")
# how gauntlet names each of them in its error (the local backend's process names)
NAMED = {"postgres": r"postgres:postgres", "redis-server": r"redis:redis",
         "toxiproxy-server": r"(?i:toxiproxy)", "stack.api": r"\bapi\b",
         "stack.upstream": r"\bupstream\b"}


def _program(p: psutil.Process) -> str:
    try:
        argv: list[str] = p.cmdline()
    except psutil.Error:
        return ""
    if not argv:
        return ""
    if "-m" in argv[:-1]:
        return argv[argv.index("-m") + 1]
    # PostgreSQL and Redis rewrite their titles ("postgres: checkpointer", "redis-server *:1")
    return Path(argv[0].split()[0]).name.rstrip(":") if argv[0].split() else ""


def _victim(proc: subprocess.Popen[str], victim: str) -> psutil.Process | None:
    """The oldest process running ``victim`` (PostgreSQL's postmaster, not a backend)."""
    matches = [c for c in _children(proc) if _program(c) == victim]
    pids = {c.pid for c in matches}
    roots = [c for c in matches if c.ppid() not in pids]
    return min(roots, key=lambda c: c.pid) if roots else None


@pytest.mark.parametrize("seed", seeds())
def test_kill_9_of_a_stack_process_tears_the_run_down(tmp_path: Path, seed: int) -> None:
    rng = random.Random(1000 + seed)
    victim = rng.choice(VICTIMS)
    # when: as soon as the victim runs (mid-boot, a half-finished start), or into the load
    when = rng.choice(["appears", "load.started"])
    delay_s = rng.uniform(0.0, 8.0) if when == "load.started" else 0.0
    suite = tmp_path / "suite.toml"
    # the contract's own SLO gates apply: none may be judged, whatever they would have said
    suite.write_text(f'name = "kill9"\ncontract = "{CONTRACT}"\n[load]\nscenario = "{API_MIX}"\n'
                     "users = 5\nduration_s = 20\n")
    runs = tmp_path / "runs"
    proc = subprocess.Popen([*GAUNTLET, "run", str(suite), "--output", str(runs)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    children: set[int] = set()
    where = f"seed {seed} ({victim}, {when} +{delay_s:.2f} s)"
    try:
        if when == "load.started":
            _wait_for_event(proc, runs, RUN_EVENTS, "load.started", children)
            _watch(proc, delay_s, children)
        target = None
        deadline = time.monotonic() + TRIGGER_WAIT_S
        while target is None:
            children |= {c.pid for c in _children(proc)}
            target = _victim(proc, victim)
            if target is None:
                if proc.poll() is not None:
                    _ended(proc, f"{victim} could be killed")
                if time.monotonic() > deadline:
                    pytest.fail(f"{where}: no {victim} process among the run's children: "
                                f"{sorted({_program(c) for c in _children(proc)})}")
                time.sleep(0.02)
        target.send_signal(signal.SIGKILL)
        # dead once it is a zombie: reaping it is gauntlet's business, not ours
        deadline = time.monotonic() + 10
        while _alive({target.pid}):
            assert time.monotonic() < deadline, \
                f"{where}: SIGKILL did not take {victim} (pid {target.pid}) down"
            time.sleep(0.02)
        _, stderr = proc.communicate(timeout=180)
        # an infrastructure error, never a verdict: the stack broke under the measurement
        assert proc.returncode == 3, f"{where}: exit {proc.returncode}\n{stderr[-3000:]}"
        error = next((line for line in stderr.splitlines() if "gauntlet: error:" in line), "")
        assert re.search(NAMED[victim], error), f"{where}: the error does not name {victim}: " \
                                                f"{error!r}\n{stderr[-3000:]}"
        summaries = list(runs.glob("*/summary.json"))
        if summaries:  # a boot that failed early may have been refused before a run dir
            summary = json.loads(summaries[0].read_text())
            assert summary["status"] == "error" and summary["exit_code"] == 3, where
        assert _alive(children) == [], f"{where}: processes left behind"
        mine = [d for d in Path(tempfile.gettempdir()).glob("gauntlet-*")
                if (d / "owner.pid").exists()
                and (d / "owner.pid").read_text().strip() == str(proc.pid)]
        assert mine == [], f"{where}: temp dirs left behind"
    finally:
        _stop(proc)
