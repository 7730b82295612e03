"""An experiment's steady phase is judged against the contract's own claimed error rate: a
claimed 0 stays 0 (``slo.error_rate or 0.01`` used to turn it into a 1 % allowance).

The run dir is written by hand (samples and the fault on the timeline) and re-judged with
``judge_dir``, as ``gauntlet report`` does.
"""

from __future__ import annotations

from pathlib import Path

from gauntlet.chaos.judging import judge_dir
from gauntlet.chaos.planning import plan_experiments
from gauntlet.checks.steady import steady_error_bound
from gauntlet.config import parse_suite
from gauntlet.contract import Contract, load_contract
from gauntlet.timeline import EVENTS_FILE
from tests.unit.checks.factory import GEN, ask, fault, frame, run

ROOT = Path(__file__).resolve().parents[1].parent
REFERENCE = ROOT / "stack" / "contract.toml"


def _contract(error_rate: float | None) -> Contract:
    contract = load_contract(REFERENCE)
    return contract.model_copy(update={"slo": contract.slo.model_copy(
        update={"error_rate": error_rate})})


def _steady(tmp_path: Path, contract: Contract) -> str:
    suite = parse_suite({"name": "t", "stack": {"backend": "external",
                                                "base_url": "http://127.0.0.1:9"},
                         "experiments": [{"name": "breaker", "claim": "upstream"}]},
                        contract=contract)
    planned = plan_experiments(suite)[0]
    # 200 answers over the 10 s before the upstream fault, one of them a 503: 0.5 % errors
    rows = run(0, 10, 0.05, ms=20, name=GEN)
    rows[100] = ask(rows[100]["at"], 20, 503, name=GEN)
    run_dir = tmp_path / "run"
    run_dir.mkdir(parents=True)
    frame(rows).to_parquet(run_dir / "samples.parquet", index=False)
    (run_dir / EVENTS_FILE).write_text(
        "".join(e.to_json() + "\n" for e in fault("upstream", 10.5, 20)))
    steady = judge_dir(planned, contract, run_dir)[0]
    assert steady.check == "steady-state"
    return steady.status


def test_a_claimed_zero_error_rate_stays_zero(tmp_path: Path) -> None:
    assert _steady(tmp_path / "zero", _contract(0.0)) == "fail"
    assert _steady(tmp_path / "none", _contract(None)) == "pass"  # 1 % when none is claimed


def test_steady_error_bound() -> None:
    assert steady_error_bound(0.0) == 0.0
    assert steady_error_bound(None) == 0.01
    assert steady_error_bound(0.002) == 0.002
    assert steady_error_bound(0.5) == 0.05
