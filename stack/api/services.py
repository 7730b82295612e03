"""The API's long-lived collaborators, built without I/O and started/stopped by the lifespan.

Why one container: routes get everything through one typed dependency (``ServicesDep``) instead
of module globals, so a test can build two apps side by side, and start-up/shut-down order is
written down in one place. Building does no I/O — nothing here can fail because PostgreSQL or
Redis is down; connections are made lazily (Redis) or by a background task (PostgreSQL).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from stack.api.breaker import CircuitBreaker, CircuitState
from stack.api.cache import Cache
from stack.api.config import DEFAULT_JWT_SECRET, Settings
from stack.api.db import Database
from stack.api.logs import log_event
from stack.api.metrics import Metrics
from stack.api.notify import Notifier
from stack.api.ratelimit import RateLimiter
from stack.api.redisguard import RedisGuard, redis_breaker
from stack.api.shutdown import DrainState
from stack.api.tokens import MIN_KEY_BYTES, TokenService
from stack.api.upstream import UpstreamClient

logger = logging.getLogger("stack.api")


@dataclass
class Services:
    settings: Settings
    metrics: Metrics
    drain: DrainState
    tokens: TokenService
    db: Database
    cache: Cache
    limiter: RateLimiter
    breaker: CircuitBreaker
    upstream: UpstreamClient
    background: set[asyncio.Task[None]] = field(default_factory=set)
    # every circuit breaker by component, as /health/detailed shows them
    breakers: dict[str, CircuitBreaker] = field(default_factory=dict)
    # order notifications through a broker (NOTIFY_AMQP_URL), None without one
    notifier: Notifier | None = None
    # READINESS_LATCHES (broken variant): the checks of readiness's first dependency failure
    readiness_latched: dict[str, dict[str, Any]] | None = None

    @classmethod
    def build(cls, settings: Settings, drain: DrainState) -> Services:
        metrics = Metrics()

        breaker = _breaker(
            "upstream", metrics, settings,
            failure_rate=settings.breaker_failure_rate,
            window_s=settings.breaker_window_s,
            min_calls=settings.breaker_min_calls,
            open_s=settings.breaker_open_s,
            never_closes=settings.breaker_never_closes,
        )
        metrics.set_breaker_state("upstream", CircuitState.CLOSED)
        upstream = UpstreamClient(settings, breaker, metrics)

        def on_redis_transition(old: CircuitState, new: CircuitState) -> None:
            metrics.breaker_transition("redis", new)
            log_event(logger, logging.WARNING, "breaker_transition", name="redis",
                      old=old.value, new=new.value)

        guard = RedisGuard(settings.redis_timeout_s, redis_breaker(on_redis_transition))
        metrics.set_breaker_state("redis", CircuitState.CLOSED)
        # an OPEN breaker turns HALF_OPEN lazily, on its next use; a scrape counts as one
        metrics.on_scrape(lambda: metrics.set_breaker_state("upstream", upstream.circuit_state))
        breakers = {"upstream": breaker, "redis": guard.breaker}
        db_breaker = _database_breaker(settings, metrics, breaker)
        if db_breaker is not None:
            breakers["database"] = db_breaker
        notifier = _notifier(settings, metrics)
        if notifier is not None and notifier.breaker is not None:
            breakers["notifications"] = notifier.breaker
        return cls(
            settings=settings,
            metrics=metrics,
            drain=drain,
            tokens=TokenService(settings.jwt_secret, settings.jwt_ttl_s),
            db=Database(settings, metrics, db_breaker),
            cache=Cache(settings, guard),
            limiter=RateLimiter(settings, metrics, guard),
            breaker=breaker,
            upstream=upstream,
            breakers=breakers,
            notifier=notifier,
        )

    async def start(self) -> None:
        s = self.settings
        if s.jwt_secret == DEFAULT_JWT_SECRET:
            log_event(logger, logging.WARNING, "default_jwt_secret",
                      hint="set JWT_SECRET; tokens are forgeable by anyone who reads this repo")
        elif len(s.jwt_secret.encode()) < MIN_KEY_BYTES:
            log_event(logger, logging.WARNING, "short_jwt_secret",
                      hint=f"shorter than {MIN_KEY_BYTES} bytes: signing with its SHA-256")
        broken = [name for name in (
            "disable_breaker", "disable_retries", "disable_rate_limit", "limiter_fail_closed",
            "disable_cache_fallback", "disable_readiness_checks", "disable_drain",
            "disable_pool_timeout", "disable_deadline", "disable_idempotency", "unsafe_ack",
            "breaker_never_closes", "retry_backoff_unbounded", "rate_limit_global_key",
            "rate_limit_probes", "rate_limit_penalty", "liveness_checks_dependencies",
            "readiness_latches", "realtime_no_resubscribe", "realtime_ack_before_publish",
            "breaker_shared", "disable_upload_limit", "health_detailed_static",
            "retry_every_status", "request_id_success_only", "log_plain_text",
            "log_request_without_id", "readiness_deep_check", "retry_ignores_retry_after",
            "notify_without_breaker",
        ) if getattr(s, name)]
        log_event(logger, logging.INFO, "starting", broken=[b.upper() for b in broken])
        self.db.start()
        if self.notifier is not None:
            self.notifier.start()

    async def close(self) -> None:
        """Release every connection; each step is bounded and a failure does not stop the next."""
        lost = [t for t in self.background if not t.done()]
        if lost:
            log_event(logger, logging.WARNING, "background_writes_abandoned", count=len(lost))
        closers = [self.upstream.close, self.cache.close, self.limiter.close, self.db.close]
        if self.notifier is not None:
            closers.append(self.notifier.close)
        for closer in closers:
            try:
                await asyncio.wait_for(closer(), timeout=5.0)
            except Exception as exc:
                log_event(logger, logging.WARNING, "close_failed", what=closer.__qualname__,
                          error=f"{type(exc).__name__}: {exc}")
        log_event(logger, logging.INFO, "connections_closed")

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run a fire-and-forget task, keeping a reference so it is not garbage-collected."""
        task = asyncio.create_task(coro, name=name)
        self.background.add(task)
        task.add_done_callback(self.background.discard)


def _breaker(name: str, metrics: Metrics, settings: Settings, *, failure_rate: float,
             window_s: float, min_calls: int, open_s: float,
             never_closes: bool = False) -> CircuitBreaker:
    """One component's breaker, each transition exported as ``breaker_state{name}`` and
    logged: every component's breaker is built and watched the same way."""

    def on_transition(old: CircuitState, new: CircuitState) -> None:
        metrics.breaker_transition(name, new)
        log_event(logger, logging.WARNING, "breaker_transition", name=name,
                  old=old.value, new=new.value)

    return CircuitBreaker(name, failure_rate=failure_rate, window_s=window_s,
                          min_calls=min_calls, open_s=open_s,
                          half_open_probes=settings.breaker_half_open_probes,
                          on_transition=on_transition, never_closes=never_closes)


def _database_breaker(settings: Settings, metrics: Metrics, upstream: CircuitBreaker
                      ) -> CircuitBreaker | None:
    """The database's own breaker when ``DB_BREAKER=1``, exported as
    ``breaker_state{name="database"}``; ``BREAKER_SHARED=1`` (broken variant) hands the
    upstream's breaker to the database instead, so a database fault refuses AI calls too."""
    if not settings.db_breaker:
        return None
    if settings.breaker_shared:
        breaker = upstream
    else:
        breaker = _breaker(
            "database", metrics, settings,
            failure_rate=settings.db_breaker_failure_rate,
            window_s=settings.db_breaker_window_s,
            min_calls=settings.db_breaker_min_calls,
            open_s=settings.db_breaker_open_s,
        )
    return _watched("database", breaker, metrics)


def _notifier(settings: Settings, metrics: Metrics) -> Notifier | None:
    """The notification publisher when ``NOTIFY_AMQP_URL`` names a broker, behind its own
    breaker (``breaker_state{name="notifications"}``) unless ``NOTIFY_WITHOUT_BREAKER=1``."""
    if not settings.notify_amqp_url:
        return None
    breaker = None
    if not settings.notify_without_breaker:
        breaker = _breaker(
            "notifications", metrics, settings,
            failure_rate=settings.notify_breaker_failure_rate,
            window_s=settings.notify_breaker_window_s,
            min_calls=settings.notify_breaker_min_calls,
            open_s=settings.notify_breaker_open_s,
        )
        _watched("notifications", breaker, metrics)
    return Notifier(settings, metrics, breaker)


def _watched(name: str, breaker: CircuitBreaker, metrics: Metrics) -> CircuitBreaker:
    """``breaker`` exported as ``breaker_state{name}`` from now on: an OPEN breaker turns
    HALF_OPEN lazily, on its next use, so every scrape reads its state afresh."""
    metrics.set_breaker_state(name, breaker.state)
    metrics.on_scrape(lambda: metrics.set_breaker_state(name, breaker.state))
    return breaker


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
