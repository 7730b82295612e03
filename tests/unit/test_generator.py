"""Generator health: saturated, reliable, or unknown — and unknown is never reliable.

A generator whose CPU was never sampled, or whose worker report (``generator-*.json``) is missing
or unreadable, proved nothing about itself: its run's passes cannot stand on it.
"""

from __future__ import annotations

import json
from pathlib import Path

from gauntlet.config import LoadConfig
from gauntlet.generator import GeneratorHealth, assess, generator_reports
from gauntlet.scenarios.runner import LoadRun

OPEN = {"model": "open", "slots_claimed": 100, "slots_expected": 100.0, "slots_unsent": 0.0}


def test_healthy_generator_is_reliable() -> None:
    health = assess([20.0] * 10, 1, 0, 0.0, 1000, True)
    assert health.state == "reliable" and health.reliable and health.distrust() is None


def test_no_cpu_sample_is_unknown_not_reliable() -> None:
    """No tick of the CPU monitor (mean of nothing) used to read as 0 % CPU: reliable."""
    health = assess([], 0, 0, 0.0, 1000, False)
    assert health.state == "unknown" and not health.reliable
    assert health.distrust() == ("its health is unknown: no CPU sample of the Locust "
                                 "processes was taken")
    assert health.as_dict()["reliable"] is False and health.as_dict()["state"] == "unknown"


def test_an_unreadable_report_makes_unsent_unknown() -> None:
    """An unreadable ``generator-*.json`` used to be skipped: its worker's unsent slots read
    as 0 and the open-model generator as reliable."""
    reports = generator_reports([OPEN], ["generator-2.json unreadable (JSONDecodeError)"],
                                expected=2)
    assert reports.unsent is None
    health = assess([20.0] * 10, 3, 0, reports.unsent, 1000, True,
                    unreported=reports.unreported)
    assert health.state == "unknown"
    reason = health.distrust() or ""
    assert "generator-2.json unreadable" in reason
    assert "how many scheduled requests were never sent is not known" in reason


def test_a_missing_report_is_named() -> None:
    reports = generator_reports([OPEN], [], expected=3)
    assert reports.unsent is None
    assert reports.unreported == ["2 of 3 Locust worker(s) wrote no generator report "
                                  "(generator-*.json)"]
    full = generator_reports([OPEN, {**OPEN, "slots_unsent": 4.0}], [], expected=2)
    assert full.unsent == 4.0 and full.unreported == []


def test_a_remote_worker_without_cpu_is_unknown() -> None:
    reports = generator_reports([{**OPEN, "remote": True}, {**OPEN, "remote": True,
                                                            "cpu_percent": 30.0}], [],
                                expected=2)
    assert reports.remote_cpu == [None, 30.0]
    health = assess([20.0] * 10, 1, 0, reports.unsent, 1000, True,
                    remote_cpu=reports.remote_cpu)
    assert health.state == "unknown" and "1 remote worker(s) reported no CPU" in \
        (health.distrust() or "")


def test_saturation_outranks_unknown() -> None:
    health = assess([99.0] * 10, 1, 0, None, 1000, True)
    assert health.state == "saturated"
    assert (health.distrust() or "").startswith("it was saturated: a Locust process averaged")


def test_a_summary_without_health_is_unknown() -> None:
    assert GeneratorHealth.from_record(None).state == "unknown"
    assert GeneratorHealth.from_record({}).state == "unknown"
    recorded = assess([20.0] * 10, 1, 0, 0.0, 10, False).as_dict()
    assert GeneratorHealth.from_record(recorded).reliable
    # a summary from before "unknown" existed: its reliable flag is kept
    old = {"max_cpu_percent": 20.0, "reasons": [], "reliable": False}
    assert GeneratorHealth.from_record(old).state == "unknown"


def test_load_run_reports_an_unreadable_generator_file(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "generator-1.json").write_text(json.dumps(OPEN))
    (raw / "generator-2.json").write_text('{"model": "op')  # torn by a killed worker
    load = LoadConfig(scenario="declared", model="open", rate=10, duration_s=1, workers=2)
    result = LoadRun(load, "http://127.0.0.1:9", tmp_path).finish()
    assert result.generator == [OPEN]
    assert result.unreadable == ["generator-2.json unreadable (JSONDecodeError)"]


def test_one_late_request_of_a_short_run_is_no_saturation() -> None:
    # 1 of 95 is over 1 %: a short realtime run was distrusted for one scheduler hiccup
    assert assess([20.0] * 10, 1, 1, 0.0, 95, True).reliable
    assert not assess([20.0] * 10, 1, 4, 0.0, 95, True).reliable
    assert not assess([20.0] * 10, 1, 40, 0.0, 1000, True).reliable
