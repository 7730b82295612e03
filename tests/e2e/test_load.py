"""Load models end to end: staged closed model, open model on a schedule, several workers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gauntlet.boot import Stack
from gauntlet.pytest_plugin import LoadOutcome

# the plugin's session stack: one worker boots it once for every test that asks for it
pytestmark = pytest.mark.xdist_group("default-stack")

API_MIX = str(Path(__file__).resolve().parents[2] / "stack" / "locustfiles" / "api_mix.py")
ORDERS_OPEN = str(Path(__file__).resolve().parents[2] / "stack" / "locustfiles" / "orders_open.py")


def test_stages_run_to_their_end(stack: Stack, load: Callable[..., LoadOutcome]) -> None:
    result = load(scenario=API_MIX,
                  stages=[{"duration_s": 3, "users": 4, "spawn_rate": 4},
                          {"duration_s": 3, "users": 8, "spawn_rate": 8}])
    assert len(result.samples) > 20
    span = result.samples["t_start_s"].max() - result.samples["t_start_s"].min()
    assert 4.0 <= span <= 8.0


@pytest.mark.serial  # its send lag is the generator's own: measured with no neighbour test
def test_open_model_sends_on_schedule(stack: Stack, load: Callable[..., LoadOutcome]) -> None:
    result = load(scenario=ORDERS_OPEN, model="open", rate=40, duration_s=5,
                  max_concurrency=20)
    scheduled = result.samples[result.samples["name"].astype(str) == "GET /api/orders"]
    sent = len(scheduled)  # the logins happen outside the schedule
    assert 0.9 * 200 <= sent <= 200, sent
    lag = scheduled["t_start_s"] - scheduled["t_intended_s"]
    assert (lag >= 0).all()
    # the first second's slots fall due while the users are still logging in: late by design
    settled = scheduled[scheduled["t_intended_s"] >= scheduled["t_intended_s"].min() + 1.0]
    settled_lag = settled["t_start_s"] - settled["t_intended_s"]
    # a shared 2-core box delays a few sends by more than 10 ms; the generator-health check
    # flags a run past 1 %, this test only guards against a schedule that is not kept at all
    assert int((settled_lag > 0.010).sum()) <= 0.05 * len(settled)
    assert float(settled_lag.median()) < 0.005
    (gen,) = result.result.generator
    assert gen["model"] == "open" and gen["slots_unsent"] < 2


def test_two_workers_merge_their_samples(stack: Stack, load: Callable[..., LoadOutcome]) -> None:
    result = load(scenario=API_MIX, users=6, spawn_rate=6, duration_s=5, workers=2)
    workers = set(result.samples["worker"].astype(str))
    assert len(workers) == 2, workers
