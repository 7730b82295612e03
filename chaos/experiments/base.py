"""What an experiment is, and the one loop that runs any of them.

An experiment measures, its verdicts judge: :meth:`Experiment.run` drives load and faults on a
booted stack and records samples, events and *facts* (measured values that are neither, such as
an integrity read-back or a ``/metrics`` delta) into its run dir; :meth:`Experiment.judge` is a
pure function of those records and the policy. ``gauntlet report`` re-judges from the files.

Each experiment boots a stack of its own (fresh state, its own policy: a breaker that reopens
after 60 s would make a suite last minutes). On the external backend nothing is booted and the
suite's declared policy is taken as the truth.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from chaos.integrity import count_rows
from chaos.plan import FaultPlan
from chaos.probes import Prober
from checks.integrity import integrity_verdict
from checks.verdict import Verdict
from gauntlet.boot import Stack, boot
from gauntlet.clock import RunClock
from gauntlet.config import ExperimentConfig, LoadConfig, Suite, parse_suite
from gauntlet.errors import ConfigError
from gauntlet.policy import Policy
from gauntlet.rundir import write_json, write_verdicts
from gauntlet.samples import load_samples
from gauntlet.timeline import EVENTS_FILE, Event, Timeline, read_events
from scenarios.runner import LoadRun

FACTS_FILE = "facts.json"


class Params(BaseModel):
    """Base of every experiment's parameters; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")
    policy: dict[str, Any] = {}


@dataclass
class Context:
    """What :meth:`Experiment.run` gets: the stack, where to write, and the clock."""

    stack: Stack
    run_dir: Path
    timeline: Timeline
    params: Any
    policy: Policy
    facts: dict[str, Any] = field(default_factory=dict)
    on_tick: Callable[[LoadRun], None] | None = None

    def load(self, load: LoadConfig, env: dict[str, str] | None = None) -> LoadRun:
        """A Locust run against this stack, writing into this experiment's run dir."""
        return LoadRun(load, self.stack.base_url, self.run_dir, self.timeline, extra_env=env)

    def prober(self, **kwargs: Any) -> Prober:
        return Prober(self.stack.probe_url, self.timeline, **kwargs)

    def sleep_until(self, t0: float, offset_s: float) -> None:
        time.sleep(max(0.0, t0 + offset_s - time.monotonic()))

    def scrape(self) -> str | None:
        """The API's /metrics text (direct address), or None when it does not answer."""
        try:
            response = httpx.get(self.stack.probe_url + "/metrics", timeout=3.0)
            response.raise_for_status()
        except httpx.HTTPError:
            return None
        return response.text

    def drive(self, load: LoadConfig, plan: FaultPlan | None = None, *,
              env: dict[str, str] | None = None,
              during: Callable[[LoadRun, float], None] | None = None,
              probe_interval_s: float = 0.1) -> None:
        """Load with probes running; the fault plan's clock starts at the first sample.

        ``during(run, t0)`` runs in this thread once the load is warm (t0 = monotonic time of
        the plan's zero) — for actions that are not faults, such as a signal.
        """
        injector = self.stack.faults(self.timeline) if plan else None
        with self.prober(interval_s=probe_interval_s).running(), self.load(load, env) as run:
            deadline = time.monotonic() + 15.0
            while run.samples_so_far() == 0 and time.monotonic() < deadline:
                if not run.alive():
                    break
                time.sleep(0.05)
            self.timeline.emit("phase", name="steady")
            t0 = time.monotonic()
            if plan is not None and injector is not None:
                plan.start(injector)
            try:
                if during is not None:
                    during(run, t0)
                run.wait(on_tick=self.on_tick)
            finally:
                if plan is not None:
                    plan.stop()
        if plan is not None and plan.errors:
            raise plan.errors[0]


@dataclass(frozen=True)
class Record:
    """An experiment's evidence as read back from its run dir: the input of ``judge``."""

    samples: pd.DataFrame
    events: list[Event]
    facts: dict[str, Any]

    def events_of(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]

    def first(self, kind: str, **match: Any) -> Event | None:
        for event in self.events:
            if event.kind == kind and all(event.data.get(k) == v for k, v in match.items()):
                return event
        return None


class Experiment:
    """Subclasses set ``name``, ``description``, ``Params``, ``policy`` and the two methods."""

    name: ClassVar[str]
    description: ClassVar[str]
    params_model: ClassVar[type[Params]] = Params
    # the stack policy this experiment needs to finish in seconds (local/compose backends)
    policy: ClassVar[dict[str, Any]] = {}
    # variant for ``gauntlet chaos NAME --broken``: the mechanism whose absence must fail it
    broken_variant: ClassVar[str] = ""
    checks_integrity: ClassVar[bool] = True

    def writes(self, params: Any) -> bool:
        """Whether this run creates orders, and so owes an integrity verdict."""
        return self.checks_integrity

    def parse_params(self, raw: dict[str, Any]) -> Any:
        try:
            return self.params_model.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            what = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
            raise ConfigError(f"experiment {self.name!r}: {what}: '{loc}'") from exc

    def run(self, ctx: Context) -> None:
        raise NotImplementedError

    def judge(self, record: Record, policy: Policy, params: Any) -> list[Verdict]:
        raise NotImplementedError


def experiment_suite(suite: Suite, experiment: Experiment, params: Any) -> Suite:
    """The suite an experiment boots. On a stack gauntlet boots, the experiment's own policy
    (what it needs to finish in seconds) overrides the suite's, and ``params.policy`` overrides
    both; an external stack's policy is what the suite declares, since nothing can change it."""
    stack = suite.stack.model_dump()
    if suite.stack.backend != "external":
        stack["policy"] = {**suite.stack.policy, **experiment.policy, **params.policy}
    else:
        stack["policy"] = {**suite.stack.policy, **params.policy}
    doc = {"name": f"{suite.name}:{experiment.name}", "stack": stack,
           "slo": {}, "experiments": [{"name": experiment.name}]}
    return parse_suite(doc, f"experiment {experiment.name!r}")


def judge_dir(experiment: Experiment, run_dir: Path, policy: Policy, params: Any) -> list[Verdict]:
    """Re-derive an experiment's verdicts from its run dir alone."""
    facts_path = run_dir / FACTS_FILE
    facts = json.loads(facts_path.read_text()) if facts_path.exists() else {}
    record = Record(load_samples(run_dir), read_events(run_dir / EVENTS_FILE), facts)
    verdicts = experiment.judge(record, policy, params)
    if experiment.writes(params):
        verdicts.append(integrity_verdict(facts.get("integrity"), experiment.name))
    return verdicts


def acknowledged_tokens(run_dir: Path) -> list[str]:
    """Item tokens of creates the client saw acknowledged (200/201 with a ref)."""
    df = load_samples(run_dir, columns=["status", "ref", "name"])
    if df.empty:
        return []
    ref = df["ref"].astype("string").fillna("")
    acked = df[(df["status"].isin([200, 201])) & ref.str.startswith("gauntlet-")]
    return sorted(set(acked["ref"].astype(str)))


def run_experiment(
    suite: Suite,
    config: ExperimentConfig,
    run_dir: Path,
    on_tick: Callable[[LoadRun], None] | None = None,
    on_boot: Callable[[Stack], None] | None = None,
) -> tuple[list[Verdict], dict[str, Any]]:
    """Boot, run, read back, judge; returns verdicts and the experiment's summary."""
    from chaos.experiments import get_experiment

    experiment = get_experiment(config.name)
    params = experiment.parse_params(config.params)
    exp_suite = experiment_suite(suite, experiment, params)
    policy = exp_suite.resolved_policy
    (run_dir / "logs").mkdir(parents=True, exist_ok=True)
    clock = RunClock()
    summary: dict[str, Any] = {
        "experiment": experiment.name,
        "description": experiment.description,
        "params": params.model_dump(),
        "policy": policy.model_dump(),
        "broken": list(exp_suite.stack.broken),
        "started_at_s": clock.started_at_s,
    }
    facts: dict[str, Any] = {}
    with Timeline(run_dir / EVENTS_FILE, clock) as timeline:
        timeline.emit("experiment.started", name=experiment.name)
        with boot(exp_suite, logs_dir=run_dir / "logs") as stack:
            if on_boot:
                on_boot(stack)
            summary["boot_time_s"] = stack.boot_time_s
            ctx = Context(stack, run_dir, timeline, params, policy, facts, on_tick)
            try:
                experiment.run(ctx)
            finally:
                if stack.toxiproxy is not None:
                    stack.faults(timeline).reset()
            if experiment.writes(params):
                tokens = acknowledged_tokens(run_dir)
                if stack.database_url:
                    rows = count_rows(stack.database_url, tokens)
                    facts["integrity"] = {"acknowledged": len(tokens),
                                          "rows": {t: n for t, n in rows.items() if n != 1},
                                          "checked": True}
                else:
                    facts["integrity"] = {"checked": False, "acknowledged": len(tokens)}
        timeline.emit("experiment.finished", name=experiment.name)
    write_json(run_dir / FACTS_FILE, facts)
    verdicts = judge_dir(experiment, run_dir, policy, params)
    summary["finished_at_s"] = time.time()
    summary["verdicts"] = [v.as_dict() for v in verdicts]
    write_verdicts(run_dir, verdicts)
    return verdicts, summary
