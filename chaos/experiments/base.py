"""What an experiment is, and the one loop that runs any of them.

An experiment verifies one claim instance of the contract: it takes its link, requests, markers
and numbers from the claim, derives its phase lengths from them, drives load and faults on a
booted stack, and records samples, events and *facts* (measured values that are neither, such as
an integrity read-back or a metric delta) into its run dir. :meth:`Experiment.judge` is a pure
function of those records and the claim; ``gauntlet report`` re-judges from the files (the run
dir keeps the contract it ran with).

Each experiment boots a stack of its own (fresh state). On the external backend nothing is
booted and the contract's numbers are taken as what the stack was configured with.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from gauntlet import cleanup
from gauntlet.boot import Stack, boot
from gauntlet.chaos.integrity import read_back
from gauntlet.chaos.plan import FaultPlan
from gauntlet.chaos.probes import JsonProbe, Prober
from gauntlet.chaos.watch import Evidence, LiveSample, LiveSamples, tried
from gauntlet.checks.integrity import integrity_verdict
from gauntlet.checks.steady import demote, steady_error_bound, steady_state
from gauntlet.checks.verdict import Verdict
from gauntlet.checks.windows import Window, fault_windows
from gauntlet.clock import RunClock
from gauntlet.config import SCENARIO_DIR, ExperimentConfig, LoadConfig, Suite
from gauntlet.contract import Claim, Contract, IntegrityClaim, Metric
from gauntlet.errors import ConfigError, InfrastructureError
from gauntlet.metrics import has_family, scrape
from gauntlet.outcome import judge_failed
from gauntlet.rundir import write_json, write_verdicts
from gauntlet.samples import load_samples, read_capture
from gauntlet.scenarios.auth import AuthStep
from gauntlet.scenarios.runner import LoadRun
from gauntlet.scenarios.traffic import CLIENT_TIMEOUT_S, declared_env, paced
from gauntlet.timeline import EVENTS_FILE, Event, Timeline, read_events

FACTS_FILE = "facts.json"
# backends whose stack outlives an experiment: nothing boots a fresh one for the next
OUTLIVING_BACKENDS = ("external", "up")
DECLARED_LOCUSTFILE = SCENARIO_DIR / "declared.py"
WARMUP_S = 1.5
# a steady phase's p95 is decidable on min_samples_for(0.95) = 72 requests; a margin above it
STEADY_SAMPLES = 90
STEADY_BOUND_S = 30.0
RECOVERY_BOUND_S = 30.0
RECOVERY_FLOOR_S = 10.0
STEADY_P95_SLACK = 2.0


class Params(BaseModel):
    """Base of every experiment's parameters; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class Context:
    """What :meth:`Experiment.run` gets: the stack, the claim, where to write, and the clock."""

    stack: Stack
    contract: Contract
    claim: Any
    run_dir: Path
    timeline: Timeline
    params: Any
    facts: dict[str, Any] = field(default_factory=dict)
    on_tick: Callable[[LoadRun], None] | None = None

    def traffic_env(self, requests: list[str], *, pace_s: float, users: int,
                    timeout_s: float = CLIENT_TIMEOUT_S) -> dict[str, str]:
        """The environment of a Locust run that sends ``requests`` as the contract declares."""
        return declared_env(self.contract, requests, pace_s=pace_s, timeout_s=timeout_s)

    def load(self, requests: list[str], *, users: int, duration_s: float,
             pace_s: float = 0.1, timeout_s: float = CLIENT_TIMEOUT_S) -> LoadRun:
        """A Locust run of the claim's requests: the contract's declared requests, or the
        user's own locustfile (whose samples the verdicts then pick by name)."""
        pace = paced(self.contract, requests, pace_s, users)
        locustfile = (str(self.contract.resolve(self.contract.traffic.locustfile))
                      if self.contract.traffic.locustfile else str(DECLARED_LOCUSTFILE))
        load = LoadConfig(scenario=locustfile, users=users, spawn_rate=users,
                          duration_s=duration_s)
        self.facts["load"] = {"users": users, "pace_s": pace, "requests": requests}
        return LoadRun(load, self.stack.base_url, self.run_dir, self.timeline,
                       extra_env=self.traffic_env(requests, pace_s=pace, users=users,
                                                  timeout_s=timeout_s))

    def prober(self, interval_s: float = 0.1, json_probes: Sequence[JsonProbe] = ()) -> Prober:
        return Prober(self.stack.probe_url, self.timeline, self.stack.probes,
                      states=self.contract.state_metrics(), interval_s=interval_s,
                      json_probes=json_probes)

    def sleep_until(self, t0: float, offset_s: float) -> None:
        deadline = t0 + offset_s
        while (left := deadline - time.monotonic()) > 0:
            cleanup.check()
            time.sleep(min(left, 0.1))

    def scrape(self) -> str | None:
        """The service's metrics text (direct address), or None when it does not answer."""
        return scrape(self.stack.probe_url, self.contract.probes.metrics).text

    def drive(self, requests: list[str], *, users: int, duration_s: float,
              plan: FaultPlan | None = None, pace_s: float = 0.1,
              during: Callable[[LoadRun, float], None] | None = None,
              probe_interval_s: float = 0.1, json_probes: Sequence[JsonProbe] = (),
              timeout_s: float = CLIENT_TIMEOUT_S, settle_s: float | None = None,
              lead_s: float = 0.0) -> None:
        """Load with probes running; the fault plan's clock (t0) starts once the steady phase
        is long enough, and the load ends ``duration_s`` after t0 (or when ``during`` stops it).

        Evidence by construction: a steady phase's p95 is decidable only on enough requests
        (:data:`STEADY_SAMPLES`; ``min_samples_for(0.95)`` is 72), so t0 waits until that many
        of ``requests`` succeeded after the warm-up, at most :data:`STEADY_BOUND_S`. With
        ``settle_s`` (how long after the last fault the stack may take to be steady again),
        the load goes on — past ``duration_s``, or past ``during`` — until the phase after
        recovery holds as many, at most :func:`recovery_bound_s` past the settle time.

        ``lead_s``: how long the plan (or ``during``) keeps the steady state after t0 before
        its first fault. The wait for the steady phase's successes already is steady state, so
        t0 is put back by as much of it as has passed since the warm-up, up to ``lead_s``: the
        first fault comes once the phase is both ``lead_s`` long and decidable, not their sum.

        ``during(run, t0)`` runs in this thread once the steady phase is long enough (t0 =
        monotonic time of the plan's zero) — for actions that are not faults, such as a signal,
        or faults an experiment applies as it watches. ``json_probes``: more paths the prober
        polls, recording a field of each answer.
        """
        injector = self.stack.faults(self.timeline) if plan else None
        bound_s = duration_s + STEADY_BOUND_S + (RECOVERY_BOUND_S if settle_s is not None else 0)
        with self.prober(probe_interval_s, json_probes).running(), \
                self.load(requests, users=users, duration_s=bound_s, pace_s=pace_s,
                          timeout_s=timeout_s) as run:
            deadline = time.monotonic() + 15.0
            while run.samples_so_far() == 0 and time.monotonic() < deadline:
                if not run.alive():
                    break
                cleanup.check()
                time.sleep(0.05)
            self.timeline.emit("phase", name="steady")
            live = LiveSamples(run.samples_dir)
            live.poll()
            first_s = min((r.t_start_s for r in live.rows), default=self.timeline.now_s())
            took_s = self.await_successes(run, live, requests, since_s=first_s + WARMUP_S,
                                          bound_s=STEADY_BOUND_S,
                                          phase="steady state before the fault")
            t0 = self.plan_zero(first_s, lead_s)
            if plan is not None and injector is not None:
                plan.start(injector, t0=t0)
            try:
                if during is not None:
                    during(run, t0)
                else:
                    self._until(run, t0 + duration_s)
                if settle_s is not None and run.alive():
                    removed = [e.at_s for e in read_events(self.run_dir / EVENTS_FILE)
                               if e.kind == "fault.removed"]
                    since_s = (max(removed) if removed else self.timeline.now_s()) + settle_s
                    self.await_successes(run, live, requests, since_s=since_s,
                                          bound_s=recovery_bound_s(took_s),
                                          phase="steady state after recovery")
                run.stop()
                run.wait(on_tick=self.on_tick)
            finally:
                if plan is not None:
                    plan.stop()
        if plan is not None and plan.errors:
            raise plan.errors[0]

    def plan_zero(self, first_s: float, lead_s: float) -> float:
        """The plan's t0 (monotonic) once the steady phase is decidable: now, put back by as
        much of ``lead_s`` as has passed since the warm-up after the first sample
        (``first_s``, wall clock) — see :meth:`drive`."""
        spent_s = self.timeline.now_s() - (first_s + WARMUP_S)
        return time.monotonic() - max(0.0, min(lead_s, spent_s))

    def _until(self, run: LoadRun, deadline: float) -> None:
        while run.alive() and time.monotonic() < deadline:
            cleanup.check()
            if self.on_tick is not None:
                self.on_tick(run)
            time.sleep(0.2)

    def await_successes(self, run: LoadRun, live: LiveSamples, requests: list[str], *,
                        since_s: float, bound_s: float, phase: str,
                        ok: Callable[[LiveSample], bool] | None = None) -> float | None:
        """Wait until :data:`STEADY_SAMPLES` requests of ``requests`` started after
        ``since_s`` (wall clock, maybe still ahead) succeeded, or ``bound_s`` after
        ``since_s`` ran out, or the load ended; on the timeline as evidence sought and found
        or missing. Returns how long after ``since_s`` they were found (None: not found)."""
        evidence = Evidence(self.timeline, f"phase.{phase}",
                            f"{STEADY_SAMPLES} successful requests in the {phase}",
                            bound=f"waits at most {bound_s:g} s for them")
        wanted = set(requests)
        succeeded = ok or (lambda r: not r.failed)
        deadline = time.monotonic() + max(0.0, since_s - self.timeline.now_s()) + bound_s
        while run.alive():
            live.poll()
            count = sum(1 for r in live.rows if r.t_start_s >= since_s and r.name in wanted
                        and succeeded(r))
            if count >= STEADY_SAMPLES:
                evidence.found(f"{count} successful requests")
                return max(0.0, self.timeline.now_s() - since_s)
            if time.monotonic() >= deadline:
                break
            cleanup.check()
            if self.on_tick is not None:
                self.on_tick(run)
            time.sleep(0.25)
        evidence.give_up()
        return None


@dataclass(frozen=True)
class Finding:
    """A contract finding: the contract's own numbers make one of its claims unreachable (a
    shorter timeout claimed on the same link ends every request first). Said once, before the
    run spends minutes on it, and the claim's verdict says it instead of a measurement."""

    claim: str  # kind.name of the claim that cannot be reached
    text: str   # both numbers, in words

    def as_dict(self) -> dict[str, str]:
        return {"claim": self.claim, "text": self.text}


@dataclass(frozen=True)
class Record:
    """An experiment's evidence as read back from its run dir: the input of ``judge``."""

    samples: pd.DataFrame
    events: list[Event]
    facts: dict[str, Any]

    def of(self, requests: list[str]) -> pd.DataFrame:
        return self.samples[self.samples["name"].astype("string").isin(requests)]


class Experiment:
    """Subclasses set ``name``, ``description``, ``claims`` (the models of the claim kinds
    they verify), ``params_model`` and the methods. One instance of the experiment runs per
    claim instance (:meth:`targets`)."""

    name: ClassVar[str]
    description: ClassVar[str]
    claims: ClassVar[tuple[type[Claim], ...]]
    params_model: ClassVar[type[Params]] = Params
    # whether the steady phase must also show the stack was not already slow (a p95, which
    # needs dozens of requests to decide): False for an experiment whose verdicts count, not
    # time, answers — its steady phase asks only whether the stack was already failing
    steady_latency: ClassVar[bool] = True
    # the experiment ends the service (a shutdown): it is planned after every other, since on
    # a stack that outlives an experiment (external, `gauntlet up`) whatever runs next would
    # find the service down unless the claim says how to restart it (restarts())
    ends_service: ClassVar[bool] = False

    @property
    def kinds(self) -> tuple[str, ...]:
        """The keys of the claim kinds it verifies (``("deadline", "pool")``)."""
        return tuple(model.kind for model in self.claims)

    def restarts(self, target: Any, backend: str) -> bool:
        """Whether the service this experiment ends is started again after it, on ``backend``
        (the claim's restart command, or a backend that restarts its own)."""
        return False

    def targets(self, contract: Contract) -> dict[str, Any]:
        """Claim instances this experiment verifies, by name."""
        out: dict[str, Any] = {}
        for model in self.claims:
            out.update({c.name: c for c in contract.claims.of(model)})
        return out

    def requests(self, target: Any) -> list[str]:
        return list(getattr(target, "requests", []))

    def links(self, target: Any) -> list[str]:
        link = getattr(target, "link", None)
        return [link] if link else []

    def metrics(self, target: Any) -> list[Metric]:
        metric = getattr(target, "metric", None)
        return [metric] if metric is not None else []

    def findings(self, target: Any, contract: Contract) -> list[Finding]:
        """Claims of this run the contract's own numbers make unreachable (pure: the
        contract alone decides, so a rebuild finds the same)."""
        return []

    def needs_run(self, target: Any, contract: Contract) -> bool:
        """False when every claim of this run is a contract finding: nothing to measure."""
        return True

    def unverifiable(self, target: Any, stack: Stack) -> str | None:
        """Why this claim cannot be verified on this stack (checked after boot), or None."""
        return None

    def check(self, target: Any, stack: Stack) -> None:
        """Raise :class:`InfrastructureError` when something the claim names is missing from
        the booted stack (beyond its links and metrics, which :func:`preflight` checks)."""

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

    def judge(self, record: Record, target: Any, params: Any, contract: Contract
              ) -> list[Verdict]:
        raise NotImplementedError

    def fault_start(self, record: Record, target: Any) -> float | None:
        """Where the steady phase ends: the first fault on the claim's link, by default."""
        for link in self.links(target):
            windows = fault_windows(record.events, link)
            if windows:
                return windows[0].start_s
        return None

    def settle_s(self, target: Any) -> float:
        """How long after its fault is removed the stack may take to be steady again."""
        return 2.0

    def recovered_by(self, record: Record, target: Any) -> float | None:
        """When the stack must be steady again: the end of the last fault on the claim's links
        plus :meth:`settle_s`; None when the experiment has no such phase."""
        ends = [w.end_s for link in self.links(target)
                for w in fault_windows(record.events, link)]
        return max(ends) + self.settle_s(target) if ends else None

    def disturbed(self, record: Record, target: Any) -> list[Window]:
        """When the fault acted on the stack: each fault on the claim's links, until
        :meth:`settle_s` after its removal (the stack may still be recovering). An integrity
        verdict needs an acknowledged write in flight in one of them."""
        return [Window(w.start_s, w.end_s + self.settle_s(target))
                for link in self.links(target) for w in fault_windows(record.events, link)]

    def integrity_claims(self, contract: Contract, target: Any) -> list[IntegrityClaim]:
        """Integrity claims whose writes this run sends: each owes a verdict."""
        sent = set(self.requests(target))
        return [c for c in contract.claims.of(IntegrityClaim) if set(c.requests) & sent]


@dataclass(frozen=True)
class Planned:
    """One experiment run: which experiment, which claim instance, which parameters."""

    experiment: Experiment
    claim: str
    target: Any
    params: Any
    config: ExperimentConfig
    findings: tuple[Finding, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.experiment.name}[{self.claim}]"


def plan_experiments(suite: Suite) -> list[Planned]:
    """Every experiment run of a suite, validated before anything starts (exit 2 on error)."""
    from gauntlet.chaos.experiments import get_experiment

    configs = list(suite.experiments)
    if suite.every_claim:
        from gauntlet.chaos.experiments import experiments

        # a listed experiment without a claim covers all its instances; one with a claim,
        # only that one (the others run with default parameters)
        whole = {c.name for c in configs if c.claim is None}
        one = {(c.name, c.claim) for c in configs if c.claim is not None}
        for name, cls in experiments().items():
            if name not in whole:
                configs += [ExperimentConfig(name=name, claim=claim)
                            for claim in cls().targets(suite.the_contract)
                            if (name, claim) not in one]
    planned: list[Planned] = []
    for config in configs:
        experiment = get_experiment(config.name)
        params = experiment.parse_params(config.params)
        targets = experiment.targets(suite.the_contract)
        if config.claim is not None:
            if config.claim not in targets:
                raise ConfigError(
                    f"experiment {config.name!r}: no claim {config.claim!r} of kind "
                    f"{'/'.join(experiment.kinds)} in contract {suite.the_contract.name!r} "
                    f"(claims: {', '.join(sorted(targets)) or 'none'})")
            targets = {config.claim: targets[config.claim]}
        if not targets:
            raise ConfigError(
                f"experiment {config.name!r}: contract {suite.the_contract.name!r} makes no "
                f"{'/'.join(experiment.kinds)} claim to verify")
        planned += [Planned(experiment, name, target, params, config,
                            tuple(experiment.findings(target, suite.the_contract)))
                    for name, target in targets.items()]
    # a service ended early would leave every later experiment a dead stack (sort is stable)
    planned.sort(key=lambda p: p.experiment.ends_service)
    return planned


def ordering_notes(planned: list[Planned], backend: str) -> list[str]:
    """What a person must know before the run starts: which experiments end the service, and
    on a stack that outlives them (``external``, ``up``) whether anything starts it again."""
    enders = [p for p in planned if p.experiment.ends_service]
    if not enders or backend not in OUTLIVING_BACKENDS:
        return []
    notes: list[str] = []
    where = "the up stack" if backend == "up" else f"the {backend} stack"
    for index, item in enumerate(enders):
        last = "runs last" if len(enders) == 1 else "runs after the other experiments"
        if item.experiment.restarts(item.target, backend):
            notes.append(f"{item.label} {last}: it ends the service of {where}, and it is "
                         "started again after it")
            continue
        later = [p.label for p in enders[index + 1:]]
        notes.append(f"{item.label} {last}: it ends the service of {where}, and nothing "
                     "restarts it (give the claim restart = [...]): the service stays down "
                     "after it" + (f", so {', '.join(later)} will find it down" if later else ""))
    return notes


def unverified(contract: Contract, planned: list[Planned]) -> list[Verdict]:
    """An inconclusive verdict for every claim instance no planned run verifies: a claim kind no
    experiment takes, or an integrity claim whose writes no run sends."""
    covered = {(kind, p.claim) for p in planned for kind in p.experiment.kinds}
    sent = {r for p in planned for r in p.experiment.requests(p.target)}
    out: list[Verdict] = []
    for kind, claim in contract.claims.instances():
        stated = claim.unverifiable()
        rides = claim.rides_along(sent)
        if stated is not None:
            why = stated
        elif rides is not None:
            if rides[0]:
                continue
            why = rides[1]
        elif (kind, claim.name) in covered or any(
                kind in p.experiment.kinds and getattr(p.target, "link", None) ==
                getattr(claim, "link", object()) for p in planned):
            continue
        else:
            why = f"no experiment of this run verifies {kind} claims"
        out.append(Verdict.missing(kind, f"verified [{claim.name}]", f"not verified: {why}",
                                   claim=f"{kind}.{claim.name}"))
    return out


def preflight(planned: Planned, stack: Stack, contract: Contract) -> list[str]:
    """Every link, signal handle and metric the claim names, checked on the booted stack
    before the first request: an :class:`InfrastructureError` (exit 3) names what is missing.

    Returns the claimed metrics not exported yet (no family in the scrape): a counter may
    appear only at its first increment, so that is recorded, not refused."""
    experiment, target = planned.experiment, planned.target
    absent: list[str] = []
    experiment.check(target, stack)
    links = experiment.links(target)
    if links:
        if stack.toxiproxy is None:
            raise InfrastructureError(
                f"{planned.label}: needs Toxiproxy in front of link {links[0]!r}, and this "
                "stack has none", hint="external backend: give stack.toxiproxy_url")
        have = set(stack.toxiproxy.proxies())
        for link in links:
            proxy = stack.proxies.get(link, link)
            if proxy not in have:
                raise InfrastructureError(
                    f"{planned.label}: link {link!r} has no Toxiproxy proxy {proxy!r} "
                    f"(proxies: {', '.join(sorted(have)) or 'none'})",
                    hint="external backend: map it with stack.proxies")
    metrics = experiment.metrics(target)
    if metrics:
        path = contract.probes.metrics
        where = f"{path} on {stack.probe_url}" if path else "no metrics path (probes.metrics)"
        scraped = scrape(stack.probe_url, path, timeout_s=5.0)
        text = scraped.text
        if text is None:
            problem = scraped.problem if path else "answered nothing"
            raise InfrastructureError(
                f"{planned.label}: the contract names metric {metrics[0].name!r}, and {where} "
                f"{problem}", hint="fix probes.metrics in the contract, or drop the claim's metric")
        for metric in metrics:
            try:
                found = has_family(text, metric)
            except ValueError as exc:
                raise InfrastructureError(
                    f"{planned.label}: {where} answered something that is not Prometheus "
                    f"text ({exc})", hint="probes.metrics must name a Prometheus endpoint"
                ) from exc
            if not found:
                # not an error: client_golang (and others) export a labelled counter only at
                # its first increment, often without even its # TYPE line; the verdict that
                # reads it says so if it never appears
                absent.append(metric.name)
    return absent


def judge_dir(planned: Planned, contract: Contract, run_dir: Path) -> list[Verdict]:
    """Re-derive an experiment's verdicts from its run dir alone: the claim's verdicts, each
    demoted to inconclusive when the steady phase before the fault was not healthy, then the
    integrity verdicts of the writes it sent."""
    facts_path = run_dir / FACTS_FILE
    facts = json.loads(facts_path.read_text()) if facts_path.exists() else {}
    if "unverifiable" in facts:
        return [Verdict.missing(planned.experiment.name, f"verified [{planned.claim}]",
                                f"not verified: {facts['unverifiable']}",
                                claim=f"{planned.experiment.kinds[0]}.{planned.claim}")]
    experiment, target = planned.experiment, planned.target
    if facts.get("findings_only"):  # nothing ran: the claims' verdicts are the findings
        return experiment.judge(Record(load_samples(run_dir), [], facts), target,
                                planned.params, contract)
    record = Record(load_samples(run_dir), read_events(run_dir / EVENTS_FILE), facts)
    verdicts = experiment.judge(record, target, planned.params, contract)
    start = experiment.fault_start(record, target)
    if start is not None:
        sample = record.of(experiment.requests(target))
        first = float(sample["t_start_s"].min()) if len(sample) else start
        # the first second or so is every client arriving at once (auth steps, cold
        # connections): the steady phase is what follows, at least half of it kept
        first += min(WARMUP_S, max(0.0, start - first) / 2)
        slo = contract.slo
        max_error_rate = steady_error_bound(slo.error_rate)  # a claimed 0 stays 0
        steady = steady_state(sample, start_s=first, end_s=start, max_error_rate=max_error_rate,
                              p95_ms=steady_p95_ms(contract) if experiment.steady_latency
                              else None)
        verdicts = [steady, *demote(verdicts, steady)]
        settled = experiment.recovered_by(record, target)
        if settled is not None:
            last = float(sample["t_start_s"].max()) if len(sample) else settled
            verdicts.append(steady_state(sample, start_s=settled, end_s=last + 1e-6,
                                         max_error_rate=max_error_rate,
                                         p95_ms=steady_p95_ms(contract),
                                         label="after recovery"))
    disturbed = experiment.disturbed(record, target)
    for claim in experiment.integrity_claims(contract, target):
        verdicts.append(integrity_verdict(facts.get("integrity", {}).get(claim.name), claim,
                                          record.samples, disturbed))
    # an inconclusive verdict says what the experiment tried for its evidence
    claim_id = f"{experiment.kinds[0]}.{planned.claim}"
    note = tried(record.events, claim_id)
    if note:
        verdicts = [v.noting(note) if v.inconclusive and v.claim == claim_id else v
                    for v in verdicts]
    return verdicts


def steady_p95_ms(contract: Contract) -> float | None:
    """The latency a steady phase must keep to: twice the claimed p95. A steady phase lasts a
    few seconds on a machine that also runs the load generator, so its p95 rests on a few dozen
    requests; twice the SLO still tells a healthy stack from one already failing, without
    flipping on one slow request."""
    return contract.slo.p95_ms * STEADY_P95_SLACK if contract.slo.p95_ms else None


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
                  facts: dict[str, Any], summary: dict[str, Any],
                  on_tick: Callable[[LoadRun], None] | None,
                  on_boot: Callable[[Stack], None] | None) -> None:
    """Boot, check, run and read back one experiment; what it measured goes to ``facts``."""
    contract = suite.the_contract
    experiment = planned.experiment
    with boot(suite, logs_dir=run_dir / "logs") as stack:
        if on_boot:
            on_boot(stack)
        summary["boot_time_s"] = stack.boot_time_s
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
) -> tuple[list[Verdict], dict[str, Any]]:
    """Boot, check, run, read back, judge; returns verdicts and the experiment's summary."""
    contract = suite.the_contract
    experiment = planned.experiment
    (run_dir / "logs").mkdir(parents=True, exist_ok=True)
    clock = RunClock()
    summary: dict[str, Any] = {
        "experiment": experiment.name,
        "claim": planned.claim,
        "description": experiment.description,
        "params": planned.params.model_dump(),
        "variants": list(suite.stack.variants),
        "started_at_s": clock.started_at_s,
    }
    facts: dict[str, Any] = {}
    with Timeline(run_dir / EVENTS_FILE, clock) as timeline:
        timeline.emit("experiment.started", name=experiment.name, claim=planned.claim)
        if experiment.needs_run(planned.target, contract):
            _boot_and_run(suite, planned, run_dir, timeline, facts, summary, on_tick, on_boot)
        else:  # every claim of this run is a contract finding: nothing to boot or measure
            facts["findings_only"] = [f.as_dict() for f in planned.findings]
        timeline.emit("experiment.finished", name=experiment.name, claim=planned.claim)
    write_json(run_dir / FACTS_FILE, facts)
    summary["capture"] = read_capture(run_dir).as_dict()
    try:
        verdicts = judge_dir(planned, contract, run_dir)
    except Exception as exc:  # the judge fails closed: exit 3, the traceback kept
        raise judge_failed(run_dir, exc) from exc
    summary["finished_at_s"] = time.time()
    summary["verdicts"] = [v.as_dict() for v in verdicts]
    write_verdicts(run_dir, verdicts)
    return verdicts, summary


def recovery_bound_s(steady_took_s: float | None) -> float:
    """How long the recovery may take to hold as many successes as the steady phase: three
    times what the steady phase took, at least :data:`RECOVERY_FLOOR_S`, at most
    :data:`RECOVERY_BOUND_S` (that when the steady phase never held them). A stack that stays
    broken after the fault is waited out for that long, not always the longest bound."""
    if steady_took_s is None:
        return RECOVERY_BOUND_S
    return min(RECOVERY_BOUND_S, max(RECOVERY_FLOOR_S, 3.0 * steady_took_s))


def users_for(rate_per_s: float, pace_s: float, cap: int = 60) -> int:
    """How many paced clients send ``rate_per_s`` requests a second (at least 2)."""
    return max(2, min(cap, math.ceil(rate_per_s * pace_s)))


