"""The harness side of Locust: build the command line, run it in a subprocess, collect samples.

Locust never runs in the harness' process (its gevent monkey-patching breaks asyncio, httpx and
testcontainers). :class:`LoadRun` starts ``python -m gauntlet.scenarios._locust_main`` with the
suite's
load model, lets the caller do other things meanwhile (inject faults, send signals, poll probes),
then waits for it under a bound and merges the per-worker sample files.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gauntlet import cleanup
from gauntlet.config import REPO_ROOT, LoadConfig
from gauntlet.errors import InfrastructureError
from gauntlet.hdr import merge_raw_hdr
from gauntlet.procs import ManagedProcess
from gauntlet.samples import CAPTURE_FILE, RAW_DIR, merge_raw, read_capture
from gauntlet.scenarios import remote
from gauntlet.scenarios.inflight import remove_boards
from gauntlet.scenarios.workerauth import ENV_SECRET, ENV_SECRET_FILE
from gauntlet.timeline import Timeline

SHAPES_FILE = Path(__file__).with_name("shapes.py")
OPEN_GRACE_S = 2


@dataclass
class LoadResult:
    """``generator``: each Locust worker's report (``generator-*.json``); ``unreadable``: the
    reports that were there but could not be read, with why (they make generator health
    unknown: skipping one would read as a worker that sent every slot)."""

    returncode: int | None
    duration_s: float
    generator: list[dict[str, Any]] = field(default_factory=list)
    samples_path: Path | None = None
    unreadable: list[str] = field(default_factory=list)
    # remote workers' samples that did not all arrive intact, one line each (empty: all did)
    remote_lost: list[str] = field(default_factory=list)
    # clients the master would not let in (a wrong or absent proof; no answer), one line each
    remote_refused: list[str] = field(default_factory=list)


def locust_argv(load: LoadConfig, base_url: str, run_dir: Path) -> list[str]:
    """The Locust command line for a load model (pure: unit-tested without Locust)."""
    files = [str(load.scenario_path())]
    argv = [
        sys.executable, "-m", "gauntlet.scenarios._locust_main",
        "--headless", "--host", base_url,
        "--stop-timeout", "5",
        "--csv", str(run_dir / "locust"),
        "--only-summary", "--loglevel", "WARNING",
        "--exit-code-on-error", "0",
    ]
    if load.model == "closed" and load.stages:
        files.append(str(SHAPES_FILE))
    elif load.model == "closed":
        assert load.users is not None
        argv += ["-u", str(load.users), "-r", str(load.spawn_rate or load.users),
                 "--run-time", f"{math.ceil(load.total_duration_s)}s"]
    else:
        # the schedule ends the load; the extra seconds let the last slots' requests finish
        pool = load.max_concurrency
        argv += ["-u", str(pool), "-r", str(pool),
                 "--run-time", f"{math.ceil(load.total_duration_s) + OPEN_GRACE_S}s"]
    if load.workers > 1:
        # the forked workers reach their master on loopback: Locust's own default binds it to
        # every interface, where anyone could join unauthenticated (remote workers prove the
        # run's secret; local ones cannot be asked to)
        argv += ["--processes", str(load.workers), "--master-bind-host", "127.0.0.1"]
    if load.remote_workers:
        argv += remote.master_args(load.remote_workers, load.master_bind_host,
                                   load.master_bind_port, load.remote_wait_s)
    return [*argv[:3], "-f", ",".join(files), *argv[3:]]


def locust_env(load: LoadConfig, samples_dir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "GAUNTLET_SAMPLES_DIR": str(samples_dir),
        # the open model's interleave: worker i of N takes slots i, i+N, ...
        "GAUNTLET_WORKERS": str(load.remote_workers or load.workers),
        "GAUNTLET_SAMPLE_MODE": load.samples,
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p
        ),
    }
    if load.model == "closed" and load.stages:
        env["GAUNTLET_STAGES"] = json.dumps(
            [[s.duration_s, s.users, s.spawn_rate or max(s.users, 1)] for s in load.stages]
        )
    if load.model == "open":
        stages = (
            [[s.duration_s, s.rate] for s in load.rate_stages]
            if load.rate_stages
            else [[load.duration_s, load.rate]]
        )
        env["GAUNTLET_RATE_STAGES"] = json.dumps(stages)
    if load.remote_workers:
        env[remote.ENV_REMOTE_WORKERS] = str(load.remote_workers)
        env[remote.ENV_FINAL_WAIT_S] = f"{remote.FINAL_WAIT_S:g}"
    return env


class LoadRun:
    """One Locust run: ``start()``, do anything, ``wait()``; a context manager stops it early."""

    def __init__(
        self,
        load: LoadConfig,
        base_url: str,
        run_dir: Path,
        timeline: Timeline | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.load = load
        self.base_url = base_url
        self.run_dir = run_dir
        self.timeline = timeline
        self.samples_dir = run_dir / RAW_DIR
        self.extra_env = dict(extra_env or {})
        self._proc: ManagedProcess | None = None
        self._started = 0.0
        self._stopped_early = False

    def start(self) -> LoadRun:
        self.samples_dir.mkdir(parents=True, exist_ok=True)
        self._proc = ManagedProcess(
            "locust",
            locust_argv(self.load, self.base_url, self.run_dir),
            env=self._env(),
            cwd=REPO_ROOT,
            log_path=self.run_dir / "logs" / "locust.log",
            stop_signal=2,  # SIGINT: Locust stops users and writes its stats
            # a master also waits for its remote workers' last chunks (bounded)
            stop_timeout_s=15 + (remote.FINAL_WAIT_S if self.load.remote_workers else 0),
        ).start()
        self._started = time.monotonic()
        if self.timeline:
            self.timeline.emit("load.started", model=self.load.model,
                               duration_s=self.load.total_duration_s, workers=self.load.workers,
                               remote_workers=self.load.remote_workers)
        return self

    def _env(self) -> dict[str, str]:
        """Locust's environment. A secret the harness resolved replaces the file it may have
        come from: Locust runs in another directory, where a relative path would not be read."""
        env = {**locust_env(self.load, self.samples_dir), **self.extra_env}
        if ENV_SECRET in self.extra_env:
            env.pop(ENV_SECRET_FILE, None)
        return env

    def __enter__(self) -> LoadRun:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None and self._proc.alive():
            self._proc.stop()

    def stop(self) -> None:
        """End the load early (Locust writes its stats and exits); ``wait`` returns normally."""
        self._stopped_early = True
        if self._proc is not None and self._proc.alive():
            self._proc.stop()

    def alive(self) -> bool:
        return self._proc is not None and self._proc.alive()

    @property
    def pid(self) -> int | None:
        """Locust's (master) process id once started: what the generator-health monitor watches."""
        return self._proc.pid if self._proc is not None else None

    def elapsed_s(self) -> float:
        return time.monotonic() - self._started if self._started else 0.0

    def samples_so_far(self) -> int:
        """A cheap estimate for progress display: bytes written / bytes per row."""
        size = sum(p.stat().st_size for p in self.samples_dir.glob("samples-*.csv"))
        return size // 95

    def wait(self, on_tick: Callable[[LoadRun], None] | None = None) -> LoadResult:
        assert self._proc is not None, "start() first"
        bound = self.load.total_duration_s + 60.0 + 10.0 * self.load.workers
        if self.load.remote_workers:  # the wait for them, then for their last chunks
            bound += self.load.remote_wait_s + remote.FINAL_WAIT_S
        while self._proc.alive():
            cleanup.check()  # a Ctrl-C/SIGTERM is noticed here, within one 0.5 s poll
            if self.elapsed_s() > bound:
                self._proc.stop()
                raise InfrastructureError(
                    f"Locust still running {bound:.0f} s after start; stopped it",
                    logs=self._proc.tail(), hint=f"see {self._proc.log_path}")
            if on_tick:
                on_tick(self)
            self._proc.wait(timeout_s=0.5)
        code = self._proc.returncode
        if code not in (0, None) and not self._stopped_early:
            self._check_remote_arrived()
            raise InfrastructureError(
                f"Locust exited with code {code}", logs=self._proc.tail(30),
                hint=f"see {self._proc.log_path}")
        if self.load.remote_workers:
            # the master has exited: its record is final. Rows are counted before the merge
            # removes the raw files
            status = remote.read_status(self.samples_dir)
            rows = remote.rows_by_node(self.samples_dir, list(status.get("seen", [])))
        result = self.finish()
        if self.load.remote_workers:
            result.remote_lost, result.remote_refused = self._check_remote_complete(status, rows)
        self._check_capture()
        return result

    def _check_capture(self) -> None:
        """Every sample reached the record, but for a torn last line: else the run fails (see
        :class:`~gauntlet.samples.CaptureRecord` for why an infrastructure error)."""
        record = read_capture(self.run_dir)
        problems = record.problems()
        if problems:
            raise InfrastructureError(
                f"the sample record is incomplete: {'; '.join(problems)} ({record.rows} "
                "samples read): verdicts on it would judge a load that was not the one sent",
                hint=f"see {self.run_dir / CAPTURE_FILE} and "
                     f"{self.run_dir / 'logs' / 'locust.log'} (a full disk?)")

    def _check_remote_arrived(self) -> None:
        """Locust gave up waiting for its remote workers (``--expect-workers-max-wait``): say
        how many came, where they were awaited, and how to start them."""
        load = self.load
        if not load.remote_workers:
            return
        seen = remote.read_status(self.samples_dir).get("seen", [])
        if len(seen) >= load.remote_workers:
            return
        assert self._proc is not None
        address = f"{load.master_bind_host}:{load.master_bind_port}"
        raise InfrastructureError(
            f"remote workers: {len(seen)} of {load.remote_workers} connected to the Locust "
            f"master on {address} within {load.remote_wait_s:g} s (load.remote_wait_s); "
            "no load was sent",
            logs=self._proc.tail(10),
            hint=f"start them with `gauntlet worker --master HOST:{load.master_bind_port}`, "
                 f"where HOST reaches this machine; the master listens on {address}")

    def _check_remote_complete(self, status: dict[str, Any], rows: dict[str, int | None]
                               ) -> tuple[list[str], list[str]]:
        """What the remote workers' record (the master's ``status``) lacks, and the clients the
        master would not let in, one line each; both go to the timeline too.

        Samples lost on the way (a batch with a bad MAC, a gap, a worker whose last chunk never
        came) do not stop the run: the verdicts are judged on what arrived and made
        inconclusive with these lines (:func:`gauntlet.generator.assess`), never a pass. The
        master knows which worker lost what, unlike a local capture's lost rows
        (:class:`~gauntlet.samples.CaptureRecord`), so the run can say how much is missing."""
        problems = remote.incomplete(status) + remote.unrecorded(status, rows)
        refused = remote.strangers(status)
        if self.timeline:
            for line in refused:
                self.timeline.emit("load.worker_refused", text=line)
            self.timeline.emit("load.remote_workers", seen=len(status.get("seen", [])),
                               problems=problems, waited_s=status.get("waited_s"))
        return problems, refused

    def finish(self) -> LoadResult:
        """Merge samples and generator stats; also used after an interrupted run."""
        if self._proc is not None and self._proc.alive():
            self._proc.stop()
        duration = self.elapsed_s()
        if self.timeline:
            self.timeline.emit("load.stopped", duration_s=duration)
        generator: list[dict[str, Any]] = []
        unreadable: list[str] = []
        for path in sorted(self.samples_dir.glob("generator-*.json")):
            try:
                report = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                unreadable.append(f"{path.name} unreadable ({type(exc).__name__})")
                continue
            if isinstance(report, dict):
                generator.append(report)
            else:
                unreadable.append(f"{path.name} holds no report")
        samples = merge_raw(self.run_dir)
        merge_raw_hdr(self.run_dir)
        remove_boards(self.samples_dir)
        record = read_capture(self.run_dir)
        if record.counted and self.timeline:  # a torn last line too: said, not hidden
            self.timeline.emit("samples.lost", **record.as_dict())
        return LoadResult(
            returncode=self._proc.returncode if self._proc else None,
            duration_s=duration,
            generator=generator,
            samples_path=samples,
            unreadable=unreadable,
        )
