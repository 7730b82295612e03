"""Reports of a run dir: index.html with plots, junit.xml, baseline comparison, nightly trend.

Everything here reads only the run dir (docs/run-dir.md), so a report can be rebuilt at any
time, also for a run that crashed midway.

    from gauntlet.reports import build_report, compare_runs, render_text, build_trend

The public names are imported lazily: ``gauntlet.reports.screenshot`` or
``gauntlet.reports.compare`` should not
pay for matplotlib unless they draw.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gauntlet.reports.build import build_report
    from gauntlet.reports.compare import Comparison, Row, compare_runs, render_text
    from gauntlet.reports.screenshot import ChromiumNotFound, screenshot
    from gauntlet.reports.trend import build_trend

__all__ = [
    "ChromiumNotFound",
    "Comparison",
    "Row",
    "build_report",
    "build_trend",
    "compare_runs",
    "render_text",
    "screenshot",
]

_HOMES = {
    "build_report": "gauntlet.reports.build",
    "Comparison": "gauntlet.reports.compare",
    "Row": "gauntlet.reports.compare",
    "compare_runs": "gauntlet.reports.compare",
    "render_text": "gauntlet.reports.compare",
    "ChromiumNotFound": "gauntlet.reports.screenshot",
    "screenshot": "gauntlet.reports.screenshot",
    "build_trend": "gauntlet.reports.trend",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'reports' has no attribute {name!r}")
