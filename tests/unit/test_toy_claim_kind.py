"""A claim kind in one place: a kind defined, verified and tabled from this file alone.

The toy kind — "the notification queue never holds more than N pending" — is what a team (or
the next gauntlet kind) writes: its contract model, its experiment (which declares the claims
it verifies), its check and its claims-table wiring, each registered beside it. Nothing in the
harness names it, yet a contract can state it, ``verify`` plans a run for it, the judge reads
its record, and the claims table shows its numbers and verdict. Outside the registration
blocks, the kind is unknown again.
"""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import Field

from gauntlet.chaos.context import Context
from gauntlet.chaos.experiments import experiment, experiments, registered_experiments
from gauntlet.chaos.experiments.base import Experiment, Planned, Record
from gauntlet.chaos.judging import FACTS_FILE, judge_dir
from gauntlet.chaos.planning import plan_experiments, unverified
from gauntlet.checks.verdict import Verdict
from gauntlet.config import parse_suite
from gauntlet.contract import Claim, Contract, claim_kind, parse_contract, registered_kinds
from gauntlet.errors import ConfigError
from gauntlet.reports.claims import claim_rows, statements

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "stack" / "contract.toml"
QUEUE = {"name": "notifications", "metric": "notify_pending", "max_pending": 100}


def pending_verdict(pending_max: float | None, claim: Any) -> Verdict:
    """The toy check: the queue's largest backlog during the run against the claimed bound."""
    name = f"pending within bound [{claim.name}]"
    if pending_max is None:
        return Verdict.missing("queue", name, "the queue's backlog was never read",
                               threshold=claim.max_pending, claim=claim.id)
    return Verdict.judge("queue", name, pending_max <= claim.max_pending,
                         f"at most {pending_max:g} pending", pending_max, claim.max_pending,
                         claim=claim.id)


@pytest.fixture
def queue_kind() -> Iterator[type[Claim]]:
    with registered_kinds(), registered_experiments():

        @claim_kind("queue")
        class QueueClaim(Claim):
            wiring: ClassVar[frozenset[str]] = frozenset({"metric"})
            metric: str
            max_pending: int = Field(gt=0)

        @experiment
        class QueueDrain(Experiment):
            name = "queue_drain"
            description = "the notification queue stays under its bound under load"
            claims = (QueueClaim,)

            def run(self, ctx: Context) -> None:  # pragma: no cover - the toy never boots
                ctx.facts["pending_max"] = 0.0

            def judge(self, record: Record, target: Any, params: Any, contract: Contract
                      ) -> list[Verdict]:
                return [pending_verdict(record.facts.get("pending_max"), target)]

        yield QueueClaim


def contract_doc(**queue: Any) -> dict[str, Any]:
    with REFERENCE.open("rb") as fh:
        doc = copy.deepcopy(tomllib.load(fh))
    doc["claims"]["queue"] = [{**QUEUE, **queue}]
    return doc


def plan(contract: Contract, **suite: Any) -> list[Planned]:
    """The runs a suite on an external stack plans for ``contract``."""
    return plan_experiments(parse_suite(
        {"name": "t", "stack": {"backend": "external", "base_url": "http://127.0.0.1:9"},
         **suite}, "s", contract=contract))


def test_a_contract_states_it_and_verify_plans_a_run_for_it(queue_kind: type[Claim]) -> None:
    contract = parse_contract(contract_doc(), "c", REFERENCE.parent)
    [claim] = contract.claims.of(queue_kind)
    assert claim.id == "queue.notifications"
    planned = plan(contract, every_claim=True)
    assert "queue_drain[notifications]" in [p.label for p in planned]
    owed = {v.claim for v in unverified(contract, planned)}
    assert "queue.notifications" not in owed


@pytest.mark.parametrize(("pending_max", "status"),
                         [(12.0, "pass"), (250.0, "fail"), (None, "inconclusive")])
def test_the_judge_reads_its_record(queue_kind: type[Claim], tmp_path: Path,
                                    pending_max: float | None, status: str) -> None:
    contract = parse_contract(contract_doc(), "c", REFERENCE.parent)
    [planned] = plan(contract, experiments=[{"name": "queue_drain"}])
    facts = {} if pending_max is None else {"pending_max": pending_max}
    (tmp_path / FACTS_FILE).write_text(json.dumps(facts))
    [verdict] = judge_dir(planned, contract, tmp_path)
    assert (verdict.status, verdict.claim) == (status, "queue.notifications")


def test_the_claims_table_shows_its_numbers_and_verdict(queue_kind: type[Claim]) -> None:
    doc = contract_doc()
    contract = parse_contract(doc, "c", REFERENCE.parent)
    [claim] = contract.claims.of(queue_kind)
    rows = claim_rows(statements(contract.model_dump(mode="json", by_alias=True)),
                      [pending_verdict(12.0, claim)])
    [row] = [r for r in rows if r.claim == "queue.notifications"]
    assert "max_pending" in row.stated and "100" in row.stated
    assert "metric" not in row.stated  # wiring, not a number the service states
    assert row.outcome == "pass"


def test_a_nested_registration_block_restores_what_was_there(queue_kind: type[Claim]) -> None:
    assert "queue_drain" in experiments()
    with registered_kinds(), registered_experiments():
        pass  # a nested block restores what was registered before it, too
    assert "queue_drain" in experiments()


def test_a_contract_stating_an_unregistered_kind_is_refused() -> None:
    assert "queue_drain" not in experiments()
    with pytest.raises(ConfigError, match="queue"):
        parse_contract(contract_doc(), "c", REFERENCE.parent)
