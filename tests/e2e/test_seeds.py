"""The seed suites: each system's claims at the numbers its write-up states.

The quick pass (in the test command) runs each seed suite's load at a short scale with the
seed's users, rates and gates as stated, and checks what the scale promises: the shape keeps its
users, the report says it was scaled, the claims table has the seed's gates. The whole suites —
every experiment at production numbers, up to 15 min each — are marked slow; their latest
claims tables are in the README (``GAUNTLET_SLOW=1 bash scripts/test.sh -k seed``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from gauntlet.boot.rabbitmq import locate_rabbitmq
from gauntlet.config import load_suite
from gauntlet.outcome import ExitCode
from tests.e2e.conftest import ROOT, gauntlet

SEEDS = ROOT / "suites" / "seeds"
PYTHON = ["lazy-foundry", "quemiai", "ragbase", "langsense", "my-saas-chat"]
NODE = ["lazy-foundry-node", "quemiai-node", "ragbase-node"]
# each quick load lasts about this long: enough requests for a p99 gate to be decidable
# (min_samples_for(0.99) = 368 successful requests) at these suites' rates
QUICK_S = 14.0
HAS_NODE = shutil.which("node") is not None and \
    (ROOT / "examples" / "node-stack" / "node_modules").is_dir()
# LangSense's notifications run on a private RabbitMQ (a managed rabbitmq link)
NEEDS_RABBITMQ = {"langsense"}


def skip_without_parts(name: str) -> None:
    """Skip, saying what to install, a seed whose stack needs a part this machine lacks."""
    if name.endswith("-node") and not HAS_NODE:
        pytest.skip("node or examples/node-stack/node_modules missing (run scripts/setup.sh)")
    if name in NEEDS_RABBITMQ and locate_rabbitmq() is None:
        pytest.skip("rabbitmq-server is not installed (scripts/setup.sh installs it)")


def run_dir_of(stdout: str) -> Path:
    line = next(x for x in stdout.splitlines() if x.startswith("run dir: "))
    return Path(line.removeprefix("run dir: ").strip())


def quick_scale(name: str) -> float:
    load = load_suite(SEEDS / f"{name}.toml").load
    assert load is not None
    return min(1.0, round(QUICK_S / load.declared_duration_s, 4))


# CI time is short: the test command runs three quick passes (lazy-foundry's staged ramp to 200
# users, My-SaaS-Chat through its nginx gateway, ragbase on the Node service with the contract's
# declared traffic); the others are slow-marked
QUICK_IN_CI = {"lazy-foundry", "my-saas-chat", "ragbase-node"}


@pytest.mark.parametrize("name", [n if n in QUICK_IN_CI else pytest.param(n, marks=pytest.mark.slow)
                                  for n in [*PYTHON, *NODE]])
def test_seed_suite_quick_scale_keeps_every_number_but_durations(tmp_path: Path,
                                                                 name: str) -> None:
    skip_without_parts(name)
    scale = quick_scale(name)
    result = gauntlet("run", str(SEEDS / f"{name}.toml"), "--scale", str(scale),
                      "--no-experiments", "--output", str(tmp_path), timeout=240)
    # on a shared machine the gates may pass, fail, or straddle their bound (a p95 whose
    # confidence interval holds the bound is inconclusive: exit 4, seen in CI at 479 ms against
    # 500); this test is about the scaling, so only a usage or infrastructure exit breaks it
    gated = (ExitCode.PASSED, ExitCode.VERDICT_FAILED, ExitCode.INCONCLUSIVE)
    assert result.returncode in gated, result.stdout[-3000:] + result.stderr[-3000:]
    run_dir = run_dir_of(result.stdout)
    summary = json.loads((run_dir / "summary.json").read_text())
    stated = load_suite(SEEDS / f"{name}.toml").load
    assert stated is not None
    load = summary["load"]
    assert load["duration_scale"] == pytest.approx(scale)
    assert load["users"] == stated.users
    assert [s["users"] for s in load["stages"] or []] == [s.users for s in stated.stages or []]
    assert summary["overall"]["count"] > 0
    # the claims table: the seed's gates, judged, and the scale written beside them
    claims = json.loads((run_dir / "claims.json").read_text())
    assert f"scaled to {scale:g}" in claims["note"]
    slo = [r for r in claims["rows"] if r["claim"] == "slo"]
    contract = json.loads((run_dir / "contract.json").read_text())
    assert any(r["verdict"].startswith("p95") for r in slo), slo
    assert f"p95_ms {contract['slo']['p95_ms']:g}" in slo[0]["stated"]
    assert "claims table:" in result.stdout


@pytest.mark.slow  # each ≤ 15 min on 2 cores: the README's claims tables
# pytest's own timeout (600 s, pyproject.toml) cut lazy-foundry-node's whole suite at 10 min,
# in its third experiment: the run's own limit below is the one that must apply
@pytest.mark.timeout(21 * 60)
@pytest.mark.parametrize("name", [*PYTHON, *NODE])
def test_seed_suite_verifies_every_claim_at_its_numbers(tmp_path: Path, name: str) -> None:
    skip_without_parts(name)
    result = gauntlet("run", str(SEEDS / f"{name}.toml"), "--output", str(tmp_path),
                      timeout=20 * 60)
    assert result.returncode in (0, 4), result.stdout[-5000:] + result.stderr[-3000:]
    claims = json.loads((run_dir_of(result.stdout) / "claims.json").read_text())
    assert claims["tally"].get("fail", 0) == 0
    # no silent gap: a claim no verdict speaks of says why
    assert all(r["reason"] for r in claims["rows"] if r["outcome"] == "not verified")
