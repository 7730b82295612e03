"""Where the run dir and its report are is printed whole on one line, however long the path and
however narrow the console: CI logs and scripts copy those lines (the main job's e2e test failed
when a 130-character pytest path was wrapped after "report:")."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from gauntlet.judge import RunOutcome
from gauntlet.printout import print_outcome


def test_the_run_dir_and_report_lines_are_never_wrapped(tmp_path: Path) -> None:
    run_dir = tmp_path / ("a-very-long-directory-name-" * 4) / "[brackets] are not markup"
    run_dir.mkdir(parents=True)
    (run_dir / "index.html").write_text("<html></html>")
    (run_dir / "claims.md").write_text("# claims")
    stdout = io.StringIO()
    out = Console(file=stdout, width=40, highlight=False)
    print_outcome(RunOutcome(run_dir, [], {"suite": "s"}), out=out,
                  console=Console(file=io.StringIO(), width=40))
    lines = stdout.getvalue().splitlines()
    assert f"run dir: {run_dir}" in lines
    assert f"report: {run_dir / 'index.html'}" in lines
    assert f"claims table: {run_dir / 'claims.md'}" in lines
