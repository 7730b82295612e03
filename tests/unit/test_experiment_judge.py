"""An experiment's verdicts as ``gauntlet report`` re-derives them from its run dir alone
(:func:`~gauntlet.chaos.experiments.base.judge_dir`): the steady phase, the claim's verdicts,
the integrity verdicts of the writes it sent. Synthetic run dirs, no stack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gauntlet.chaos.experiments import get_experiment
from gauntlet.chaos.experiments.base import Planned, Record
from gauntlet.chaos.judging import judge_dir
from gauntlet.checks.verdict import Verdict
from gauntlet.checks.windows import Window
from gauntlet.config import ExperimentConfig
from gauntlet.contract import Contract, load_contract
from gauntlet.timeline import Event
from tests.unit.checks.factory import CREATE, LIST, T0, ask, fault, frame, run

ROOT = Path(__file__).resolve().parents[2]
STACK = load_contract(ROOT / "stack" / "contract.toml")
Rows = list[dict[str, Any]]


def write_run(run_dir: Path, rows: Rows, events: list[Event],
              facts: dict[str, Any] | None = None) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    frame(rows).to_parquet(run_dir / "samples.parquet", index=False)
    (run_dir / "events.jsonl").write_text("".join(e.to_json() + "\n" for e in events))
    (run_dir / "facts.json").write_text(json.dumps(facts or {}))
    return run_dir


def planned(name: str, claim: str, contract: Contract = STACK,
            **params: Any) -> Planned:
    experiment = get_experiment(name)
    return Planned(experiment, claim, experiment.targets(contract)[claim],
                   experiment.parse_params(params), ExperimentConfig(name=name, claim=claim))


def by_name(verdicts: list[Verdict]) -> dict[str, Verdict]:
    return {v.name: v for v in verdicts}


# --- the rate-limit experiment's steady state: paced traffic before the first burst ----------

def phase(at: float, name: str) -> Event:
    return Event(T0 + at, "phase", {"name": name})


def limited_burst(at: float = 4.0, keys: int = 3, n: int = 13) -> Rows:
    rows = []
    for k in range(keys):
        for seq in range(1, n + 1):
            cut = seq >= 11
            rows.append(ask(at + seq * 0.01 + k * 0.001, 2, 429 if cut else 200, LIST,
                            client=f"k{k}", phase="burst", seq=seq,
                            headers={"Retry-After": "5"} if cut else None))
    return rows


def steady(status: int) -> Rows:
    return [ask(0.25 * i, 5, status, LIST, client=f"s{i}", phase="steady", seq=1)
            for i in range(12)]


def test_a_ratelimit_run_judges_its_steady_phase_before_the_burst(tmp_path: Path) -> None:
    """Old code: the ratelimit experiment judged no steady state, so a stack answering 500 to
    everything before the burst still passed "first 429 at the limit"."""
    item = planned("ratelimit", "api", store_down=False)
    events = [phase(-0.1, "steady"), phase(3.9, "burst")]
    failing = judge_dir(item, STACK, write_run(tmp_path / "failing", steady(500)
                                               + limited_burst(), events))
    got = by_name(failing)
    assert got["steady state before the fault"].failed
    assert got["first 429 at the limit [api]"].inconclusive
    assert "no steady state" in got["first 429 at the limit [api]"].reason
    healthy = by_name(judge_dir(item, STACK, write_run(tmp_path / "healthy", steady(200)
                                                       + limited_burst(), events)))
    assert healthy["steady state before the fault"].passed
    assert healthy["first 429 at the limit [api]"].passed


# --- integrity: a write the fault could have touched ------------------------------------------

INTEGRITY = "acknowledged writes exactly once [orders]"
READ_BACK = {"integrity": {"orders": {"checked": True, "acknowledged": 8, "rows": {},
                                      "method": "sql", "error": None}}}


def writes(start: float, end: float) -> Rows:
    n = round((end - start) / 0.5)
    return [ask(start + 0.5 * i, 50, 201, CREATE, token=f"w{start}-{i}") for i in range(n)]


def test_integrity_needs_a_write_in_flight_while_the_fault_acted(tmp_path: Path) -> None:
    """Old code: "acknowledged writes exactly once" passed on writes that all came and went
    before the link ever went down."""
    item = planned("dependency_down", "postgres")
    events = fault("postgres", 10.0, 16.0)
    early = by_name(judge_dir(item, STACK, write_run(
        tmp_path / "early", run(0, 9.5, 0.1, name=LIST) + writes(0, 4), events, READ_BACK)))
    assert early[INTEGRITY].inconclusive, early[INTEGRITY].reason
    assert "never touched a write" in early[INTEGRITY].reason
    during = by_name(judge_dir(item, STACK, write_run(
        tmp_path / "during", run(0, 9.5, 0.1, name=LIST) + writes(0, 2) + writes(17, 19),
        events, READ_BACK)))
    # acknowledged within recover_within_s (5 s) of the link's return: the recovery path
    assert during[INTEGRITY].passed, during[INTEGRITY].reason


def test_a_breaker_holding_open_after_the_link_is_back_extends_the_recovery(
        tmp_path: Path) -> None:
    """LangSense's database breaker stays open 60 s after postgres is back: every write of the
    outage and the next minute answered 503, and the first acknowledged ones came after the
    close. Old code ended the window recover_within_s after the link's return, so the
    integrity verdict said "the fault never touched a write"."""
    item = planned("dependency_down", "postgres")
    events = fault("postgres", 10.0, 16.0)
    rows = run(0, 9.5, 0.1, name=LIST) + writes(0, 2) + writes(60, 62)
    planned_only = by_name(judge_dir(item, STACK, write_run(
        tmp_path / "planned", rows, events, READ_BACK)))
    assert planned_only[INTEGRITY].inconclusive
    held = by_name(judge_dir(item, STACK, write_run(
        tmp_path / "held", rows, events, {**READ_BACK, "settle_s": 60.0})))
    assert held[INTEGRITY].passed, held[INTEGRITY].reason


def test_a_shutdown_run_counts_writes_in_flight_during_its_signal() -> None:
    item = planned("shutdown", "sigterm")
    events = [Event(T0 + 5.0, "signal.sent", {"handle": "api", "signal": "SIGTERM"}),
              Event(T0 + 8.0, "process.exit", {"handle": "api", "code": 0, "after_s": 3.0})]
    windows = item.experiment.disturbed(Record(frame([ask(0)]), events, {}), item.target)
    assert Window(T0 + 5.0, T0 + 8.0) in windows
