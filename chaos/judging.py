"""An experiment's verdicts from its run dir alone.

The same function judges at the end of the run and in ``gauntlet report`` (a rebuild), so a
fixed verdict function gives the new answer for an old run, and nothing judged inline can
differ from what the files say.
"""

from __future__ import annotations

import json
from pathlib import Path

from gauntlet.chaos.context import STEADY_FROM, WARMUP_S
from gauntlet.chaos.experiments.base import Planned, Record
from gauntlet.chaos.watch import tried
from gauntlet.checks.integrity import integrity_verdict
from gauntlet.checks.steady import demote, steady_error_bound, steady_state
from gauntlet.checks.verdict import Verdict
from gauntlet.checks.windows import in_stalls, stall_windows
from gauntlet.contract import Contract
from gauntlet.samples import load_samples
from gauntlet.timeline import EVENTS_FILE, Event, read_events

FACTS_FILE = "facts.json"
STEADY_P95_SLACK = 2.0


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
        first, restarts = steady_from(record.events, first, start)
        slo = contract.slo
        max_error_rate = steady_error_bound(slo.error_rate)  # a claimed 0 stays 0
        steady = steady_state(sample, start_s=first, end_s=start, max_error_rate=max_error_rate,
                              p95_ms=steady_p95_ms(contract) if experiment.steady_latency
                              else None, markers=contract.answer_markers())
        if restarts:
            steady = steady.noting(restarted(restarts))
        verdicts = [steady, *demote(verdicts, steady)]
        settled = experiment.recovered_by(record, target)
        if settled is not None:
            last = float(sample["t_start_s"].max()) if len(sample) else settled
            # the host's stalls after recovery are set aside: a request held up there was
            # slow for the harness's or the generator's time, not the stack's
            stalled = in_stalls(sample, stall_windows(record.events)) & \
                (sample["t_start_s"] >= settled)
            after = steady_state(sample[~stalled], start_s=settled, end_s=last + 1e-6,
                                 max_error_rate=max_error_rate, p95_ms=steady_p95_ms(contract),
                                 label="after recovery", markers=contract.answer_markers())
            if stalled.any():
                after = after.noting(f"{int(stalled.sum())} request(s) overlapping a stall of "
                                     "the host (host.stall) set aside")
            verdicts.append(after)
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


def steady_from(events: list[Event], first_s: float,
                fault_s: float) -> tuple[float, list[str]]:
    """Where the judged steady phase begins: after the warm-up (``first_s``), or where the run
    said it began (:data:`STEADY_FROM`: every client arrived, or after a stall of the host),
    if that was before the fault — with the restarts' reasons, so the verdict can say what
    came before its phase."""
    said = next((e for e in reversed(events) if e.kind == STEADY_FROM), None)
    if said is None or float(said.data.get("from_s", fault_s)) >= fault_s:
        return first_s, []
    return max(first_s, float(said.data["from_s"])), [str(r) for r in
                                                       said.data.get("restarts") or []]


def restarted(restarts: list[str]) -> str:
    """The note a steady-state verdict carries when its phase was started again."""
    times = "once" if len(restarts) == 1 else f"{len(restarts)} times"
    return f"the steady phase started again {times} (first: {restarts[0]})"


def steady_p95_ms(contract: Contract) -> float | None:
    """The latency a steady phase must keep to: twice the claimed p95. A steady phase lasts a
    few seconds on a machine that also runs the load generator, so its p95 rests on a few dozen
    requests; twice the SLO still tells a healthy stack from one already failing, without
    flipping on one slow request."""
    return contract.slo.p95_ms * STEADY_P95_SLACK if contract.slo.p95_ms else None
