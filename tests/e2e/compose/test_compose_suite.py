"""The SLO run and the breaker, retries and graceful-shutdown experiments on the compose
backend: the same verdicts as on the local backend, against the stack in containers."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from gauntlet.boot.engine import PROJECT_LABEL
from gauntlet.chaos.execute import run_experiment
from gauntlet.chaos.planning import plan_experiments
from gauntlet.config import parse_suite
from gauntlet.runner import run_suite
from gauntlet.timeline import EVENTS_FILE, read_events
from tests.e2e.experiments import COMPOSE_USERS

# one test worker runs every compose test, one at a time (see test_compose_backend.py)
pytestmark = [pytest.mark.compose, pytest.mark.xdist_group("compose")]


API_MIX = str(Path(__file__).resolve().parents[3] / "stack" / "locustfiles" / "api_mix.py")



# the reference stack in containers: its contract with [compose] (stack/docker-compose.yml)
CONTRACT = str(Path(__file__).resolve().parents[3] / "contracts" / "reference-compose.toml")


def _no_gauntlet_containers() -> list[str]:
    """Containers of the compose projects this process started (``gauntlet-<pid>-<hex>``):
    another test runner's worker may have its own up at the same time."""
    out = subprocess.run(["docker", "ps", "-a", "--format", f'{{{{.Label "{PROJECT_LABEL}"}}}}'],
                         capture_output=True, text=True, check=True, timeout=30).stdout
    return [p for p in out.split() if p.startswith(f"gauntlet-{os.getpid()}-")]


def test_slo_run_on_compose(tmp_path: Path) -> None:
    """An SLO run on the stack in containers: gated, summarised, nothing left running.

    The latency bounds are loose on purpose. This test shows the compose backend runs a gated
    load; how fast the stack answers on a machine shared with the other test worker is a
    benchmark's figure, not a test's: CI runs measured p95 493 ms and then 664 ms (95 % CI 645
    to 810 ms) under the contract's 500 ms bound, the same stack, the neighbour differing. The
    gates themselves are shown failing on an unmeetable bound in test_cli.py."""
    suite = parse_suite({"name": "compose-slo", "contract": CONTRACT,
                         "stack": {"backend": "compose"},
                         # a p99 gate needs 368 successes at least: 40 users for 14 s send ~650
                         "load": {"scenario": API_MIX, "users": 40, "spawn_rate": 40,
                                  "duration_s": 14},
                         "slo": {"p95_ms": 2500, "p99_ms": 5000, "error_rate": 0.01}})
    outcome = run_suite(suite, output_dir=tmp_path)
    # a gate whose interval straddles its bound is marginal (exit 4), never a coin-flip fail
    not_passed = [v for v in outcome.verdicts if not v.passed]
    assert all(v.inconclusive and v.marginal for v in not_passed), \
        [v.reason for v in not_passed]
    assert outcome.exit_code in (0, 4) and outcome.error is None
    assert outcome.summary["overall"]["count"] > 50
    assert _no_gauntlet_containers() == []


# the breaker and retries runs on compose are slow-marked (the test command keeps shutdown, the
# one that signals a container; the other two are shown on the local and external backends)
@pytest.mark.parametrize(("name", "claim"), [
    pytest.param("breaker", "upstream", marks=pytest.mark.slow),
    pytest.param("retries", "upstream", marks=pytest.mark.slow),
    ("shutdown", "sigterm")])
def test_experiment_on_compose(tmp_path: Path, name: str, claim: str) -> None:
    suite = parse_suite({"name": "compose-chaos", "contract": CONTRACT,
                         "stack": {"backend": "compose"},
                         "experiments": [{"name": name, "claim": claim,
                                          **({"params": {"users": COMPOSE_USERS}}
                                             if name == "shutdown" else {})}]})
    [planned] = plan_experiments(suite)
    verdicts = run_experiment(suite, planned, tmp_path / name).verdicts
    failed = [f"{v.name}: {v.reason}" for v in verdicts if not v.passed]
    assert verdicts and not failed, failed
    assert _no_gauntlet_containers() == []
    if name == "shutdown":
        # the signal waited for a request the slowed link held (with 40 clients, chance alone
        # left none in flight in 9f25763's landing CI): the declared load's board, read
        found = [e for e in read_events(tmp_path / name / EVENTS_FILE)
                 if e.kind == "evidence.found" and e.data.get("claim") == "shutdown.sigterm"]
        assert found, "the signal was sent without a request seen in flight"
