"""The ledger's Prometheus instruments, on a registry of its own, served at ``GET /stats``.

Names are the ledger's own (the contract names them for the verdicts):

- ``ledger_breaker_open``: 0 closed, 1 open, 0.5 half-open (pybreaker's trial state)
- ``ledger_upstream_retries_total{upstream="pricing"}``: one per retry, first tries not counted
- ``ledger_limited_total``: requests answered 429
- ``ledger_answers_total{route, code}``: every answer of the API routes
- ``ledger_pool_in_use``: connections checked out now (read when scraped)
- ``ledger_draining``: 1 from the shutdown signal on
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

BREAKER_VALUES = {"closed": 0.0, "open": 1.0, "half-open": 0.5}
CONTENT_TYPE = CONTENT_TYPE_LATEST


class Telemetry:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.breaker_open = Gauge(
            "ledger_breaker_open", "Pricing circuit: 0 closed, 1 open, 0.5 half-open",
            registry=self.registry)
        self.upstream_retries = Counter(
            "ledger_upstream_retries", "Retries of upstream calls (first tries not counted)",
            ["upstream"], registry=self.registry)
        self.upstream_retries.labels(upstream="pricing")  # shown at 0 before the first retry
        self.limited = Counter(
            "ledger_limited", "Requests refused by the per-session rate limit",
            registry=self.registry)
        self.answers = Counter(
            "ledger_answers", "Answers of the API routes", ["route", "code"],
            registry=self.registry)
        self.pool_in_use = Gauge(
            "ledger_pool_in_use", "Database connections checked out of the pool",
            registry=self.registry)
        self.draining = Gauge(
            "ledger_draining", "1 once a shutdown signal arrived", registry=self.registry)

    def breaker_state(self, state: str) -> None:
        self.breaker_open.set(BREAKER_VALUES.get(state, 1.0))

    def render(self, pool_in_use: Callable[[], int]) -> bytes:
        self.pool_in_use.set(pool_in_use())
        return generate_latest(self.registry)
