"""Build a run's report from its run dir alone: plots, index.html, junit.xml.

    from gauntlet.reports.build import build_report
    index = build_report(Path("reports/runs/20250101-120000-default"))

The run dir is the only input (nothing from the live run), so ``gauntlet report RUN_DIR``
rebuilds the same report later, and a run that crashed midway still gets a page that shows what
it left behind and says what is missing. Missing data never raises here; a report is most needed
exactly when a run went wrong.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from gauntlet.reports.claims import write_claims_table
from gauntlet.reports.html import Section, render_page
from gauntlet.reports.junit import write_junit
from gauntlet.reports.plots import write_plots
from gauntlet.reports.rundata import load_run
from gauntlet.rundir import update_summary

INDEX_FILE = "index.html"


def build_report(run_dir: Path) -> Path:
    """Write the report files into ``run_dir`` and return the path of ``index.html``."""
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    plots, notes = write_plots(run)
    sections: list[Section] = []
    for experiment in run.experiments:
        prefix = "exp-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(experiment.rel_dir).name) + "-"
        exp_plots, exp_notes = write_plots(experiment.run, out_dir=run_dir, prefix=prefix,
                                           detail=False)
        sections.append(Section(experiment, exp_plots, exp_notes))
    index = run_dir / INDEX_FILE
    tmp = index.with_suffix(".html.tmp")
    tmp.write_text(render_page(run, plots, notes, sections), encoding="utf-8")
    tmp.replace(index)
    junit = write_junit(run)
    claims = write_claims_table(run_dir)
    every_plot = plots + [p for section in sections for p in section.plots]
    files: dict[str, Any] = {"index": index.name, "junit": junit.name,
                             "plots": [p.path.name for p in every_plot]}
    if claims is not None:
        files["claims"] = claims.name
    # a ``report`` key in the summary; its schema is the runner's, so nothing else changes
    update_summary(run_dir, {"report": files})
    return index
