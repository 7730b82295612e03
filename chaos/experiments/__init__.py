"""The experiments gauntlet ships, by name. ``gauntlet chaos NAME`` runs one.

Each names what it proves and the broken variant of the reference stack that must fail it:

- ``breaker``: the upstream hangs; the breaker opens, fails fast, probes, closes (``breaker``).
- ``retries``: transient upstream/PostgreSQL outages are absorbed (``retries``).
- ``ratelimit``: per-key limits under concurrency, Retry-After, exemptions, fail-open
  (``rate_limit``, ``limiter_fail_open``).
- ``shutdown``: SIGTERM under load: ready 503, drain, exit 0, nothing lost (``drain``).
- ``dependency_down``: PostgreSQL/Redis down: readiness, liveness, degradation
  (``readiness``, ``cache_fallback``, ``pool_timeout``).
- ``slow_dependency``: slow PostgreSQL: the deadline holds, pool exhaustion answers 503
  (``pool_timeout``, ``deadline``).
- every experiment that writes: acknowledged writes exist exactly once (``durable_ack``,
  ``idempotency``).
"""

from __future__ import annotations

from chaos.experiments.base import Experiment
from chaos.experiments.breaker import BreakerExperiment
from chaos.experiments.dependency import DependencyDownExperiment, SlowDependencyExperiment
from chaos.experiments.ratelimit import RateLimitExperiment
from chaos.experiments.retries import RetriesExperiment
from chaos.experiments.shutdown import ShutdownExperiment
from gauntlet.errors import ConfigError

EXPERIMENTS: dict[str, type[Experiment]] = {
    cls.name: cls
    for cls in (
        BreakerExperiment,
        RetriesExperiment,
        RateLimitExperiment,
        ShutdownExperiment,
        DependencyDownExperiment,
        SlowDependencyExperiment,
    )
}

__all__ = ["EXPERIMENTS", "Experiment", "get_experiment"]


def get_experiment(name: str) -> Experiment:
    if name not in EXPERIMENTS:
        raise ConfigError(f"no experiment {name!r} (known: {', '.join(sorted(EXPERIMENTS))})")
    return EXPERIMENTS[name]()
