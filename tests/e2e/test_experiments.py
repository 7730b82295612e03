"""Every experiment passes on the reference stack through its contract, and each verdict fails
on the broken variant of the mechanism it judges — a check that cannot fail is a defect.

Each case boots its own stack (the contract's numbers, plus the variant's switch).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gauntlet.chaos.context import SETTLE_SEEN
from gauntlet.chaos.watch import FOUND
from gauntlet.timeline import EVENTS_FILE, read_events
from tests.e2e.experiments import ROOT, explain, run

# the main job's test (tests/e2e/test_demo.py) runs these three on the same stack with the same
# claims (contracts/quick.toml extends stack/contract.toml) in the default test command: here
# they are slow-marked, not run twice
SHOWN_BY_THE_MAIN_JOB = pytest.mark.slow

# (experiment, claim instance or None for all)
HEALTHY = [
    pytest.param("breaker", None, marks=SHOWN_BY_THE_MAIN_JOB, id="breaker-all"),
    pytest.param("retries", "upstream", marks=SHOWN_BY_THE_MAIN_JOB, id="retries-upstream"),
    pytest.param("retries", "postgres", id="retries-postgres"),
    pytest.param("retry_statuses", "upstream", id="retry_statuses-upstream"),
    pytest.param("ratelimit", "api", marks=SHOWN_BY_THE_MAIN_JOB, id="ratelimit-api"),
    pytest.param("ratelimit", "login", id="ratelimit-login"),
    pytest.param("shutdown", None, id="shutdown-all"),
    pytest.param("dependency_down", "postgres", id="dependency_down-postgres"),
    pytest.param("dependency_down", "redis", id="dependency_down-redis"),
    pytest.param("slow_dependency", None, id="slow_dependency-all"),
]


# experiments that watch for their settle time (Context.await_answered) rather than wait it
SETTLE_WATCHERS = {"retries", "retry_statuses", "slow_dependency"}


@pytest.mark.parametrize(("name", "claim"), HEALTHY)
def test_experiment_passes_on_the_reference_stack(tmp_path: Path, name: str,
                                                  claim: str | None) -> None:
    verdicts = run(tmp_path, name, claim)
    assert verdicts and all(v.passed for v in verdicts.values()), explain(verdicts)
    if name in SETTLE_WATCHERS:
        # evidence by construction: the requests the fault touched were seen answered (the
        # declared load reports its open requests), not waited for as long as planned
        seen = [e for run_dir in tmp_path.iterdir() if (run_dir / EVENTS_FILE).is_file()
                for e in read_events(run_dir / EVENTS_FILE) if e.kind == FOUND
                and e.data.get("what") == SETTLE_SEEN]
        assert seen


# (experiment, claim, params, variant, verdicts that must FAIL)
BROKEN = [
    ("breaker", "upstream", {}, "breaker", ["opens after the fault starts [upstream]"]),
    ("breaker", "upstream", {}, "breaker_stuck_open",
     ["closes after the fault [upstream]", "error rate recovers [upstream]"]),
    ("retries", "upstream", {}, "retries", ["transient fault absorbed [upstream]",
                                            "retries visible in metrics [upstream]"]),
    ("retries", "upstream", {}, "retry_slow_backoff",
     ["added latency within the backoff budget [upstream]"]),
    ("retries", "postgres", {}, "idempotency", ["acknowledged writes exactly once [orders]"]),
    ("retry_statuses", "upstream", {}, "retries",
     ["retries 502 answers [upstream]", "retries 503 answers [upstream]",
      "retries 504 answers [upstream]"]),
    ("retry_statuses", "upstream", {}, "retry_every_status",
     ["never retries 400 answers [upstream]", "never retries 404 answers [upstream]"]),
    ("ratelimit", "api", {"store_down": False}, "rate_limit",
     ["first 429 at the limit [api]"]),
    ("ratelimit", "api", {"store_down": False}, "limiter_global_key",
     ["other keys unaffected [api]"]),
    ("ratelimit", "api", {"store_down": False}, "limit_exempt_paths",
     ["exempt paths never limited [api]"]),
    ("ratelimit", "api", {"store_down": False}, "limiter_no_reset",
     ["admitted again after the window [api]"]),
    ("ratelimit", "api", {}, "limiter_fail_open", ["fails open when the store is down [api]"]),
    ("shutdown", "sigterm", {}, "drain", ["readiness unready after the signal [sigterm]",
                                          "no failed request started before the signal [sigterm]",
                                          "served during the drain delay [sigterm]",
                                          "exits 0 within the deadline [sigterm]"]),
    ("dependency_down", "postgres", {}, "readiness", ["unready while postgres is down [postgres]"]),
    ("dependency_down", "postgres", {}, "liveness_checks_deps",
     ["live stays up while unready [postgres]"]),
    ("dependency_down", "postgres", {}, "readiness_latches",
     ["ready again after recovery [postgres]"]),
    ("dependency_down", "postgres", {}, "cache_fallback",
     ["GET /api/orders keep serving [postgres]"]),
    ("dependency_down", "redis", {}, "cache_fallback",
     ["GET /api/orders, POST /api/orders keep serving [redis]"]),
    ("dependency_down", "postgres", {}, "durable_ack",
     ["acknowledged writes exactly once [orders]"]),
    ("slow_dependency", "postgres", {}, "pool_timeout",
     ["pool exhaustion answers 503 quickly [postgres]"]),
    ("slow_dependency", "postgres", {}, "deadline",
     ["no request exceeds the 3 s deadline [request]"]),
]


@pytest.mark.parametrize(("name", "claim", "params", "variant", "must_fail"), BROKEN,
                         ids=[f"{n}-{c}-{v}" for n, c, _, v, _ in BROKEN])
def test_verdict_fails_on_the_broken_variant(tmp_path: Path, name: str, claim: str,
                                             params: dict[str, object], variant: str,
                                             must_fail: list[str]) -> None:
    verdicts = run(tmp_path, name, claim, params=params, variants=[variant])
    for verdict_name in must_fail:
        assert verdict_name in verdicts, explain(verdicts)
        verdict = verdicts[verdict_name]
        assert verdict.failed, explain(verdicts)
        assert verdict.reason  # a reason a person can act on


# The stack's optional parts (contracts/components.toml): a database breaker beside the upstream
# one, an upload route with a limit of its own, /health/detailed. Each passes with the part
# on and fails its verdict on the variant that breaks it.
COMPONENTS = ROOT / "contracts" / "components.toml"
COMPONENT_PARTS = [("breaker", "database"), ("ratelimit", "upload"),
                   ("dependency_down", "postgres")]


@pytest.mark.parametrize(("name", "claim"), COMPONENT_PARTS,
                         ids=[f"{n}-{c}" for n, c in COMPONENT_PARTS])
def test_optional_part_passes_on_the_reference_stack(tmp_path: Path, name: str,
                                                     claim: str) -> None:
    verdicts = run(tmp_path, name, claim, contract=COMPONENTS)
    assert verdicts and all(v.passed for v in verdicts.values()), explain(verdicts)


# (experiment, claim, variant, verdicts that must FAIL)
COMPONENT_BROKEN = [
    ("breaker", "database", "breaker_shared",
     ["other components served while open [database]"]),
    ("ratelimit", "upload", "upload_limit", ["first 429 at the limit [upload]"]),
    ("dependency_down", "postgres", "health_detailed_static",
     ["detailed health shows postgres down [postgres]"]),
]


@pytest.mark.parametrize(("name", "claim", "variant", "must_fail"), COMPONENT_BROKEN,
                         ids=[f"{n}-{c}-{v}" for n, c, v, _ in COMPONENT_BROKEN])
def test_optional_part_verdict_fails_on_its_broken_variant(tmp_path: Path, name: str,
                                                           claim: str, variant: str,
                                                           must_fail: list[str]) -> None:
    verdicts = run(tmp_path, name, claim, variants=[variant], contract=COMPONENTS)
    for verdict_name in must_fail:
        assert verdict_name in verdicts, explain(verdicts)
        assert verdicts[verdict_name].failed, explain(verdicts)
        assert verdicts[verdict_name].reason
