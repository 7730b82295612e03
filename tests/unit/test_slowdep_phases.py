"""The slow-dependency experiment's phases and contract findings follow from the contract's
numbers (pure: no stack)."""

from __future__ import annotations

from pathlib import Path

from gauntlet.chaos.experiments.slowdep import (
    SlowDependencyExperiment,
    SlowLink,
    cut_first,
    fault_length_s,
)
from gauntlet.contract import Contract, load_contract

ROOT = Path(__file__).resolve().parents[2]
EXP = SlowDependencyExperiment()


def target(contract_path: Path, link: str = "postgres") -> tuple[Contract, SlowLink]:
    contract = load_contract(contract_path)
    return contract, EXP.targets(contract)[link]


def test_the_link_stays_slow_long_enough_to_reach_the_deadline() -> None:
    # an 8 s fault let every request finish when the latency was removed: a 30 s deadline
    # was never approached (lazy-foundry: "slowest 8252 ms")
    _, slow = target(ROOT / "contracts" / "seeds" / "lazy-foundry.toml")
    assert fault_length_s(slow, 8.0) >= 30 + 2
    _, ref = target(ROOT / "stack" / "contract.toml")
    assert fault_length_s(ref, 8.0) == 8.0  # a 3 s deadline: the default suffices


def test_a_breaker_ending_calls_first_is_a_contract_finding() -> None:
    # LangSense: its database breaker ends every call within 6 s, the deadline is 10 s
    contract, slow = target(ROOT / "contracts" / "seeds" / "langsense.toml")
    (deadline,) = slow.deadlines
    finding = cut_first(contract, deadline)
    assert finding is not None and "breaker.database" in finding
    assert "6 s" in finding and "10 s deadline" in finding
    (found,) = EXP.findings(slow, contract)
    assert found.claim == "deadline.request"
    # its pool claim still needs the run
    assert EXP.needs_run(slow, contract)


def test_retries_ending_every_request_first_are_a_contract_finding() -> None:
    contract = load_contract(ROOT / "stack" / "contract.toml")
    slow = EXP.targets(contract)["postgres"]
    (deadline,) = slow.deadlines
    assert cut_first(contract, deadline) is None  # 3 x 1 s + backoff > 3 s: reachable
    short = contract.model_copy(update={"claims": contract.claims.model_copy(update={
        "retries": [r.model_copy(update={"call_timeout_s": 0.2})
                    for r in contract.claims.retries]})})
    finding = cut_first(short, deadline)
    assert finding is not None and "retries.postgres" in finding and "3 attempts" in finding


def test_the_reachable_deadlines_are_measured() -> None:
    for name in ("lazy-foundry", "lazy-foundry-node"):
        contract, slow = target(ROOT / "contracts" / "seeds" / f"{name}.toml")
        assert EXP.findings(slow, contract) == [], name


CONTRADICTORY = """
name = "contradicts-itself"
[links.db]
[traffic.requests."GET /x"]
path = "/x"
[[claims.breaker]]
name = "db"
link = "db"
requests = ["GET /x"]
consecutive_failures = 5
open_s = 10
call_timeout_s = 1
max_call_s = 2
open_answer = { status = 503 }
[[claims.deadline]]
name = "request"
link = "db"
requests = ["GET /x"]
deadline_s = 30
"""


def test_a_run_whose_claims_are_all_findings_boots_nothing(tmp_path: Path) -> None:
    from gauntlet.chaos.execute import run_experiment
    from gauntlet.chaos.planning import plan_experiments
    from gauntlet.config import parse_suite

    (tmp_path / "contract.toml").write_text(CONTRADICTORY)
    suite = parse_suite({"name": "t", "contract": str(tmp_path / "contract.toml"),
                         # nothing listens there: booting or sending anything would fail
                         "stack": {"backend": "external", "base_url": "http://127.0.0.1:9"},
                         "experiments": [{"name": "slow_dependency"}]})
    (planned,) = plan_experiments(suite)
    assert [f.claim for f in planned.findings] == ["deadline.request"]
    verdicts = run_experiment(suite, planned, tmp_path / "run").verdicts
    (verdict,) = verdicts
    assert verdict.inconclusive
    assert verdict.reason.startswith("contract finding: breaker.db ends every call")
