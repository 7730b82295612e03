"""Dependency experiments: PostgreSQL or Redis down (health semantics and degradation), and
PostgreSQL slow (deadlines and pool exhaustion)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from chaos.experiments.base import Context, Experiment, Params, Record
from chaos.faults import Fault
from chaos.plan import FaultPlan, TimedFault
from checks.health import health_verdicts
from checks.slowdep import slowdep_verdicts
from checks.verdict import Verdict
from gauntlet.config import LoadConfig
from gauntlet.policy import Policy

FAST_DB = {
    "db_connect_timeout_s": 1.0,
    "db_acquire_timeout_s": 1.0,
    "db_command_timeout_s": 2.0,
    "retry_attempts": 2,
    "retry_initial_s": 0.1,
    "retry_max_s": 0.5,
    "cache_ttl_s": 2.0,
    "request_deadline_s": 10.0,
    "rate_limit_api": "1000000/minute",
}


class DependencyDownParams(Params):
    dependency: Literal["postgres", "redis"] = "postgres"
    users: int = 10
    steady_s: float = 4.0
    fault_s: float = 6.0
    recovery_s: float = 5.0
    ready_within_s: float = 2.0
    recover_within_s: float = 5.0
    max_error_rate: float = 0.01


class DependencyDownExperiment(Experiment):
    name = "dependency_down"
    description = "a dependency down: ready 503, live 200, writes fail fast, reads degrade"
    params_model = DependencyDownParams
    broken_variant = "readiness"
    policy: ClassVar[dict[str, Any]] = FAST_DB

    def run(self, ctx: Context) -> None:
        p: DependencyDownParams = ctx.params
        plan = FaultPlan([TimedFault(p.steady_s, p.fault_s, Fault(p.dependency, "down"))])
        load = LoadConfig(scenario="orders", users=p.users, spawn_rate=p.users,
                          duration_s=p.steady_s + p.fault_s + p.recovery_s + 2.0)
        ctx.drive(load, plan, env={"GAUNTLET_DOUBLE_SUBMIT": "0.2"})

    def judge(self, record: Record, policy: Policy, params: Any) -> list[Verdict]:
        p: DependencyDownParams = params
        return health_verdicts(record.samples, record.events, policy, dependency=p.dependency,
                               ready_within_s=p.ready_within_s,
                               recover_within_s=p.recover_within_s,
                               max_error_rate=p.max_error_rate)


class SlowDependencyParams(Params):
    users: int = 30
    latency_ms: float = 500.0
    steady_s: float = 3.0
    fault_s: float = 8.0
    recovery_s: float = 3.0


class SlowDependencyExperiment(Experiment):
    name = "slow_dependency"
    description = "PostgreSQL slow: latency shows, deadline holds, pool exhaustion answers 503"
    params_model = SlowDependencyParams
    broken_variant = "pool_timeout"
    policy: ClassVar[dict[str, Any]] = {
        **FAST_DB,
        "db_pool_max": 5,
        "db_pool_min": 5,  # all connections made before the fault: 503s are exhaustion only
        "db_acquire_timeout_s": 0.5,
        "db_command_timeout_s": 5.0,
        "request_deadline_s": 1.5,
        "retry_attempts": 1,
    }

    def run(self, ctx: Context) -> None:
        p: SlowDependencyParams = ctx.params
        fault = Fault("postgres", "latency", {"latency": p.latency_ms, "jitter": 0})
        plan = FaultPlan([TimedFault(p.steady_s, p.fault_s, fault)])
        load = LoadConfig(scenario="orders", users=p.users, spawn_rate=p.users,
                          duration_s=p.steady_s + p.fault_s + p.recovery_s + 2.0)
        ctx.drive(load, plan, env={"GAUNTLET_DOUBLE_SUBMIT": "0"})

    def judge(self, record: Record, policy: Policy, params: Any) -> list[Verdict]:
        p: SlowDependencyParams = params
        return slowdep_verdicts(record.samples, record.events, policy, latency_ms=p.latency_ms)
