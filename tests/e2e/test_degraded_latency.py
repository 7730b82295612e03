"""A dependency slowed past a latency threshold, on both reference services: the detailed health
reports it degraded above the claimed threshold and healthy below, and each broken build fails
the verdict for what it gets wrong — a threshold drifted from the claim (configuration that no
longer says what the SLO does), a status page that reports without measuring.

The contracts extend the services' own with the claim (LangSense's "DB response < 100 ms,
reported degraded above", at a threshold a loopback stack can steer on either side of) and the
service's threshold set from the claimed number.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.experiments import NODE, ROOT, explain, needs_node, run

COMPONENTS = ROOT / "contracts" / "components.toml"

PYTHON = """
[services.api.env]
HEALTH_DEGRADED_MS = "{{health.postgres.detailed.degraded_above_ms}}"

[[claims.health]]
name = "postgres"

[claims.health.detailed]
path = "/health/detailed"
max_ms = 500
dependency_status = "checks.database.status"
dependency_latency = "checks.database.latency_ms"
degraded_above_ms = 150

[variants]
threshold_drift = {{ HEALTH_DEGRADED_MS = "1000" }}
"""
NODE_CLAIM = """
[services.api.env]
HEALTH_DEGRADED_MS = "{{health.postgres.detailed.degraded_above_ms}}"

[[claims.health]]
name = "postgres"

[claims.health.detailed]
path = "/health/detailed"
max_ms = 500
dependency_status = "checks.{{link}}.status"
dependency_latency = "checks.{{link}}.latencyMs"
degraded_above_ms = 150

[variants]
threshold_drift = {{ HEALTH_DEGRADED_MS = "1000" }}
"""

ABOVE = "shows postgres degraded above 150 ms [postgres]"
BELOW = "shows postgres healthy below 150 ms [postgres]"
REPORTS = "reports postgres's latency [postgres]"


def contract(tmp_path: Path, base: Path, claims: str) -> Path:
    path = tmp_path / "contract.toml"
    path.write_text(f'extends = "{base}"\nname = "degraded"\n' + claims.format())
    return path


# about a minute each: the good build and the drifted threshold run in the test command, the
# rest with the slow tests (GAUNTLET_SLOW=1)
@pytest.mark.parametrize(("variants", "must_fail"), [
    ([], []),
    (["threshold_drift"], [ABOVE]),
    pytest.param(["health_detailed_static"], [REPORTS], marks=pytest.mark.slow),
], ids=["good", "threshold_drift", "health_detailed_static"])
def test_the_reference_service_reports_a_slow_database_degraded(
        tmp_path: Path, variants: list[str], must_fail: list[str]) -> None:
    verdicts = run(tmp_path, "dependency_latency", "postgres", variants=variants,
                   contract=contract(tmp_path, COMPONENTS, PYTHON))
    assert {ABOVE, BELOW, REPORTS} <= set(verdicts), explain(verdicts)
    if not must_fail:
        assert all(v.passed for v in verdicts.values()), explain(verdicts)
    for name in must_fail:
        assert verdicts[name].failed, explain(verdicts)


@needs_node
@pytest.mark.slow
@pytest.mark.parametrize(("variants", "must_fail"), [([], []), (["threshold_drift"], [ABOVE])],
                         ids=["good", "threshold_drift"])
def test_the_node_service_reports_a_slow_database_degraded(
        tmp_path: Path, variants: list[str], must_fail: list[str]) -> None:
    verdicts = run(tmp_path, "dependency_latency", "postgres", variants=variants,
                   contract=contract(tmp_path, NODE, NODE_CLAIM))
    assert {ABOVE, BELOW, REPORTS} <= set(verdicts), explain(verdicts)
    if not must_fail:
        assert all(v.passed for v in verdicts.values()), explain(verdicts)
    for name in must_fail:
        assert verdicts[name].failed, explain(verdicts)
