"""The suite schema: valid suites resolve, invalid ones fail with one line naming the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from gauntlet.config import load_suite, parse_suite
from gauntlet.errors import ConfigError
from gauntlet.policy import Policy, broken_env, parse_rate

ROOT = Path(__file__).resolve().parents[2]


def minimal(**over: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "name": "t",
        "load": {"scenario": "api_mix", "users": 5, "duration_s": 3},
    }
    doc.update(over)
    return doc


def test_shipped_suites_are_valid() -> None:
    for path in sorted((ROOT / "suites").glob("*.toml")):
        suite = load_suite(path)
        assert suite.name


def test_profile_and_suite_policy_merge() -> None:
    suite = parse_suite(minimal(stack={"profile": "quemiai", "policy": {"breaker_open_s": 2}}))
    assert suite.resolved_policy.breaker_open_s == 2  # suite wins
    assert suite.resolved_policy.upstream_timeout_s == 5  # profile
    assert suite.resolved_policy.db_pool_max == 20  # default


def test_profile_slo_is_default_and_suite_overrides() -> None:
    suite = parse_suite(minimal(slo={"p95_ms": 123}))
    assert suite.slo.p95_ms == 123
    assert suite.slo.p99_ms == 1000  # lazy-foundry


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (minimal(laod={}), "unknown key 'laod'"),
        (minimal(load={"scenario": "api_mix", "userz": 5, "duration_s": 3}),
         "unknown key 'load.userz'"),
        (minimal(load={"scenario": "api_mix", "users": "ten", "duration_s": 3}), "'load.users'"),
        (minimal(load={"scenario": "nope", "users": 5, "duration_s": 3}), "no scenario 'nope'"),
        ({"load": {"scenario": "api_mix", "users": 5, "duration_s": 3}}, "missing key 'name'"),
        (minimal(stack={"profile": "nope"}), "no profile 'nope'"),
        (minimal(stack={"policy": {"breaker_open": 1}}), "unknown key 'breaker_open'"),
        (minimal(stack={"policy": {"rate_limit_api": "lots"}}), "not a rate limit"),
        (minimal(stack={"broken": ["brakes"]}), "'stack.broken.0'"),
        (minimal(stack={"backend": "external"}), "needs stack.base_url"),
        (minimal(load={"scenario": "api_mix", "users": 5}), "needs load.users and load.duration_s"),
        (minimal(load={"model": "open", "duration_s": 5}), "open model needs load.rate"),
        (minimal(slo={"error_rate": 2}), "'slo.error_rate'"),
        ({"name": "idle"}, "nothing to do"),
    ],
)
def test_invalid_suites_fail_with_one_line(doc: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_suite(doc, "suite.toml")
    message = str(info.value)
    assert expected in message
    assert "\n" not in message
    assert message.startswith("suite.toml")


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such suite file"):
        load_suite(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_suite(bad)


def test_policy_env_and_broken_switches() -> None:
    env = Policy(breaker_open_s=3).to_env()
    assert env["BREAKER_OPEN_S"] == "3.0"
    assert "UPSTREAM_LATENCY_MS" not in env
    assert broken_env(["breaker", "durable_ack"]) == {"DISABLE_BREAKER": "1", "UNSAFE_ACK": "1"}


@pytest.mark.parametrize(
    ("text", "count", "window"),
    [("100/minute", 100, 60.0), ("5/15minutes", 5, 900.0), ("10 per hour", 10, 3600.0)],
)
def test_parse_rate(text: str, count: int, window: float) -> None:
    assert parse_rate(text) == (count, window)
