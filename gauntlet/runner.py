"""One suite run, end to end: boot → load (and experiments) → verdicts → run dir → outcome.

The runner measures and records; it never judges inline. The judge stage
(:func:`gauntlet.judge.close_run`) reads only the run dir, and ``gauntlet report RUN_DIR``
goes through the same function, so a rebuild re-derives exactly what the run printed.
"""

from __future__ import annotations

import importlib.metadata
import os
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gauntlet import cleanup
from gauntlet.boot import Stack, boot
from gauntlet.boot.stack import StackProcessDied
from gauntlet.checks.verdict import Verdict
from gauntlet.clock import RunClock
from gauntlet.config import Suite
from gauntlet.contract import Contract
from gauntlet.errors import ConfigError, Interrupted
from gauntlet.generator import CpuMonitor, GeneratorHealth, assess, generator_reports
from gauntlet.hdr import has_hdr, load_hdr
from gauntlet.judge import RunOutcome, close_run
from gauntlet.latency import LATE_MS, endpoint_keys
from gauntlet.metrics import crosscheck, scrape_requests
from gauntlet.outcome import log_unexpected
from gauntlet.rundir import (
    SUMMARY_FILE,
    SUMMARY_SCHEMA_VERSION,
    RunSummary,
    new_run_dir,
    write_json,
)
from gauntlet.samples import CAPTURE_FILE, load_samples, read_capture
from gauntlet.scenarios.realtime_spec import realtime_env
from gauntlet.scenarios.runner import LoadRun
from gauntlet.scenarios.workerauth import ENV_SECRET, SecretError, new_secret, read_secret
from gauntlet.timeline import EVENTS_FILE, Timeline

if TYPE_CHECKING:
    from gauntlet.chaos.experiments.base import Planned

CONTRACT_FILE = "contract.json"
STACK_CHECK_S = 1.0  # how often the load checks that every process of the stack still runs


@dataclass
class Hooks:
    """How a run talks to whoever watches it (the CLI's rich console, or nothing in tests)."""

    on_boot: Callable[[Stack], None] = lambda stack: None
    on_load_tick: Callable[[LoadRun], None] = lambda load: None
    on_phase: Callable[[str], None] = lambda name: None
    # a contract finding (a claim the contract's own numbers make unreachable), said once
    # before the run spends time on it
    on_finding: Callable[[str], None] = lambda text: None
    # before anything starts: what the plan means for the stack (an experiment that ends it)
    on_plan: Callable[[list[str]], None] = lambda notes: None
    # the worker secret gauntlet made for a run with remote workers: shown once, kept nowhere
    on_secret: Callable[[str], None] = lambda secret: None


def _client_counts(run_dir: Path) -> dict[str, int]:
    if has_hdr(run_dir):
        return load_hdr(run_dir).endpoint_counts()
    df = load_samples(run_dir, columns=["method", "name"])
    if df.empty:
        return {}
    counts = endpoint_keys(df).value_counts()
    return {str(k): int(v) for k, v in counts.items()}


# what measures and judges a run, whose versions pyproject.toml allows to range: the run dir
# keeps which ones did, so two runs' numbers can be told apart by more than the date
MEASURING_LIBRARIES = ("gauntlet", "locust", "gevent", "hdrhistogram", "pandas", "numpy",
                       "pyarrow", "pydantic", "httpx")


def library_versions() -> dict[str, str]:
    """``{"locust": "2.47.0", ...}`` for the measuring libraries installed here."""
    found: dict[str, str] = {}
    for name in MEASURING_LIBRARIES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def run_suite(suite: Suite, suite_text: str | None = None, hooks: Hooks | None = None,
              output_dir: Path | None = None, *, every_claim: bool = False) -> RunOutcome:
    """Run a suite; never raises for a failed verdict, an infrastructure error or ^C.

    ``every_claim`` (``gauntlet verify``): a claim of the contract that no experiment of the run
    verified gets an inconclusive verdict saying so — never skipped in silence.

    Raises :class:`~gauntlet.errors.ConfigError` (exit 2) before anything is created when the
    suite asks for what cannot be run: an unknown experiment or claim, bad parameters, a
    non-loopback target without ``allow_remote``.
    """
    from gauntlet.boot.external import check_remote
    from gauntlet.chaos.planning import ordering_notes, plan_experiments

    hooks = hooks or Hooks()
    planned = plan_experiments(suite) if suite.experiments or suite.every_claim else []
    check_remote(suite.stack)
    secret = _worker_secret(suite, hooks)
    notes = ordering_notes(planned, suite.stack.backend)
    hooks.on_plan(notes)
    # absolute: Locust runs in the repo, whatever directory gauntlet was started from
    base = (output_dir or suite.runs_dir).resolve()
    run_dir = new_run_dir(base, suite.name)
    if suite_text is not None:
        (run_dir / "suite.toml").write_text(suite_text)
    if suite.resolved_contract is not None:
        write_json(run_dir / CONTRACT_FILE,
                   suite.resolved_contract.model_dump(mode="json", by_alias=True))
    clock = RunClock()
    summary: RunSummary = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "run_id": run_dir.name,
        "suite": suite.name,
        "description": suite.description,
        "started_at_s": clock.started_at_s,
        "backend": suite.stack.backend,
        "contract": suite.resolved_contract.name if suite.resolved_contract else None,
        "variants": list(suite.stack.variants),
        "load": suite.load.model_dump() if suite.load else None,
        "libraries": library_versions(),
        "status": "running",
        **({"plan_notes": notes} if notes else {}),
    }
    write_json(run_dir / SUMMARY_FILE, summary)
    error: BaseException | None = None
    timeline = Timeline(run_dir / EVENTS_FILE, clock)
    findings = [(p.label, f) for p in planned for f in p.findings]
    for label, finding in findings:
        timeline.emit("contract.finding", experiment=label, claim=finding.claim,
                      text=finding.text)
        hooks.on_finding(f"{finding.claim}: {finding.text}")
    if findings:
        summary["contract_findings"] = [{"experiment": label, **f.as_dict()}
                                        for label, f in findings]
    ran: list[Planned] = []
    try:
        with cleanup.signal_handlers():
            if suite.load is not None:
                timeline.emit("phase", name="boot")
                hooks.on_phase("boot")
                with boot(suite, logs_dir=run_dir / "logs") as stack:
                    timeline.emit("stack.ready", boot_time_s=stack.boot_time_s,
                                  backend=stack.backend)
                    summary.update({"boot_time_s": stack.boot_time_s,
                                    "versions": dict(stack.versions),
                                    "base_url": stack.base_url})
                    hooks.on_boot(stack)
                    _drive_load(suite, stack, run_dir, timeline, summary, hooks, secret)
                    timeline.emit("phase", name="teardown")
                    hooks.on_phase("teardown")
            if planned:
                _run_experiments(suite, planned, run_dir, timeline, summary, hooks, ran)
    except (Interrupted, KeyboardInterrupt) as exc:
        error = exc
        summary["status"] = "interrupted"
    except Exception as exc:
        error = exc
        summary["status"] = "error"
        summary["error"] = str(exc)
    finally:
        timeline.emit("phase", name="done")
        timeline.close()
    if planned:
        from gauntlet.chaos.planning import unverified

        owed: list[Verdict] = []
        if error is not None:  # what the run planned and never got to: said, not dropped
            owed += not_run(suite.the_contract, planned, ran, _stopped_by(error))
            summary["not_run"] = [p.label for p in planned if p not in ran]
        if every_claim or suite.every_claim:
            summary["every_claim"] = True  # a rebuild owes these verdicts again
            owed += unverified(suite.the_contract, planned)
        summary.setdefault("experiment_verdicts", []).extend(v.as_dict() for v in owed)

    summary["finished_at_s"] = time.time()
    write_json(run_dir / SUMMARY_FILE, summary)
    if error is not None and (log := log_unexpected(run_dir, error)) is not None:
        summary["traceback"] = str(log.relative_to(run_dir))
    return close_run(run_dir, suite, summary, error,
                     forced_kills_since=summary["started_at_s"])


NOT_RUN = "not run"


def _stopped_by(error: BaseException) -> str:
    if isinstance(error, Interrupted | KeyboardInterrupt):
        return "the run was interrupted"
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def not_run(contract: Contract, planned: list[Planned], ran: list[Planned], error: str
            ) -> list[Verdict]:
    """An inconclusive verdict, ``not run: <error>``, for every claim a planned experiment run
    would have verified and no run that finished did — a run stopped early lists what it did
    not get to, instead of leaving it out (a table that then reads "20 passed, 0 failed").

    The claims are those :func:`~gauntlet.chaos.planning.unverified` would report for
    the runs that finished and not for every planned run: one rule for what a run covers."""
    from gauntlet.chaos.planning import unverified

    covered = {v.claim for v in unverified(contract, planned)}
    out: list[Verdict] = []
    for verdict in unverified(contract, ran):
        if verdict.claim in covered:
            continue
        kind, name = verdict.claim.split(".", 1)
        out.append(Verdict.missing(kind, f"verified [{name}]", f"{NOT_RUN}: {error}",
                                   claim=verdict.claim,
                                   evidence="the experiment run planned for it"))
    return out


def _run_experiments(suite: Suite, planned: list[Planned], run_dir: Path, timeline: Timeline,
                     summary: RunSummary, hooks: Hooks, ran: list[Planned]) -> None:
    """Each experiment run (one per claim instance) in a run dir of its own under
    ``experiments/``, with its own stack; ``ran`` gets each one that finished."""
    from gauntlet.chaos.execute import run_experiment

    summary["experiment_verdicts"] = []
    summary["experiments"] = []
    for index, item in enumerate(planned, 1):
        sub = run_dir / "experiments" / f"{index:02d}-{item.experiment.name}-{item.claim}"
        timeline.emit("experiment.started", name=item.experiment.name, claim=item.claim,
                      dir=str(sub.relative_to(run_dir)))
        hooks.on_phase(f"{index}/{len(planned)} {item.label}")
        result = run_experiment(suite, item, sub, on_tick=hooks.on_load_tick,
                                on_boot=hooks.on_boot)
        result.dir = str(sub.relative_to(run_dir))
        timeline.emit("experiment.finished", name=item.experiment.name, claim=item.claim,
                      passed=all(v.passed for v in result.verdicts))
        summary["experiment_verdicts"] += [v.as_dict() for v in result.verdicts]
        summary["experiments"].append(result.as_dict())
        ran.append(item)
        write_json(run_dir / SUMMARY_FILE, summary)


def _declared(suite: Suite) -> dict[str, str]:
    """Scenario ``declared``: every request the contract declares with a weight, each client
    under half of every rate limit covering it (a limiter answering 429 would fail an SLO run
    for what the load did, not what the service did). A limit on part of the mix spaces that
    part alone: the rest keeps the suite's pace."""
    from gauntlet.config import SCENARIO_DIR
    from gauntlet.scenarios.traffic import declared_env, mix_of, spaced

    load, contract = suite.load, suite.resolved_contract
    if load is None or contract is None:
        return {}
    if load.scenario_path(suite.base_dir).resolve() != (SCENARIO_DIR / "declared.py").resolve():
        return {}
    requests = mix_of(contract)
    if not requests:
        raise ConfigError(f"scenario 'declared': contract {contract.name!r} declares no request "
                          "with a weight to send")
    users = load.users or max((s.users for s in load.stages or []), default=1)
    pace_s, spacing = spaced(contract, requests, load.pace_s, users)
    return declared_env(contract, requests, pace_s=pace_s, spacing=spacing)


def _timing_prober(suite: Suite, stack: Stack, timeline: Timeline) -> AbstractContextManager[Any]:
    """While the load runs, the polls the contract's claims time (a health path claimed to
    answer within 100 ms under load): a load is the "under load" of such a claim as much as an
    experiment's steady phase. So are the gauges claims read (a queue's depth under load).
    Nothing when no claim times a path or reads a gauge."""
    from gauntlet.chaos.probes import Prober, timed_probes

    contract = suite.resolved_contract
    timed = timed_probes(contract) if contract is not None else []
    gauges = contract.gauges() if contract is not None else []
    if not timed and not gauges:
        return nullcontext()
    return Prober(stack.probe_url, timeline, stack.probes, json_probes=timed, gauges=gauges,
                  health=False).running()


def _captured(suite: Suite) -> dict[str, str]:
    """The response headers the contract's claims read, recorded for any load — a team's own
    locustfile too: a header claimed on every answer is judged over the load's answers as well
    as the experiments' (``scenario = "declared"`` sets the same and more)."""
    contract = suite.resolved_contract
    headers = contract.marker_headers() if contract is not None else []
    return {"GAUNTLET_CAPTURE_HEADERS": ",".join(headers)} if headers else {}


def _stack_alive(stack: Stack, timeline: Timeline) -> None:
    """Raise (exit 3) when a process of the stack died, with a timeline event saying which."""
    try:
        stack.check_alive("the load")
    except StackProcessDied as exc:
        timeline.emit("stack.process_died", error=str(exc))
        raise


def _worker_secret(suite: Suite, hooks: Hooks) -> str | None:
    """The secret remote workers must prove (None: the run has none): the team's, from the
    environment, else one made for this run and shown once. An unusable one is exit 2."""
    if suite.load is None or not suite.load.remote_workers:
        return None
    try:
        secret = read_secret(os.environ)
    except SecretError as exc:
        raise ConfigError(str(exc)) from None
    if secret is None:
        secret = new_secret()
        hooks.on_secret(secret)
    return secret


def _drive_load(suite: Suite, stack: Stack, run_dir: Path, timeline: Timeline,
                summary: RunSummary, hooks: Hooks, secret: str | None = None) -> None:
    assert suite.load is not None
    timeline.emit("phase", name="load")
    hooks.on_phase("load")
    before = scrape_requests(stack.probe_url, stack.probes)
    # realtime traffic (scenario "realtime") is declared by the contract, not the suite
    realtime = realtime_env(suite.resolved_contract, client_prefix=f"g{int(time.time()) % 100000}")
    extra = {**realtime, **_captured(suite), **_declared(suite)}
    if secret is not None:
        extra[ENV_SECRET] = secret
    load = LoadRun(suite.load, stack.base_url, run_dir, timeline, extra_env=extra)
    monitor: CpuMonitor | None = None
    # a stack process that dies under the load is an infrastructure error (exit 3), whatever
    # the samples would say: checked before, about every second during, and after the load
    stack.check_alive("the wait for the load to start")
    checked_s = time.monotonic()

    def tick(run: LoadRun) -> None:
        nonlocal monitor, checked_s
        if monitor is None and run.pid:
            monitor = CpuMonitor(run.pid)
        if monitor is not None:
            monitor.tick()
        if time.monotonic() - checked_s >= STACK_CHECK_S:
            checked_s = time.monotonic()
            _stack_alive(stack, timeline)
        hooks.on_load_tick(run)

    try:
        with _timing_prober(suite, stack, timeline), load:
            result = load.wait(on_tick=tick)
        _stack_alive(stack, timeline)
    finally:
        if (run_dir / "raw").exists() and not (run_dir / "samples.parquet").exists():
            load.finish()
        if (run_dir / CAPTURE_FILE).exists():
            summary["capture"] = read_capture(run_dir).as_dict()
    after = scrape_requests(stack.probe_url, stack.probes)
    client = _client_counts(run_dir)
    check = crosscheck(client, before, after, stack.probes.request_counter)
    summary["metrics_crosscheck"] = check.rows
    if check.unmatched:
        summary["metrics_crosscheck_unmatched"] = check.unmatched
    if check.warning:  # said in the console, the report and the timeline, never a silent 0
        summary["metrics_crosscheck_warning"] = check.warning
        timeline.emit("metrics.crosscheck", warning=check.warning)
    late = 0
    requests = sum(client.values())
    if has_hdr(run_dir):
        late = load_hdr(run_dir).late
    else:
        df = load_samples(run_dir, columns=["t_intended_s", "t_start_s"])
        if not df.empty:
            late = int(((df["t_start_s"] - df["t_intended_s"]) * 1000.0 > LATE_MS).sum())
    reports = generator_reports(result.generator, result.unreadable,
                                expected=suite.load.remote_workers or suite.load.workers)
    health: GeneratorHealth = assess(
        monitor.samples if monitor else [], monitor.max_processes if monitor else 0,
        late, reports.unsent, requests, suite.load.model == "open",
        remote_cpu=reports.remote_cpu, unreported=reports.unreported, lost=result.remote_lost)
    if result.remote_refused:
        summary["remote_workers_refused"] = result.remote_refused
    summary["generator"] = health.as_dict()
    summary["load_duration_s"] = result.duration_s
