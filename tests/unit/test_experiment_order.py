"""An experiment that ends the service runs after every other, and the run says so before it
starts where nothing boots a fresh stack per experiment (external, ``gauntlet up``)."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

from gauntlet.chaos.planning import ordering_notes, plan_experiments
from gauntlet.config import parse_suite
from gauntlet.contract import parse_contract

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "stack" / "contract.toml"
EXTERNAL = {"backend": "external", "base_url": "http://127.0.0.1:9"}


def contract_doc(**shutdown: Any) -> dict[str, Any]:
    with REFERENCE.open("rb") as fh:
        doc = tomllib.load(fh)
    doc = copy.deepcopy(doc)
    doc["claims"]["shutdown"][0].update(shutdown)
    return doc


def plan(stack: dict[str, Any], experiments: list[dict[str, Any]] | None = None,
         **shutdown: Any) -> tuple[list[str], list[str]]:
    contract = parse_contract(contract_doc(**shutdown), "c", REFERENCE.parent)
    suite = parse_suite({"name": "t", "stack": stack, "every_claim": experiments is None,
                         "experiments": experiments or []}, "s", contract=contract)
    planned = plan_experiments(suite)
    return [p.label for p in planned], ordering_notes(planned, suite.stack.backend)


def test_shutdown_runs_last_whatever_the_order_asked() -> None:
    """Alphabetical order ran shutdown before slow_dependency, which then found a dead stack
    on the external backend and ended the run with exit 3."""
    labels, _ = plan(EXTERNAL)
    assert labels[-1] == "shutdown[sigterm]"
    assert labels.index("slow_dependency[postgres]") < labels.index("shutdown[sigterm]")
    listed, _ = plan(EXTERNAL, [{"name": "shutdown"}, {"name": "breaker"}])
    assert listed == ["breaker[upstream]", "shutdown[sigterm]"]


def test_the_run_says_before_it_starts_that_the_service_stays_down() -> None:
    _, notes = plan(EXTERNAL, service=None, pid_file="/run/app.pid", exit_code="any")
    assert len(notes) == 1
    assert "shutdown[sigterm] runs last" in notes[0] and "stays down" in notes[0]
    assert "restart = [...]" in notes[0]
    _, restarted = plan(EXTERNAL, service=None, pid_file="/run/app.pid", exit_code="any",
                        restart=["./start.sh"])
    assert "started again" in restarted[0] and "stays down" not in restarted[0]


def test_nothing_to_say_where_each_experiment_boots_its_own_stack() -> None:
    labels, notes = plan({"backend": "local"})
    assert labels[-1] == "shutdown[sigterm]" and notes == []
