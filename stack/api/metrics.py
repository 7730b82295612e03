"""Prometheus metrics the harness's probes scrape from ``/metrics``.

Names and labels are a contract with gauntlet's checks (breaker, retry, rate-limit, pool and
drain verdicts read them), so they live in one place. Each app owns its registry instead of
prometheus-client's global one: a test can build several apps in one process without
"duplicated timeseries" errors.

Gauges that mirror another object's state (pool size, breaker state) are refreshed when scraped
— :meth:`Metrics.render` calls the refresh hook — so they are never stale between events.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from stack.api.breaker import CircuitState

DURATION_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """All instruments of one API instance, on a private registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.http_requests_total = Counter(
            "http_requests_total", "HTTP requests answered", ["method", "route", "status"],
            registry=r,
        )
        self.http_request_duration_seconds = Histogram(
            "http_request_duration_seconds", "Time to answer an HTTP request",
            ["method", "route"], buckets=DURATION_BUCKETS_S, registry=r,
        )
        self.breaker_state = Gauge(
            "breaker_state", "Circuit state: 0 closed, 1 open, 2 half-open", ["name"], registry=r,
        )
        self.breaker_transitions_total = Counter(
            "breaker_transitions_total", "Circuit state changes, by the state entered",
            ["name", "state"], registry=r,
        )
        self.retries_total = Counter(
            "retries_total", "Retry attempts (not counting first tries)", ["target"], registry=r,
        )
        self.rate_limit_rejections_total = Counter(
            "rate_limit_rejections_total", "Requests answered 429", ["limit"], registry=r,
        )
        self.rate_limit_store_errors_total = Counter(
            "rate_limit_store_errors_total", "Limiter store errors (request admitted: fail open)",
            registry=r,
        )
        self.db_pool_in_use = Gauge(
            "db_pool_in_use", "Database connections checked out of the pool", registry=r,
        )
        self.db_pool_size = Gauge(
            "db_pool_size", "Database connections open in the pool", registry=r,
        )
        self.inflight_requests = Gauge(
            "inflight_requests", "HTTP requests being served", registry=r,
        )
        self.fallbacks_total = Counter(
            "fallbacks_total", "Degraded answers served instead of failing", ["reason"],
            registry=r,
        )
        self.notifications_total = Counter(
            "notifications_total", "Notifications, by outcome: published (the broker confirmed "
            "it), failed, refused (the notifications breaker was open)", ["outcome"], registry=r,
        )
        self.notification_queue_depth = Gauge(
            "notification_queue_depth", "Messages ready in the notification queue, as the broker "
            "last reported them (no series while it cannot be read)", ["queue"], registry=r,
        )
        self._refresh: list[Callable[[], None]] = []

    def on_scrape(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` before every render (to copy live state into gauges)."""
        self._refresh.append(hook)

    def set_breaker_state(self, name: str, state: CircuitState) -> None:
        self.breaker_state.labels(name=name).set(state.gauge_value)

    def breaker_transition(self, name: str, state: CircuitState) -> None:
        self.set_breaker_state(name, state)
        self.breaker_transitions_total.labels(name=name, state=state.value).inc()

    def render(self) -> bytes:
        for hook in self._refresh:
            hook()
        return generate_latest(self.registry)
