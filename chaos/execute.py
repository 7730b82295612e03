"""One experiment run: boot its stack, check, run, read back, judge.

Each experiment boots a stack of its own (fresh state). On the external backend nothing is
booted and the contract's numbers are taken as what the stack was configured with.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from gauntlet.boot import Stack, boot
from gauntlet.chaos.context import Context
from gauntlet.chaos.experiments.base import Planned
from gauntlet.chaos.integrity import read_back
from gauntlet.chaos.judging import FACTS_FILE, judge_dir
from gauntlet.chaos.planning import preflight
from gauntlet.clock import RunClock
from gauntlet.config import Suite
from gauntlet.contract import Contract
from gauntlet.outcome import judge_failed
from gauntlet.rundir import ExperimentResult, write_json, write_verdicts
from gauntlet.samples import read_capture
from gauntlet.scenarios.auth import AuthStep
from gauntlet.scenarios.runner import LoadRun
from gauntlet.timeline import EVENTS_FILE, Timeline


def _auth_headers(contract: Contract, base_url: str) -> dict[str, str]:
    """Headers of one authenticated client, for read-backs over HTTP."""
    auth = contract.traffic.auth
    if auth is None:
        return {}
    step = AuthStep.from_spec(auth.model_dump(by_alias=True))
    login = step.request(f"gauntlet-readback-{int(time.time())}")
    answer = httpx.request(login.method, base_url + login.path, json=login.json_body,
                           headers=login.headers, timeout=10.0)
    answer.raise_for_status()
    header, value = step.credential(answer.json())
    return {header: value}


def _boot_and_run(suite: Suite, planned: Planned, run_dir: Path, timeline: Timeline,
                  facts: dict[str, Any], result: ExperimentResult,
                  on_tick: Callable[[LoadRun], None] | None,
                  on_boot: Callable[[Stack], None] | None) -> None:
    """Boot, check, run and read back one experiment; what it measured goes to ``facts``."""
    contract = suite.the_contract
    experiment = planned.experiment
    with boot(suite, logs_dir=run_dir / "logs") as stack:
        if on_boot:
            on_boot(stack)
        result.boot_time_s = stack.boot_time_s
        reason = experiment.unverifiable(planned.target, stack)
        if reason is not None:
            facts["unverifiable"] = reason
        else:
            absent = preflight(planned, stack, contract)
            if absent:
                facts["metrics_absent_at_start"] = absent
                timeline.emit("metric.absent", metrics=absent)
            ctx = Context(stack, contract, planned.target, run_dir, timeline, planned.params,
                          facts, on_tick)
            try:
                experiment.run(ctx)
            finally:
                if stack.toxiproxy is not None:
                    stack.faults(timeline).reset()
            integrity = experiment.integrity_claims(contract, planned.target)
            if integrity:
                headers = (_auth_headers(contract, stack.base_url)
                           if any(c.http_path for c in integrity) else {})
                facts["integrity"] = {
                    c.name: read_back(c, run_dir, database_url=stack.database_url,
                                      base_url=stack.base_url, headers=headers)
                    for c in integrity}


def run_experiment(
    suite: Suite,
    planned: Planned,
    run_dir: Path,
    on_tick: Callable[[LoadRun], None] | None = None,
    on_boot: Callable[[Stack], None] | None = None,
) -> ExperimentResult:
    """Boot, check, run, read back, judge: the experiment's result, its verdicts in it."""
    contract = suite.the_contract
    experiment = planned.experiment
    (run_dir / "logs").mkdir(parents=True, exist_ok=True)
    clock = RunClock()
    result = ExperimentResult(experiment.name, planned.claim, experiment.description,
                              planned.params.model_dump(), list(suite.stack.variants),
                              clock.started_at_s)
    facts: dict[str, Any] = {}
    with Timeline(run_dir / EVENTS_FILE, clock) as timeline:
        timeline.emit("experiment.started", name=experiment.name, claim=planned.claim)
        if experiment.needs_run(planned.target, contract):
            _boot_and_run(suite, planned, run_dir, timeline, facts, result, on_tick, on_boot)
        else:  # every claim of this run is a contract finding: nothing to boot or measure
            facts["findings_only"] = [f.as_dict() for f in planned.findings]
        timeline.emit("experiment.finished", name=experiment.name, claim=planned.claim)
    write_json(run_dir / FACTS_FILE, facts)
    result.capture = read_capture(run_dir)
    try:
        verdicts = judge_dir(planned, contract, run_dir)
    except Exception as exc:  # the judge fails closed: exit 3, the traceback kept
        raise judge_failed(run_dir, exc) from exc
    result.finished_at_s = time.time()
    result.verdicts = verdicts
    write_verdicts(run_dir, verdicts)
    return result
