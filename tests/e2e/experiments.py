"""Running one experiment on one claim instance of a contract, for the e2e tests: the same code
path as ``gauntlet chaos NAME --contract C --claim X --variant V``."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from gauntlet.boot.engine import compose_environment
from gauntlet.chaos.execute import run_experiment
from gauntlet.chaos.planning import plan_experiments
from gauntlet.checks.verdict import Verdict
from gauntlet.config import load_suite, parse_suite
from gauntlet.runner import run_suite

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "stack" / "contract.toml"
NODE = ROOT / "examples" / "node-stack" / "contract.toml"
# the Node reference service's tests: skipped, saying why, where node or its packages are missing
needs_node = pytest.mark.skipif(
    shutil.which("node") is None
    or not (ROOT / "examples" / "node-stack" / "node_modules").is_dir(),
    reason="node or examples/node-stack/node_modules missing (run scripts/setup.sh)")

# The shutdown experiment derived 99 clients for the reference contract until e9b2ac2. In a
# container beside the other test worker its API saturated at that load: two CIs failed its
# steady phase, once on 27 pool timeouts (503) and once at p95 1024 ms (limit 1000 ms). It now
# derives 40 (its MIN_USERS) there; the compose tests of shutdown, about the overlay, the signal
# and what is left after, keep 40 whatever a change to that derivation would give.
COMPOSE_USERS = 40


def run(tmp_path: Path, name: str, claim: str | None = None, *,
        params: dict[str, Any] | None = None, variants: list[str] | None = None,
        contract: Path = REFERENCE, stack: dict[str, Any] | None = None) -> dict[str, Verdict]:
    """Verdicts by name of every run the experiment plans (one per claim instance, or only
    ``claim``)."""
    entry: dict[str, Any] = {"name": name, "params": params or {}}
    if claim is not None:
        entry["claim"] = claim
    suite = parse_suite({"name": "e2e", "contract": str(contract),
                         "stack": {**(stack or {}), "variants": variants or []},
                         "experiments": [entry]})
    verdicts: dict[str, Verdict] = {}
    for index, planned in enumerate(plan_experiments(suite)):
        found = run_experiment(suite, planned, tmp_path / f"{index:02d}-{planned.claim}").verdicts
        verdicts.update({v.name: v for v in found})
    return verdicts


def explain(verdicts: dict[str, Verdict]) -> str:
    return "\n".join(f"{v.status}: {v.check}: {v.name}: {v.reason}" for v in verdicts.values())


def passed_or_marginal(verdict: Verdict) -> bool:
    """Passed, or a timing verdict whose interval straddles its bound (marginal: neither pass
    nor fail by design, on a host too busy to tell): what a healthy service may show under
    the test command's two-at-a-time load. A failure never counts."""
    return verdict.passed or (verdict.inconclusive and verdict.marginal)


def compose_extra(image_variable: str, flag: str, what: str) -> list[pytest.MarkDecorator]:
    """The marks of a compose test whose stack needs an image the default set-up leaves out
    (``scripts/bootstrap-containers.sh --FLAG`` builds it): the compose group, slow, and a skip
    that says which flag builds it."""
    return [pytest.mark.compose, pytest.mark.xdist_group("compose"), pytest.mark.slow,
            pytest.mark.skipif(image_variable not in compose_environment(),
                               reason=f"no {what} image (run scripts/bootstrap-containers.sh "
                                      f"--{flag})")]


def sio_connect_gate(tmp_path: Path, suite_path: Path, variants: list[str]) -> tuple[str, str]:
    """The status and reason of a realtime suite's ``SIO connect`` error-rate gate, run with
    the given variants: what sticky sessions decide behind a gateway of two instances."""
    suite = load_suite(suite_path)
    suite = suite.model_copy(update={"stack": suite.stack.model_copy(
        update={"variants": variants})})
    outcome = run_suite(suite, output_dir=tmp_path)
    assert outcome.error is None, outcome.error
    verdict = next(v for v in outcome.verdicts if v.name == "error_rate [SIO connect]")
    return verdict.status, verdict.reason
