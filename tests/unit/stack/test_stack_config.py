"""Settings parsing: defaults, required variables, one-line errors, and the harness's format."""

from __future__ import annotations

import pytest

from stack.api.config import ConfigError, Settings

REQUIRED = {
    "API_PORT": "8080",
    "DATABASE_URL": "postgresql://u@127.0.0.1:5432/db",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "UPSTREAM_URL": "http://127.0.0.1:9000",
}


def test_defaults_are_lazy_foundrys_numbers() -> None:
    s = Settings.from_env(REQUIRED)
    assert (s.db_pool_min, s.db_pool_max) == (5, 20)
    assert (s.db_connect_timeout_s, s.db_acquire_timeout_s, s.db_command_timeout_s) == (2, 2, 5)
    assert s.upstream_timeout_s == 30
    assert (s.breaker_failure_rate, s.breaker_window_s, s.breaker_min_calls) == (0.5, 10, 5)
    assert (s.breaker_open_s, s.breaker_half_open_probes) == (60, 1)
    assert (s.retry_attempts, s.retry_initial_s, s.retry_max_s) == (3, 1.0, 8.0)
    assert (s.rate_limit_api, s.rate_limit_login, s.rate_limit_generate) == (
        "100/minute", "5/15minutes", "10/hour",
    )
    assert s.trust_proxy_headers is True
    assert (s.request_deadline_s, s.cache_ttl_s) == (10, 5)
    assert (s.drain_delay_s, s.shutdown_deadline_s) == (5, 30)
    assert s.stack_password == "gauntlet"
    assert not any(getattr(s, name) for name in (
        "disable_breaker", "disable_retries", "disable_rate_limit", "limiter_fail_closed",
        "disable_cache_fallback", "disable_readiness_checks", "disable_drain",
        "disable_pool_timeout", "disable_deadline", "disable_idempotency", "unsafe_ack",
        *SWITCHES.values(),
    ))


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_required_variables(missing: str) -> None:
    env = {k: v for k, v in REQUIRED.items() if k != missing}
    with pytest.raises(ConfigError, match=f"^{missing} is required$"):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("true", True), ("on", True), ("0", False), ("", False)]
)
def test_switches(raw: str, expected: bool) -> None:
    assert Settings.from_env({**REQUIRED, "DISABLE_BREAKER": raw}).disable_breaker is expected


SWITCHES = {
    "BREAKER_NEVER_CLOSES": "breaker_never_closes",
    "RETRY_BACKOFF_UNBOUNDED": "retry_backoff_unbounded",
    "RATE_LIMIT_GLOBAL_KEY": "rate_limit_global_key",
    "RATE_LIMIT_PROBES": "rate_limit_probes",
    "RATE_LIMIT_PENALTY": "rate_limit_penalty",
    "LIVENESS_CHECKS_DEPENDENCIES": "liveness_checks_dependencies",
    "READINESS_LATCHES": "readiness_latches",
}


@pytest.mark.parametrize("variable", sorted(SWITCHES))
def test_each_broken_variant_switch_is_read(variable: str) -> None:
    s = Settings.from_env({**REQUIRED, variable: "1"})
    assert getattr(s, SWITCHES[variable]) is True
    others = [field for name, field in SWITCHES.items() if name != variable]
    assert not any(getattr(s, field) for field in others)


def test_contract_declares_every_switch() -> None:
    import tomllib
    from pathlib import Path

    contract = Path(__file__).parents[3] / "stack" / "contract.toml"
    variants = tomllib.loads(contract.read_text())["variants"]
    declared = {name for env in variants.values() for name in env}
    assert set(SWITCHES) <= declared
    for name in declared:  # and each one is a Settings field
        assert hasattr(Settings.from_env({**REQUIRED, name: "1"}), name.lower())


def test_ints_written_as_floats_are_accepted() -> None:
    assert Settings.from_env({**REQUIRED, "DB_POOL_MAX": "20.0"}).db_pool_max == 20


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DB_POOL_MAX", "lots", "DB_POOL_MAX: expected int"),
        ("DB_POOL_MAX", "2.5", "DB_POOL_MAX: expected int"),
        ("DISABLE_DRAIN", "maybe", "DISABLE_DRAIN: expected bool"),
        ("BREAKER_FAILURE_RATE", "1.5", "BREAKER_FAILURE_RATE must be in"),
        ("RATE_LIMIT_LOGIN", "five a minute", "RATE_LIMIT_LOGIN: not a rate limit"),
        ("DB_POOL_MIN", "30", "DB_POOL_MIN/DB_POOL_MAX"),
        ("REQUEST_DEADLINE_S", "-1", "REQUEST_DEADLINE_S must be"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL must start with postgresql://"),
    ],
)
def test_bad_values_fail_with_one_line_naming_the_variable(
    name: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.from_env({**REQUIRED, name: value})
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_accepts_what_its_contract_renders() -> None:
    """The contract's services.api.env is the other end of this: every number it renders from
    a claim, and every variant switch, parses."""
    from pathlib import Path

    contract = pytest.importorskip("gauntlet.contract")
    loaded = contract.load_contract(Path(__file__).parents[3] / "stack" / "contract.toml")
    env = {**REQUIRED, **loaded.render_env("api"), **loaded.variants["drain"],
           **loaded.variants["durable_ack"]}
    s = Settings.from_env(env)
    assert s.disable_drain and s.unsafe_ack
    assert s.db_pool_max == loaded.claims.pool[0].size
    assert s.rate_limit_login == loaded.claims.find("rate_limit", "login").limit
