"""A rebuilt run that verified every claim owes the same "not verified" verdicts as the run: a
rebuild that dropped them would turn "proved nothing about that claim" into a pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import gauntlet.chaos.judging as judging
import gauntlet.chaos.planning as planning
from gauntlet.checks.verdict import Verdict
from gauntlet.config import parse_suite
from gauntlet.rebuild import rejudge_experiments

ROOT = Path(__file__).resolve().parents[2]


def test_a_rebuild_keeps_the_claims_no_experiment_verifies(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    contract = tmp_path / "contract.toml"
    contract.write_text(f'extends = "{ROOT / "stack" / "contract.toml"}"\nname = "c"\n'
                        '[[claims.stated]]\nname = "queue"\nsays = "queue < 100 pending"\n'
                        'reason = "no queue here"\n')
    suite = parse_suite({"name": "s", "contract": str(contract), "every_claim": True})
    plan = planning.plan_experiments(suite)
    entries = [{"name": p.experiment.name, "claim": p.claim, "dir": f"experiments/{i}"}
               for i, p in enumerate(plan)]
    monkeypatch.setattr(judging, "judge_dir", lambda *args: [])

    def rejudged(summary: dict[str, Any]) -> list[str]:
        verdicts = rejudge_experiments(tmp_path, suite, summary) or []
        return [v.claim for v in verdicts if v.inconclusive]

    assert "stated.queue" in rejudged({"experiments": entries, "every_claim": True})
    assert rejudged({"experiments": entries}) == []  # a run that did not verify every claim


def test_a_rebuild_changes_only_each_entrys_verdicts(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """What the run recorded of an experiment (when it started, its parameters; or nothing, in
    an older run dir) stays as it was: a rebuild must not fill in defaults such as a start at
    0.0, nor refuse an entry whose stale verdicts it no longer reads."""
    suite = parse_suite({"name": "s", "contract": str(ROOT / "stack" / "contract.toml"),
                         "experiments": [{"name": "breaker"}]})
    [planned] = planning.plan_experiments(suite)
    fresh = Verdict.judge("breaker", "opens", True, "ok", claim="breaker.upstream")
    monkeypatch.setattr(judging, "judge_dir", lambda *args: [fresh])
    entry: dict[str, Any] = {"name": "breaker", "claim": planned.claim, "dir": "experiments/1",
                             "started_at_s": 1764139000.25, "verdicts": ["stale, unreadable"]}
    rejudge_experiments(tmp_path, suite, {"experiments": [entry]})
    assert entry == {"name": "breaker", "claim": planned.claim, "dir": "experiments/1",
                     "started_at_s": 1764139000.25, "verdicts": [fresh.as_dict()]}
