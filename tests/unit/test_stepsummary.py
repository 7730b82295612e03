"""A run's claims table on a GitHub Actions job page: appended to ``$GITHUB_STEP_SUMMARY``
(never overwriting what earlier steps wrote), its status when it has no table, nothing when the
variable is unset."""

from __future__ import annotations

import json
from pathlib import Path

from gauntlet.stepsummary import append_step_summary, step_summary_text

TABLE = ("### lazy-foundry\n\n| claim | stated | verdict | measured | outcome | what was seen |\n"
         "|---|---|---|---|---|---|\n| breaker.upstream | open_s 5 | opens | 3.6 s | pass | ok |\n")


def test_the_claims_table_is_appended_after_what_was_there(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "claims.md").write_text(TABLE)
    summary = tmp_path / "step-summary.md"
    summary.write_text("## an earlier step\n")
    env = {"GITHUB_STEP_SUMMARY": str(summary)}
    assert append_step_summary(run_dir, env) == summary
    assert append_step_summary(run_dir, env) == summary  # verify runs once per claim set
    assert summary.read_text() == "## an earlier step\n" + (TABLE + "\n") * 2


def test_unset_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "claims.md").write_text(TABLE)
    assert append_step_summary(tmp_path, {}) is None
    assert append_step_summary(tmp_path, {"GITHUB_STEP_SUMMARY": ""}) is None


def test_a_run_without_a_table_says_its_status_and_error(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text(json.dumps({
        "suite": "default", "status": "error",
        "error": "toxiproxy-server not found (hint: gauntlet install toxiproxy)\nmore"}))
    text = step_summary_text(tmp_path)
    assert text.startswith("### gauntlet: default\n")
    assert "**error**: no claims table (no verdict)." in text
    assert "error: `toxiproxy-server not found (hint: gauntlet install toxiproxy)`" in text
    assert "more" not in text
