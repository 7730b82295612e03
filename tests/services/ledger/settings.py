"""The ledger's settings: every number and every switch comes from a ``LEDGER_*`` variable.

The contract's ``services.ledger.env`` fills the numbers from its claims, ``local_env`` the
addresses, and each ``[variants]`` entry sets one ``LEDGER_NO_*`` switch. A bad value stops the
boot with one line naming the variable (exit 2).

    settings = Settings.read(os.environ)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from limits import RateLimitItem
from limits import parse as parse_rate

SWITCHES = (
    "LEDGER_NO_BREAKER",
    "LEDGER_NO_RETRY",
    "LEDGER_NO_LIMIT",
    "LEDGER_NO_DRAIN",
    "LEDGER_NO_READY_CHECK",
    "LEDGER_NO_POOL_TIMEOUT",
    "LEDGER_NO_DEADLINE",
    "LEDGER_NO_IDEMPOTENCY",
)


class SettingsError(ValueError):
    """One variable is missing or malformed; the message names it and what was given."""


class _Env:
    """Typed reads from an environment mapping, each failing with the variable's name."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def text(self, name: str, default: str | None = None) -> str:
        raw = self._environ.get(name, "").strip()
        if raw:
            return raw
        if default is None:
            raise SettingsError(f"{name} is required")
        return default

    def number(self, name: str, default: float, *, positive: bool = True) -> float:
        raw = self.text(name, str(default))
        try:
            value = float(raw)
        except ValueError:
            raise SettingsError(f"{name}: expected a number, got {raw!r}") from None
        if value < 0 or (positive and value == 0):
            raise SettingsError(f"{name}: expected a number > 0, got {raw!r}")
        return value

    def count(self, name: str, default: int | None = None) -> int:
        raw = self.text(name, None if default is None else str(default))
        try:
            value = int(float(raw))
        except ValueError:
            raise SettingsError(f"{name}: expected a whole number, got {raw!r}") from None
        if value < 1:
            raise SettingsError(f"{name}: expected a whole number >= 1, got {raw!r}")
        return value

    def switch(self, name: str) -> bool:
        raw = self._environ.get(name, "").strip().lower()
        if raw in ("", "0", "false", "no", "off"):
            return False
        if raw in ("1", "true", "yes", "on"):
            return True
        raise SettingsError(f"{name}: expected 1 or 0, got {raw!r}")

    def rate(self, name: str, default: str) -> RateLimitItem:
        raw = self.text(name, default)
        try:
            return parse_rate(raw)
        except ValueError:
            raise SettingsError(f"{name}: not a rate such as '20/5seconds', got {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    """What one ledger process runs with; :meth:`read` names the variable of each field."""

    port: int
    database_url: str
    pricing_url: str
    host: str = "127.0.0.1"

    pool_max: int = 4
    pool_wait_s: float = 0.5
    db_connect_s: float = 1.0
    ready_check_s: float = 0.5
    deadline_s: float = 3.0

    pricing_timeout_s: float = 1.0
    breaker_fails: int = 3
    breaker_reset_s: float = 2.0
    retry_attempts: int = 3
    retry_first_s: float = 0.1
    retry_cap_s: float = 0.5

    limit: str = "20/5seconds"
    drain_s: float = 2.0
    stop_deadline_s: float = 8.0

    no_breaker: bool = False
    no_retry: bool = False
    no_limit: bool = False
    no_drain: bool = False
    no_ready_check: bool = False
    no_pool_timeout: bool = False
    no_deadline: bool = False
    no_idempotency: bool = False

    @property
    def rate(self) -> RateLimitItem:
        return parse_rate(self.limit)

    @classmethod
    def read(cls, environ: Mapping[str, str]) -> Settings:
        env = _Env(environ)
        env.rate("LEDGER_LIMIT", cls.limit)  # validated here, parsed again where used
        return cls(
            port=env.count("LEDGER_PORT"),
            host=env.text("LEDGER_HOST", cls.host),
            database_url=env.text("LEDGER_DB"),
            pricing_url=env.text("LEDGER_PRICING_URL").rstrip("/"),
            pool_max=env.count("LEDGER_POOL_MAX", cls.pool_max),
            pool_wait_s=env.number("LEDGER_POOL_WAIT_S", cls.pool_wait_s),
            db_connect_s=env.number("LEDGER_DB_CONNECT_S", cls.db_connect_s),
            ready_check_s=env.number("LEDGER_READY_CHECK_S", cls.ready_check_s),
            deadline_s=env.number("LEDGER_DEADLINE_S", cls.deadline_s),
            pricing_timeout_s=env.number("LEDGER_PRICING_TIMEOUT_S", cls.pricing_timeout_s),
            breaker_fails=env.count("LEDGER_BREAKER_FAILS", cls.breaker_fails),
            breaker_reset_s=env.number("LEDGER_BREAKER_RESET_S", cls.breaker_reset_s),
            retry_attempts=env.count("LEDGER_RETRY_ATTEMPTS", cls.retry_attempts),
            retry_first_s=env.number("LEDGER_RETRY_FIRST_S", cls.retry_first_s, positive=False),
            retry_cap_s=env.number("LEDGER_RETRY_CAP_S", cls.retry_cap_s, positive=False),
            limit=env.text("LEDGER_LIMIT", cls.limit),
            drain_s=env.number("LEDGER_DRAIN_S", cls.drain_s, positive=False),
            stop_deadline_s=env.number("LEDGER_STOP_DEADLINE_S", cls.stop_deadline_s),
            no_breaker=env.switch("LEDGER_NO_BREAKER"),
            no_retry=env.switch("LEDGER_NO_RETRY"),
            no_limit=env.switch("LEDGER_NO_LIMIT"),
            no_drain=env.switch("LEDGER_NO_DRAIN"),
            no_ready_check=env.switch("LEDGER_NO_READY_CHECK"),
            no_pool_timeout=env.switch("LEDGER_NO_POOL_TIMEOUT"),
            no_deadline=env.switch("LEDGER_NO_DEADLINE"),
            no_idempotency=env.switch("LEDGER_NO_IDEMPOTENCY"),
        )
