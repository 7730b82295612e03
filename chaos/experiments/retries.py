"""Retries: short outages of the upstream or PostgreSQL under load are absorbed by retries with
backoff; no idempotent create is duplicated."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from chaos.experiments.base import Context, Experiment, Params, Record
from chaos.faults import Fault
from chaos.plan import FaultPlan, TimedFault
from checks.retry import retry_verdicts
from checks.verdict import Verdict
from gauntlet.config import LoadConfig
from gauntlet.policy import Policy

# the stack labels its retries by what it retried: the upstream, or the database
METRIC_TARGET = {"upstream": "upstream", "postgres": "database"}
ENDPOINTS = {
    "upstream": ("POST /api/generate",),
    "postgres": ("GET /api/orders", "GET /api/orders/{id}", "POST /api/orders"),
}


class RetriesParams(Params):
    target: Literal["upstream", "postgres"] = "upstream"
    users: int = 10
    steady_s: float = 3.0
    pulses: int = 3
    down_ms: float = 300.0
    every_s: float = 3.0
    recovery_s: float = 3.0
    min_success: float = 0.995


class RetriesExperiment(Experiment):
    name = "retries"
    description = "transient outages of a dependency are absorbed by retries with backoff"
    params_model = RetriesParams
    broken_variant = "retries"
    policy: ClassVar[dict[str, Any]] = {
        "retry_attempts": 3,
        "retry_initial_s": 0.2,
        "retry_max_s": 1.0,
        "upstream_timeout_s": 2.0,
        "db_connect_timeout_s": 1.0,
        "db_acquire_timeout_s": 1.0,
        "rate_limit_generate": "1000000/hour",
        "rate_limit_api": "1000000/minute",
    }

    def writes(self, params: Any) -> bool:
        return bool(params.target == "postgres")

    def run(self, ctx: Context) -> None:
        p: RetriesParams = ctx.params
        steps = [TimedFault(p.steady_s + i * p.every_s, p.down_ms / 1000.0,
                            Fault(p.target, "down")) for i in range(p.pulses)]
        plan = FaultPlan(steps)
        scenario = "generate" if p.target == "upstream" else "orders"
        load = LoadConfig(scenario=scenario, users=p.users, spawn_rate=p.users,
                          duration_s=plan.duration_s + p.recovery_s + 2.0)
        before = ctx.scrape()
        ctx.drive(load, plan, env={"GAUNTLET_DOUBLE_SUBMIT": "0.2"})
        after = ctx.scrape()
        ctx.facts["retries_delta"] = (
            _retries(after, p.target) - _retries(before, p.target)
            if before is not None and after is not None else None
        )

    def judge(self, record: Record, policy: Policy, params: Any) -> list[Verdict]:
        p: RetriesParams = params
        return retry_verdicts(record.samples, record.events, policy, target=p.target,
                              retries_delta=record.facts.get("retries_delta"),
                              min_success=p.min_success, endpoints=ENDPOINTS[p.target])


def _retries(metrics_text: str, target: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    for family in text_string_to_metric_families(metrics_text):
        if family.name == "retries":
            total += sum(s.value for s in family.samples
                         if s.name == "retries_total"
                         and s.labels.get("target") == METRIC_TARGET[target])
    return total
