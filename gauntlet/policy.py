"""The policy a stack declares: limits, windows, breaker numbers, timeouts, drain delay.

One typed record serves two readers. The local and compose backends hand it to the reference
stack as environment variables (``breaker_open_s`` → ``BREAKER_OPEN_S``), and the verdicts read
the same record to know what the stack *claims*, so one experiment can judge any stack that
declares its policy (an external stack's suite simply states the numbers it was configured with).

Defaults are lazy-foundry's production numbers (../shared/SEED-CLAIMS.md); profiles and suites
override them.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Broken variants of the reference stack: the mechanism name a suite lists under
# ``stack.broken`` and the switch the stack reads. Each makes one verdict fail on purpose.
BROKEN_SWITCHES: dict[str, str] = {
    "breaker": "DISABLE_BREAKER",
    "retries": "DISABLE_RETRIES",
    "rate_limit": "DISABLE_RATE_LIMIT",
    "limiter_fail_open": "LIMITER_FAIL_CLOSED",
    "cache_fallback": "DISABLE_CACHE_FALLBACK",
    "readiness": "DISABLE_READINESS_CHECKS",
    "drain": "DISABLE_DRAIN",
    "pool_timeout": "DISABLE_POOL_TIMEOUT",
    "deadline": "DISABLE_DEADLINE",
    "idempotency": "DISABLE_IDEMPOTENCY",
    "durable_ack": "UNSAFE_ACK",
}
Mechanism = Literal[
    "breaker",
    "retries",
    "rate_limit",
    "limiter_fail_open",
    "cache_fallback",
    "readiness",
    "drain",
    "pool_timeout",
    "deadline",
    "idempotency",
    "durable_ack",
]

_RATE = re.compile(r"^\s*(\d+)\s*(?:/|per)\s*(\d*)\s*(second|minute|hour|day)s?\s*$")
_UNIT_S = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def parse_rate(text: str) -> tuple[int, float]:
    """``"5/15minutes"`` → ``(5, 900.0)``: the count and the window in seconds (limits' syntax)."""
    match = _RATE.match(text)
    if not match:
        raise ValueError(f"not a rate limit: {text!r} (expected e.g. '100/minute', '5/15minutes')")
    count, multiple, unit = match.groups()
    return int(count), float(int(multiple or 1) * _UNIT_S[unit])


class Policy(BaseModel):
    """Numbers the stack is configured with; every field maps to one environment variable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    db_pool_min: int = Field(5, ge=0)
    db_pool_max: int = Field(20, ge=1)
    db_connect_timeout_s: float = Field(2.0, gt=0)
    db_acquire_timeout_s: float = Field(2.0, gt=0)
    db_command_timeout_s: float = Field(5.0, gt=0)
    request_deadline_s: float = Field(10.0, gt=0)
    upstream_timeout_s: float = Field(30.0, gt=0)
    upstream_latency_ms: float = Field(20.0, ge=0)
    breaker_failure_rate: float = Field(0.5, gt=0, le=1)
    breaker_window_s: float = Field(10.0, gt=0)
    breaker_min_calls: int = Field(5, ge=1)
    breaker_open_s: float = Field(60.0, gt=0)
    breaker_half_open_probes: int = Field(1, ge=1)
    retry_attempts: int = Field(3, ge=1)
    retry_initial_s: float = Field(1.0, ge=0)
    retry_max_s: float = Field(8.0, ge=0)
    rate_limit_api: str = "100/minute"
    rate_limit_login: str = "5/15minutes"
    rate_limit_generate: str = "10/hour"
    cache_ttl_s: float = Field(5.0, gt=0)
    drain_delay_s: float = Field(5.0, ge=0)
    shutdown_deadline_s: float = Field(30.0, gt=0)

    @field_validator("rate_limit_api", "rate_limit_login", "rate_limit_generate")
    @classmethod
    def _valid_rate(cls, value: str) -> str:
        parse_rate(value)
        return value

    def to_env(self) -> dict[str, str]:
        """The reference stack's environment for this policy."""
        env: dict[str, str] = {}
        for name, value in self.model_dump().items():
            if name == "upstream_latency_ms":
                continue  # the upstream's own knob, not the API's
            env[name.upper()] = str(value)
        return env


def broken_env(mechanisms: list[str]) -> dict[str, str]:
    """Environment switches that turn the named mechanisms off in the reference stack."""
    return {BROKEN_SWITCHES[name]: "1" for name in mechanisms}
