"""The API's settings, read once from the environment into a frozen record.

Why a hand-rolled parser and not pydantic-settings: the stack is driven by a harness that sets
plain environment variables (``gauntlet.policy.Policy.to_env`` writes ``"2.0"`` for floats and
``"5"`` for ints), the names are a contract shared with that harness, and a bad value must fail
the boot with one line naming the variable — not with a validation report. Every default is
lazy-foundry's production number (shared/SEED-CLAIMS.md).

Usage::

    settings = Settings.from_env(os.environ)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields

from limits import parse as parse_limit

DEFAULT_JWT_SECRET = "gauntlet-dev-secret-change-me"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A variable is missing or malformed; the message is one line and names it."""


@dataclass(frozen=True)
class Settings:
    """Everything the API reads from its environment; field ``x`` comes from variable ``X``."""

    api_port: int
    database_url: str
    redis_url: str
    upstream_url: str
    api_host: str = "127.0.0.1"
    jwt_secret: str = DEFAULT_JWT_SECRET
    jwt_ttl_s: int = 3600
    stack_password: str = "gauntlet"
    log_level: str = "info"

    db_pool_min: int = 5
    db_pool_max: int = 20
    db_connect_timeout_s: float = 2.0
    db_acquire_timeout_s: float = 2.0
    db_command_timeout_s: float = 5.0
    # asyncpg's prepared-statement cache; 0 behind PgBouncer's transaction pooling, which
    # cannot keep a statement prepared on one server connection for the next transaction
    db_statement_cache_size: int = 100

    request_deadline_s: float = 10.0
    health_timeout_s: float = 0.5
    redis_timeout_s: float = 0.5
    # /health/detailed: every check within half this budget (they run concurrently), a
    # dependency slower than health_degraded_ms shown "degraded" (LangSense: DB < 100 ms)
    health_detailed_budget_ms: float = 500.0
    health_degraded_ms: float = 100.0

    upstream_timeout_s: float = 30.0
    breaker_failure_rate: float = 0.5
    breaker_window_s: float = 10.0
    breaker_min_calls: int = 5
    breaker_open_s: float = 60.0
    breaker_half_open_probes: int = 1

    # the database's own breaker (LangSense: one breaker per component); off unless DB_BREAKER=1
    db_breaker: bool = False
    db_breaker_failure_rate: float = 0.5
    db_breaker_window_s: float = 10.0
    db_breaker_min_calls: int = 5
    db_breaker_open_s: float = 60.0
    db_breaker_call_timeout_s: float = 5.0

    # the notification queue (LangSense: notifications behind their own breaker, < 100
    # pending): off unless NOTIFY_AMQP_URL names a broker. Each created order publishes one
    # message; a consumer drains NOTIFY_CONSUME_PER_S a second (0: no consumer)
    notify_amqp_url: str = ""
    notify_queue: str = "notifications"
    notify_publish_timeout_s: float = 1.0
    notify_consume_per_s: float = 200.0
    notify_depth_interval_s: float = 0.5
    notify_breaker_failure_rate: float = 0.5
    notify_breaker_window_s: float = 10.0
    notify_breaker_min_calls: int = 5
    notify_breaker_open_s: float = 60.0

    retry_attempts: int = 3
    retry_initial_s: float = 1.0
    retry_max_s: float = 8.0

    rate_limit_api: str = "100/minute"
    rate_limit_login: str = "5/15minutes"
    rate_limit_generate: str = "10/hour"
    rate_limit_upload: str = "10/minute"  # Quemiai: uploads 10 req/min beside 100 req/min
    trust_proxy_headers: bool = True

    cache_ttl_s: float = 5.0
    cache_stale_ttl_s: float = 3600.0

    drain_delay_s: float = 5.0
    shutdown_deadline_s: float = 30.0

    # broken variants: each switches one mechanism off so its check can be seen to fail
    disable_breaker: bool = False
    disable_retries: bool = False
    disable_rate_limit: bool = False
    limiter_fail_closed: bool = False
    disable_cache_fallback: bool = False
    disable_readiness_checks: bool = False
    disable_drain: bool = False
    disable_pool_timeout: bool = False
    disable_deadline: bool = False
    disable_idempotency: bool = False
    unsafe_ack: bool = False
    breaker_never_closes: bool = False
    retry_backoff_unbounded: bool = False
    retry_every_status: bool = False
    rate_limit_global_key: bool = False
    rate_limit_probes: bool = False
    rate_limit_penalty: bool = False
    liveness_checks_dependencies: bool = False
    readiness_latches: bool = False
    realtime_no_resubscribe: bool = False
    realtime_ack_before_publish: bool = False
    breaker_shared: bool = False  # the database breaker is the upstream's: one for all
    disable_upload_limit: bool = False  # uploads fall under the api limit only
    health_detailed_static: bool = False  # /health/detailed says healthy whatever it sees
    request_id_success_only: bool = False  # x-request-id on answers under 400 only
    log_plain_text: bool = False  # log lines as text, not JSON
    log_request_without_id: bool = False  # the request line logged after its id is reset
    readiness_deep_check: bool = False  # readiness makes a real upstream generation call
    retry_ignores_retry_after: bool = False  # the upstream's Retry-After is not waited
    notify_without_breaker: bool = False  # every publish waits its timeout, broker down or not

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build settings from ``env``; raise :class:`ConfigError` on the first bad variable."""
        values: dict[str, object] = {}
        for field in fields(cls):
            name = field.name.upper()
            raw = env.get(name)
            if raw is None:
                if field.default is MISSING and field.default_factory is MISSING:
                    raise ConfigError(f"{name} is required")
                continue
            values[field.name] = _convert(name, raw, field.type)
        settings = cls(**values)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def validate(self) -> None:
        """Cross-field rules; single values were checked while parsing."""
        if not 0 < self.api_port < 65536:
            raise ConfigError(f"API_PORT must be 1..65535, got {self.api_port}")
        if not self.database_url.startswith(("postgresql://", "postgres://")):
            raise ConfigError("DATABASE_URL must start with postgresql://")
        if not self.redis_url.startswith(("redis://", "rediss://")):
            raise ConfigError("REDIS_URL must start with redis://")
        if not self.upstream_url.startswith(("http://", "https://")):
            raise ConfigError("UPSTREAM_URL must start with http://")
        if self.db_pool_min < 0 or self.db_pool_max < 1 or self.db_pool_min > self.db_pool_max:
            raise ConfigError(
                f"DB_POOL_MIN/DB_POOL_MAX must satisfy 0 <= min <= max and max >= 1, "
                f"got {self.db_pool_min}/{self.db_pool_max}"
            )
        if self.notify_amqp_url and not self.notify_amqp_url.startswith(("amqp://", "amqps://")):
            raise ConfigError("NOTIFY_AMQP_URL must start with amqp://")
        for name in ("breaker_failure_rate", "db_breaker_failure_rate",
                     "notify_breaker_failure_rate"):
            if not 0 < getattr(self, name) <= 1:
                raise ConfigError(f"{name.upper()} must be in (0, 1]")
        for name in ("breaker_min_calls", "breaker_half_open_probes", "retry_attempts",
                     "db_breaker_min_calls", "notify_breaker_min_calls"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name.upper()} must be >= 1")
        for name in ("rate_limit_api", "rate_limit_login", "rate_limit_generate",
                     "rate_limit_upload"):
            try:
                parse_limit(getattr(self, name))
            except ValueError as exc:
                raise ConfigError(
                    f"{name.upper()}: not a rate limit: {getattr(self, name)!r} "
                    "(expected e.g. '100/minute', '5/15minutes')"
                ) from exc
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith(("_s", "_ms")) and (value < 0 or not math.isfinite(value)):
                raise ConfigError(f"{f.name.upper()} must be a finite number >= 0")


def _convert(name: str, raw: str, kind: object) -> object:
    """Parse one variable as its field's type (dataclass field types are strings here)."""
    text = raw.strip()
    try:
        if kind == "bool":
            lowered = text.lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ValueError(text)
        if kind == "int":
            as_float = float(text)  # the harness may write "5.0" for an int policy
            if not as_float.is_integer():
                raise ValueError(text)
            return int(as_float)
        if kind == "float":
            return float(text)
    except ValueError as exc:
        raise ConfigError(f"{name}: expected {kind}, got {raw!r}") from exc
    return raw
