"""What an experiment's ``run`` gets, and the phases every experiment shares.

:class:`Context` is the stack, the claim, the run dir and the clock, with the one loop that
drives load with probes and a fault plan: a steady phase held until it is decidable, the
faults, and a recovery phase held until it is decidable again (each within a stated bound).
Experiments differ in what they fault and judge, not in how a phase waits for its evidence.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gauntlet import cleanup
from gauntlet.boot import Stack
from gauntlet.chaos.heartbeat import Heartbeat
from gauntlet.chaos.plan import FaultPlan
from gauntlet.chaos.probes import JsonProbe, Prober, timed_probes
from gauntlet.chaos.watch import Evidence, LiveSample, LiveSamples
from gauntlet.checks.steady import arrived_s, steady_error_bound
from gauntlet.config import SCENARIO_DIR, LoadConfig, resolve_scenario
from gauntlet.contract import Contract
from gauntlet.metrics import scrape
from gauntlet.scenarios.inflight import ENV as INFLIGHT_ENV
from gauntlet.scenarios.inflight import FIRST_BOARD_S, REPORTS_NONE, STALE_S, in_flight
from gauntlet.scenarios.realtime_spec import realtime_env
from gauntlet.scenarios.runner import LoadRun
from gauntlet.scenarios.traffic import CLIENT_TIMEOUT_S, budgets, declared_env, paced
from gauntlet.timeline import EVENTS_FILE, Timeline, read_events

DECLARED_LOCUSTFILE = SCENARIO_DIR / "declared.py"
WARMUP_S = 1.5
FIRST_SAMPLE_S = 15.0  # how long a load may take to record its first request
# a steady phase's p95 is decidable on min_samples_for(0.95) = 72 requests; a margin above it
STEADY_SAMPLES = 90
STEADY_BOUND_S = 30.0
RECOVERY_BOUND_S = 30.0
RECOVERY_FLOOR_S = 10.0
# where the judged steady phase begins (``from_s``), and why it was started again
# (``restarts``): Context.await_steady
STEADY_FROM = "steady.from"
MAX_STEADY_RESTARTS = 2
# arrivals spread over a pace longer than this are no herd: see arrival_spread_s
HERD_SPREAD_S = STEADY_BOUND_S / 3
# the evidence Context.await_answered seeks (its events say it, a test reads them)
SETTLE_SEEN = "every request the fault could touch answered, for the settle time"


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
    # while drive() runs: the host stalls seen so far (an experiment may owe a fault again)
    heartbeat: Heartbeat | None = None

    def traffic_env(self, requests: list[str], *, pace_s: float, users: int,
                    timeout_s: float = CLIENT_TIMEOUT_S,
                    run_s: float | None = None) -> dict[str, str]:
        """The environment of a Locust run that sends ``requests`` as the contract declares,
        for at most ``run_s`` (the limits it spends over the run: :func:`budgets`)."""
        return declared_env(self.contract, requests, pace_s=pace_s, timeout_s=timeout_s,
                            budget=budgets(self.contract, requests, run_s))

    def load(self, requests: list[str], *, users: int, duration_s: float,
             pace_s: float = 0.1, timeout_s: float = CLIENT_TIMEOUT_S,
             report_in_flight: bool = False) -> LoadRun:
        """A Locust run of the claim's requests: the contract's declared requests, or the
        user's own locustfile (whose samples the verdicts then pick by name).
        ``report_in_flight``: the declared load writes its open requests as it runs
        (:mod:`gauntlet.scenarios.inflight`)."""
        pace = paced(self.contract, requests, pace_s, users, run_s=duration_s)
        locustfile = (str(self.contract.resolve(self.contract.traffic.locustfile))
                      if self.contract.traffic.locustfile else str(DECLARED_LOCUSTFILE))
        load = LoadConfig(scenario=locustfile, users=users, spawn_rate=users,
                          duration_s=duration_s)
        self.facts["load"] = {"users": users, "pace_s": pace, "requests": requests}
        env = self.traffic_env(requests, pace_s=pace, users=users, timeout_s=timeout_s,
                               run_s=duration_s)
        if report_in_flight:
            env[INFLIGHT_ENV] = "1"
        return LoadRun(load, self.stack.base_url, self.run_dir, self.timeline, extra_env=env)

    def realtime_load(self, *, users: int, duration_s: float, messages: int | None) -> LoadRun:
        """A Locust run of the harness's ``realtime`` scenario, the connections the contract's
        ``[traffic.realtime]`` declares: every client starts at once, and ``messages``
        replaces the contract's count per connection (0: each client holds one connection
        for the run; None keeps the contract's)."""
        self.facts["load"] = {"users": users, "scenario": "realtime",
                              "messages_per_connection": messages}
        return LoadRun(
            LoadConfig(scenario=str(resolve_scenario("realtime")), users=users,
                       spawn_rate=users, duration_s=duration_s),
            self.stack.base_url, self.run_dir, self.timeline,
            extra_env=realtime_env(self.contract, f"g{int(time.time()) % 100000}",
                                   messages=messages))

    def prober(self, interval_s: float = 0.1, json_probes: Sequence[JsonProbe] = ()) -> Prober:
        """The prober every experiment runs: the contract's live and ready paths, its claimed
        state metrics, ``json_probes``, and the paths claims time (an observed ``probe``
        claim is judged over every experiment's polls)."""
        return Prober(self.stack.probe_url, self.timeline, self.stack.probes,
                      states=self.contract.state_metrics(), gauges=self.contract.gauges(),
                      interval_s=interval_s,
                      json_probes=[*json_probes, *timed_probes(self.contract)])

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
              lead_s: float = 0.0, report_in_flight: bool = False) -> None:
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

        A :class:`Heartbeat` runs beside the prober (``self.heartbeat`` while the load runs):
        when the host stops running the harness, its ``host.stall`` events say when.

        ``during(run, t0)`` runs in this thread once the steady phase is long enough (t0 =
        monotonic time of the plan's zero) — for actions that are not faults, such as a signal,
        or faults an experiment applies as it watches. ``json_probes``: more paths the prober
        polls, recording a field of each answer.
        """
        injector = self.stack.faults(self.timeline) if plan else None
        # the steady phase may take its bound, and its start may move (await_steady) so that
        # the plan's lead is spent after it
        bound_s = duration_s + STEADY_BOUND_S + lead_s + \
            (RECOVERY_BOUND_S if settle_s is not None else 0)
        with self.prober(probe_interval_s, json_probes).running(), \
                Heartbeat(self.timeline).running() as self.heartbeat, \
                self.load(requests, users=users, duration_s=bound_s, pace_s=pace_s,
                          timeout_s=timeout_s, report_in_flight=report_in_flight) as run:
            self.heartbeat.watch_generators(run.samples_dir)
            live, first_s = self.steady_start(run)
            steady_from_s, took_s = self.await_steady(run, live, requests,
                                                      since_s=first_s + WARMUP_S)
            t0 = self.plan_zero(steady_from_s, lead_s)
            if plan is not None and injector is not None:
                plan.start(injector, t0=t0)
            try:
                if during is not None:
                    during(run, t0)
                else:
                    self.until(run, t0 + duration_s)
                if settle_s is not None and run.alive():
                    removed = [e.at_s for e in read_events(self.run_dir / EVENTS_FILE)
                               if e.kind == "fault.removed"]
                    # an experiment that saw its stack settle sooner says so in its facts
                    settle = float(self.facts.get("settle_s", settle_s))
                    since_s = (max(removed) if removed else self.timeline.now_s()) + settle
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

    def steady_start(self, run: LoadRun) -> tuple[LiveSamples, float]:
        """Wait (at most :data:`FIRST_SAMPLE_S`) for the load's first sample, then start the
        steady phase: its live samples, and when the first request started (wall clock)."""
        deadline = time.monotonic() + FIRST_SAMPLE_S
        while run.samples_so_far() == 0 and time.monotonic() < deadline and run.alive():
            cleanup.check()
            time.sleep(0.05)
        self.timeline.emit("phase", name="steady")
        live = LiveSamples(run.samples_dir)
        live.poll()
        return live, min((r.t_start_s for r in live.rows), default=self.timeline.now_s())

    def plan_zero(self, steady_from_s: float, lead_s: float) -> float:
        """The plan's t0 (monotonic) once the steady phase is decidable: now, put back by as
        much of ``lead_s`` as has passed since the steady phase began (``steady_from_s``, wall
        clock: the end of the warm-up, or where :meth:`await_steady` started it again) — see
        :meth:`drive`."""
        spent_s = self.timeline.now_s() - steady_from_s
        return time.monotonic() - max(0.0, min(lead_s, spent_s))

    def await_steady(self, run: LoadRun, live: LiveSamples, requests: list[str], *,
                     since_s: float) -> tuple[float, float | None]:
        """Hold the steady phase until it is decidable, begins once every client has arrived,
        and — when the host stalled — after the stall. Two rules, each bounded by
        :data:`STEADY_BOUND_S` from ``since_s`` (the end of the fixed warm-up):

        - **Every client arrived.** The load starts all its clients at once, and behind a
          login their first requests come as one herd, after it: on a slow host that herd can
          queue past a pool's acquire timeout (the reference service's 0.5 s answered 27 of
          99 first requests 503 in one CI run). A herd is how the load starts, not the
          service's steady state: the phase begins when each client's first request of the
          claim has been answered (:func:`arrived_s`), a rule of the load, never of the answers.
          A declared load paced slower than :data:`HERD_SPREAD_S` spreads its clients' first
          requests over its pace (:func:`arrival_spread_s`): they come at the load's own rate,
          no herd, and waiting for the last of them spent the whole bound (lazy-foundry-node's
          suite: 400 clients at a 72 s pace, 10 to 24 s more in each of three experiments).
        - **A stall of the host.** When the decidable phase failed past the steady error bound
          and the heartbeat saw the host stop running the harness during those failures, the
          phase starts again after the stall and the failures, at most
          :data:`MAX_STEADY_RESTARTS` times. Failures with no stall are the stack's: the
          phase is not started again, and the steady-state verdict fails on them.

        Where the judged phase begins is a :data:`STEADY_FROM` event (``from_s``, and the
        ``restarts`` with why), which the verdict reads. A phase started again that never
        became decidable is not judged: the last decidable one is. Returns where the phase
        began (wall clock) and how long after ``since_s`` it was decidable (None: never)."""
        limit = steady_error_bound(self.contract.slo.error_rate)
        deadline_s = since_s + STEADY_BOUND_S
        herd = arrival_spread_s(self.contract, self.facts) <= HERD_SPREAD_S
        phase = "steady state before the fault"
        wanted = set(requests)
        start_s, decided_s, took_s = since_s, since_s, None
        restarts: list[str] = []
        decided_restarts = 0
        while True:
            remaining_s = deadline_s - max(start_s, self.timeline.now_s())
            found_s = self.await_successes(run, live, requests, since_s=start_s,
                                           bound_s=max(0.0, remaining_s), phase=phase)
            if found_s is None:
                # never decidable from here: the last phase that was is the one judged
                start_s, restarts = decided_s, restarts[:decided_restarts]
                break
            now_s = self.timeline.now_s()
            decided_s, took_s, decided_restarts = start_s, now_s - since_s, len(restarts)
            rows = [r for r in live.rows if r.name in wanted]
            herd_s = arrived_s((r.client, r.t_start_s, r.t_end_s) for r in rows)
            if herd and herd_s is not None and herd_s > start_s and not restarts \
                    and herd_s < deadline_s:
                start_s = herd_s  # clients were still arriving: the phase begins after them
                continue
            window = [r for r in rows if r.t_start_s >= start_s and r.t_end_s <= now_s]
            bad = [r for r in window if r.failed]
            if not window or len(bad) / len(window) <= limit:
                break
            stall = self.heartbeat.stalled_in(min(r.t_start_s for r in bad),
                                              max(r.t_end_s for r in bad)) \
                if self.heartbeat is not None else None
            after_s = max([r.t_end_s for r in bad] + ([stall.end_s] if stall else []))
            if stall is None or len(restarts) >= MAX_STEADY_RESTARTS or after_s <= start_s \
                    or now_s >= deadline_s:
                break  # the stack's own failures: the verdict judges them
            why = (f"{len(bad) / len(window) * 100:.1f} % errors ({_statuses(bad)}) in "
                   f"{len(window)} requests from +{start_s - since_s:.1f} s, in a "
                   f"{stall.duration_s:.2f} s stall of the host")
            restarts.append(why)
            Evidence(self.timeline, f"phase.{phase}", "a steady phase with no stall of the host",
                     bound=f"starts again at most {MAX_STEADY_RESTARTS} times").adapt(
                "start the steady phase again after a stall of the host", why)
            start_s = after_s
        self.timeline.emit(STEADY_FROM, from_s=start_s, restarts=restarts)
        return start_s, took_s

    def until(self, run: LoadRun, deadline: float) -> None:
        """Keep the load running until ``deadline`` (monotonic) or its end, ticking the
        progress display: what a ``during`` callback waits with between its actions."""
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

    def await_answered(self, run: LoadRun, requests: list[str], *, before_s: float,
                       bound_s: float, phase: str) -> float | None:
        """Wait until every request of ``requests`` that started before ``before_s`` (wall
        clock, maybe still ahead) has been answered, as the load reports its open requests
        (:mod:`gauntlet.scenarios.inflight`: :meth:`drive` with ``report_in_flight``), at most
        ``bound_s`` past ``before_s``. Returns when (timeline seconds); None when the bound ran
        out, or the load reports nothing (a team's own locustfile): the caller then waits as
        long as it planned. The answer comes :data:`~gauntlet.scenarios.inflight.STALE_S`
        after ``before_s`` at the soonest: a board read then was written after ``before_s``.

        Why: a settle time planned from the claim's numbers (a call timeout, a deadline) is
        how long the requests a fault touched *may* take to end. Toxiproxy passes on the data
        a removed toxic held, so they usually end at once, and a 30 s deadline made every
        run wait 30 s for nothing."""
        evidence = Evidence(self.timeline, f"phase.{phase}", SETTLE_SEEN,
                            bound=f"waits at most {bound_s:g} s past the fault for them")
        wanted = set(requests)
        started = time.monotonic()
        deadline_s = before_s + bound_s
        reported = False
        while run.alive():
            now_s = self.timeline.now_s()
            board = in_flight(run.samples_dir, now_s)
            reported = reported or board is not None
            # a board read STALE_S after before_s was written after it: it has every request
            # started before it
            if board is not None and now_s >= before_s + STALE_S and not any(
                    o.name in wanted and o.t_start_s < before_s for o in board):
                evidence.found(f"all answered {max(0.0, now_s - before_s):.2f} s after")
                return now_s
            if not reported and time.monotonic() >= started + FIRST_BOARD_S:
                evidence.adapt("wait the settle time planned", REPORTS_NONE)
                break
            if now_s >= deadline_s:
                break
            cleanup.check()
            if self.on_tick is not None:
                self.on_tick(run)
            time.sleep(0.05)
        evidence.give_up()
        return None


def arrival_spread_s(contract: Contract, facts: dict[str, Any]) -> float:
    """How long the load's clients take to send their first request, by construction: the
    declared load sleeps each client a random share of its pace before the first one
    (scenarios/declared.py), so they arrive over one pace, at the load's own rate. A team's
    own locustfile: 0, as its clients may all start at once."""
    if contract.traffic.locustfile:
        return 0.0
    return float(facts.get("load", {}).get("pace_s", 0.0))


def users_for_steady(contract: Contract, requests: list[str], *, floor: int, most: int,
                     within_s: float) -> int:
    """Clients enough for a steady phase to hold :data:`STEADY_SAMPLES` of ``requests`` within
    ``within_s``, at the pace the contract's rate limits allow a client; at least ``floor``
    (the experiment's light load), at most ``most``.

    Why: the steady phases before and after a fault wait for that many successes, so a load
    of a few clients paced at one request a second spent 18 s on each (LangSense's
    degraded-latency run, 5 clients). With a limit keyed on nothing the pace slows as clients
    are added and no number of them helps: then ``most``."""
    users = max(1, floor)
    while users < most:
        if users / paced(contract, requests, 0.1, users) * within_s >= STEADY_SAMPLES:
            break
        users = min(most, users + max(1, users // 4))
    return users


def _statuses(rows: Sequence[LiveSample]) -> str:
    """``"503 x27, 0 x2"``: the commonest statuses of failed requests, for a reason."""
    counts: dict[int, int] = {}
    for r in rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])[:4]
    return ", ".join(f"{status} x{n}" for status, n in ranked)


def recovery_bound_s(steady_took_s: float | None) -> float:
    """How long the recovery may take to hold as many successes as the steady phase: three
    times what the steady phase took, at least :data:`RECOVERY_FLOOR_S`, at most
    :data:`RECOVERY_BOUND_S` (that when the steady phase never held them). A stack that stays
    broken after the fault is waited out for that long, not always the longest bound."""
    if steady_took_s is None:
        return RECOVERY_BOUND_S
    return min(RECOVERY_BOUND_S, max(RECOVERY_FLOOR_S, 3.0 * steady_took_s))
