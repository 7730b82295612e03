"""Scaling a production load shape: durations shrink, ramps steepen, every other number stays."""

from __future__ import annotations

from pathlib import Path

import pytest

from gauntlet.config import parse_suite
from gauntlet.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
API_MIX = str(ROOT / "stack" / "locustfiles" / "api_mix.py")
CONTRACT = str(ROOT / "stack" / "contract.toml")

# lazy-foundry's load test: 0→100 users over 2 min, hold 5 min, →200 over 2 min, hold, →0
STAGES = [
    {"duration_s": 120, "users": 100, "spawn_rate": 100 / 120},
    {"duration_s": 300, "users": 100},
    {"duration_s": 120, "users": 200, "spawn_rate": 100 / 120},
    {"duration_s": 300, "users": 200},
    {"duration_s": 60, "users": 0, "spawn_rate": 200 / 60},
]


def suite(**load: object) -> dict[str, object]:
    return {"name": "t", "contract": CONTRACT,
            "load": {"scenario": API_MIX, "stages": STAGES, **load}}


def test_a_suites_own_scale_shortens_durations_and_keeps_users() -> None:
    load = parse_suite(suite(duration_scale=0.1)).load
    assert load is not None and load.stages is not None
    assert load.total_duration_s == pytest.approx(90.0)
    assert load.declared_duration_s == pytest.approx(900.0)
    assert [s.users for s in load.stages] == [100, 100, 200, 200, 0]
    first = load.stages[0]
    assert first.spawn_rate is not None
    # the ramp still reaches 100 users by the end of its (now 12 s) stage
    assert first.spawn_rate * first.duration_s == pytest.approx(100.0)


def test_cli_scale_replaces_the_suites_scale_rather_than_compounding() -> None:
    load = parse_suite(suite(duration_scale=0.1)).load
    assert load is not None
    again = load.scaled(0.02)
    assert again.duration_scale == 0.02
    assert again.total_duration_s == pytest.approx(18.0)
    assert again.scaled(1.0).total_duration_s == pytest.approx(900.0)


def test_closed_model_users_duration_and_open_rate() -> None:
    closed = parse_suite({"name": "t", "contract": CONTRACT, "load": {
        "scenario": API_MIX, "users": 40, "spawn_rate": 2, "duration_s": 600,
        "warmup_s": 30, "duration_scale": 0.05}}).load
    assert closed is not None
    assert (closed.users, closed.duration_s, closed.spawn_rate, closed.warmup_s) == \
        (40, pytest.approx(30.0), pytest.approx(40.0), pytest.approx(1.5))
    opened = parse_suite({"name": "t", "contract": CONTRACT, "load": {
        "scenario": API_MIX, "model": "open", "rate": 50, "duration_s": 60,
        "duration_scale": 0.5}}).load
    assert opened is not None
    assert (opened.rate, opened.duration_s) == (50, pytest.approx(30.0))


@pytest.mark.parametrize("bad", [0, -0.5, 1.5])
def test_a_scale_outside_zero_one_is_a_config_error(bad: float) -> None:
    with pytest.raises(ConfigError, match="duration_scale"):
        parse_suite(suite(duration_scale=bad))
    load = parse_suite(suite()).load
    assert load is not None
    with pytest.raises(ConfigError, match="duration_scale"):
        load.scaled(bad)
