"""Every experiment passes against the reference stack, and each verdict fails against the
broken variant of the mechanism it judges — a check that cannot fail is a defect.

Each case boots its own stack (the experiment's fast policy, plus the broken switch) through
the same code path as ``gauntlet chaos NAME --broken X``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chaos.experiments.base import run_experiment
from checks.verdict import Verdict
from gauntlet.config import ExperimentConfig, parse_suite


def run(tmp_path: Path, name: str, params: dict[str, Any] | None = None,
        broken: list[str] | None = None) -> dict[str, Verdict]:
    suite = parse_suite({"name": "e2e", "stack": {"broken": broken or []},
                         "experiments": [{"name": name}]})
    verdicts, _ = run_experiment(suite, ExperimentConfig(name=name, params=params or {}),
                                 tmp_path / name)
    return {v.name: v for v in verdicts}


def explain(verdicts: dict[str, Verdict]) -> str:
    return "\n".join(f"{v.status}: {v.name}: {v.reason}" for v in verdicts.values())


HEALTHY = [
    ("breaker", {}),
    ("retries", {"target": "upstream"}),
    ("retries", {"target": "postgres"}),
    ("ratelimit", {}),
    ("shutdown", {}),
    ("dependency_down", {"dependency": "postgres"}),
    ("dependency_down", {"dependency": "redis"}),
    ("slow_dependency", {}),
]


@pytest.mark.parametrize(("name", "params"), HEALTHY,
                         ids=[f"{n}-{'-'.join(map(str, p.values())) or 'default'}"
                              for n, p in HEALTHY])
def test_experiment_passes_on_the_reference_stack(tmp_path: Path, name: str,
                                                  params: dict[str, Any]) -> None:
    verdicts = run(tmp_path, name, params)
    assert verdicts and all(v.passed for v in verdicts.values()), explain(verdicts)


# (experiment, params, broken mechanism, verdicts that must FAIL)
BROKEN = [
    ("breaker", {}, "breaker", ["opens after the fault starts", "fails fast while open",
                                "probes after the open duration"]),
    ("retries", {"target": "upstream"}, "retries", ["transient fault absorbed [upstream]",
                                                    "retries visible in /metrics [upstream]"]),
    ("retries", {"target": "postgres"}, "idempotency",
     ["acknowledged writes exactly once [retries]"]),
    ("ratelimit", {"store_down": False}, "rate_limit", ["first 429 at the limit",
                                                        "Retry-After consistent with the window"]),
    ("ratelimit", {}, "limiter_fail_open", ["fails open when the store is down"]),
    ("shutdown", {}, "drain", ["readiness 503 after SIGTERM",
                               "no failed request started before SIGTERM",
                               "served during the drain delay",
                               "exits 0 within the deadline"]),
    ("dependency_down", {"dependency": "postgres"}, "readiness",
     ["ready 503 [postgres down]"]),
    ("dependency_down", {"dependency": "postgres"}, "cache_fallback",
     ["cached reads still served [postgres down]"]),
    ("dependency_down", {"dependency": "redis"}, "cache_fallback",
     ["keeps serving [redis down]"]),
    ("dependency_down", {"dependency": "postgres"}, "durable_ack",
     ["acknowledged writes exactly once [dependency_down]"]),
    ("slow_dependency", {}, "pool_timeout", ["pool exhaustion answers 503 quickly"]),
    ("slow_dependency", {"latency_ms": 2000}, "deadline", ["no request exceeds the deadline"]),
]


@pytest.mark.parametrize(("name", "params", "broken", "must_fail"), BROKEN,
                         ids=[f"{n}-{b}" for n, _, b, _ in BROKEN])
def test_verdict_fails_on_the_broken_variant(tmp_path: Path, name: str, params: dict[str, Any],
                                             broken: str, must_fail: list[str]) -> None:
    verdicts = run(tmp_path, name, params, broken=[broken])
    for verdict_name in must_fail:
        assert verdict_name in verdicts, explain(verdicts)
        verdict = verdicts[verdict_name]
        assert not verdict.passed, explain(verdicts)
        assert verdict.reason  # a reason a person can act on
