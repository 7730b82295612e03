"""The reconnect experiment: the reference stack's chat keeps its promise through a Redis
outage and an API restart; each broken variant loses acknowledged messages; a service with no
realtime endpoint is refused before anything starts.

Each stack case boots its own stack (~30 s: the restart alone is a drain delay and a boot).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import gauntlet
from tests.e2e.experiments import ROOT, explain, passed_or_marginal, run

NAIVE = ROOT / "tests" / "services" / "naive" / "contract.toml"
SHORT = {"steady_s": 3, "fault_s": 2}
LOST = "no acknowledged message lost [chat]"


def test_reconnect_passes_on_the_reference_stack(tmp_path: Path) -> None:
    verdicts = run(tmp_path, "reconnect", "chat", params=SHORT)
    assert {"connections re-established [chat]", LOST,
            "round trip back to steady after recovery [chat]"} <= set(verdicts)
    # the round trip is a p95 of a few dozen messages: marginal on a starved host (CI saw
    # 60 ms against 57), never failed
    assert all(passed_or_marginal(v) if v.name.startswith("round trip") else v.passed
               for v in verdicts.values()), explain(verdicts)


@pytest.mark.parametrize("variant", ["realtime_no_resubscribe", "realtime_ack_before_publish"])
def test_reconnect_fails_when_acknowledged_messages_are_lost(tmp_path: Path,
                                                             variant: str) -> None:
    verdicts = run(tmp_path, "reconnect", "chat", params=SHORT, variants=[variant])
    assert LOST in verdicts, explain(verdicts)
    assert verdicts[LOST].failed and "never delivered" in verdicts[LOST].reason, \
        explain(verdicts)


def test_a_service_without_a_realtime_endpoint_is_refused(tmp_path: Path) -> None:
    # the naive service claims nothing realtime: nothing to verify, exit 2, nothing booted
    result = gauntlet("chaos", "reconnect", "--contract", str(NAIVE),
                      "--output", str(tmp_path / "runs"), timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "makes no realtime claim" in result.stdout + result.stderr
    # claiming it anyway, with no [traffic.realtime] to reach it: one line naming the key
    derived = tmp_path / "contract.toml"
    derived.write_text(f'extends = "{NAIVE}"\n[[claims.realtime]]\nname = "notes"\n'
                       'link = "notes-db"\n')
    result = gauntlet("chaos", "reconnect", "--contract", str(derived),
                      "--output", str(tmp_path / "runs"), timeout=60)
    out = (result.stdout + result.stderr).strip()
    assert result.returncode == 2, out
    assert "claims.realtime.notes: needs [traffic.realtime]" in out
    assert len([line for line in out.splitlines() if "traffic.realtime" in line]) == 1
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("*.log"))
