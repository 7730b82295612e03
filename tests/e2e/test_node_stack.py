"""The Node reference service (examples/node-stack, Fastify + opossum + @fastify/rate-limit +
pg + prom-client), verified through its own contract on the local backend: every experiment
passes, and the breaker, rate limit, shutdown and dependency-down verdicts each fail on the
variant of it with that mechanism switched off.

Needs its npm packages (scripts/setup.sh runs examples/node-stack/setup.sh).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.e2e.experiments import ROOT, explain, run

NODE = ROOT / "examples" / "node-stack" / "contract.toml"
pytestmark = pytest.mark.skipif(
    shutil.which("node") is None
    or not (ROOT / "examples" / "node-stack" / "node_modules").is_dir(),
    reason="node or examples/node-stack/node_modules missing (run scripts/setup.sh)")


@pytest.mark.slow  # ~3.5 min; `gauntlet verify examples/node-stack/contract.toml` is the same
@pytest.mark.parametrize("name", ["breaker", "retries", "ratelimit", "shutdown",
                                  "dependency_down", "slow_dependency"])
def test_node_stack_passes_every_experiment(tmp_path: Path, name: str) -> None:
    verdicts = run(tmp_path, name, contract=NODE)
    assert verdicts and all(v.passed for v in verdicts.values()), explain(verdicts)


# (experiment, claim, variant, verdicts that must FAIL)
NODE_BROKEN = [
    ("breaker", "summarizer", "breaker", ["opens after the fault starts [summarizer]"]),
    ("ratelimit", "api", "rate_limit", ["first 429 at the limit [api]"]),
    ("shutdown", "sigterm", "drain", ["readiness unready after the signal [sigterm]",
                                      "exits 0 within the deadline [sigterm]"]),
    ("dependency_down", "postgres", "readiness", ["unready while postgres is down [postgres]"]),
]


@pytest.mark.parametrize(("name", "claim", "variant", "must_fail"), NODE_BROKEN,
                         ids=[f"{n}-{v}" for n, _, v, _ in NODE_BROKEN])
def test_node_stack_variant_fails_its_verdict(tmp_path: Path, name: str, claim: str,
                                              variant: str, must_fail: list[str]) -> None:
    params = {"store_down": False} if name == "ratelimit" else {}
    verdicts = run(tmp_path, name, claim, params=params, variants=[variant], contract=NODE)
    for verdict_name in must_fail:
        assert verdict_name in verdicts, explain(verdicts)
        assert verdicts[verdict_name].failed, explain(verdicts)
