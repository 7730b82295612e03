"""Data integrity: every write acknowledged to the client exists afterwards exactly once.

The experiment reads the acknowledged writes' tokens back and hands the facts in:
``{"checked": bool, "acknowledged": n, "rows": {token: count} (only counts != 1),
"method": "sql" | "http", "error": str | None}``. A SQL read-back counts rows, so it finds
lost and duplicated writes; an HTTP read-back (a GET per acknowledged write) only finds lost
ones — a passing verdict says so.

A pass also needs a write the fault could have touched: one in flight while the experiment's
fault was active or while the stack was still recovering from it (the windows the experiment
gives, :meth:`~gauntlet.chaos.experiments.base.Experiment.disturbed`). Writes that all came and
went while nothing was wrong say nothing about what the fault does to them: the verdict is then
inconclusive. A lost or duplicated write fails whenever it happened — a defect is a defect.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from gauntlet.checks.verdict import Verdict
from gauntlet.checks.windows import Scope, Window, of_requests, text
from gauntlet.contract import IntegrityClaim

WHAT = "acknowledged writes exactly once"


def acknowledged_during(samples: pd.DataFrame, claim: IntegrityClaim,
                        windows: Sequence[Window]) -> int:
    """How many of the claim's acknowledged writes (an acknowledging status and a token) were
    in flight at some moment of one of ``windows``."""
    writes = of_requests(samples, claim.requests)
    acked = writes[writes["status"].isin(claim.acknowledged).to_numpy(bool)
                   & (text(writes, "token") != "").to_numpy(bool)]
    if acked.empty or not windows:
        return 0
    t0 = acked["t_start_s"].to_numpy(dtype="float64")
    t1 = t0 + acked["latency_ms"].to_numpy(dtype="float64") / 1000.0
    hit = np.zeros(len(acked), dtype=bool)
    for w in windows:
        hit |= (t0 < w.end_s) & (t1 > w.start_s)
    return int(hit.sum())


def integrity_verdict(facts: dict[str, Any] | None, claim: IntegrityClaim,
                      samples: pd.DataFrame | None = None,
                      windows: Sequence[Window] = ()) -> Verdict:
    """``samples`` and ``windows``: the run's samples and the moments its fault acted on the
    stack (each fault window and the recovery after it); a pass needs an acknowledged write in
    flight in one of them. Without samples nothing is known to have overlapped a fault."""
    scope = Scope("integrity", "integrity", claim.name)
    method = str((facts or {}).get("method") or ("sql" if claim.sql else "http"))
    evidence = (f"writes of {', '.join(claim.requests)} acknowledged with "
                f"{'/'.join(str(s) for s in claim.acknowledged)} while a fault was active or "
                f"the stack was recovering from it, read back by {method}")
    if not facts or not facts.get("checked"):
        error = (facts or {}).get("error") or "the read-back did not run"
        return scope.missing(WHAT, f"could not read the writes back ({error}): integrity "
                             "unknown", 0, "rows", evidence=evidence)
    acknowledged = int(facts.get("acknowledged", 0))
    if acknowledged == 0:
        return scope.missing(WHAT, "no write was acknowledged: nothing to read back", 0, "rows",
                             evidence=evidence)
    bad: dict[str, int] = {str(k): int(v) for k, v in (facts.get("rows") or {}).items()}
    lost = sorted(t for t, n in bad.items() if n == 0)
    duplicated = sorted(t for t, n in bad.items() if n > 1)
    if not lost and not duplicated:
        touched = acknowledged_during(samples, claim, windows) if samples is not None else 0
        if not touched:
            faults = (f"{len(windows)} fault window(s), each with the recovery after it"
                      if windows else "the run recorded no fault")
            return scope.missing(
                WHAT, f"all {acknowledged} acknowledged writes read back once, but none was "
                f"in flight while the fault was active or the stack recovering ({faults}): "
                "the fault never touched a write", 0, "rows", evidence=evidence)
        if method == "http":
            reason = (f"all {acknowledged} acknowledged writes found again over HTTP (an HTTP "
                      "read-back finds lost writes, not duplicates)")
        else:
            reason = f"all {acknowledged} acknowledged writes found exactly once"
        reason += f"; {touched} of them in flight while the fault acted"
        return scope.judge(WHAT, True, reason, 0, 0, "rows", evidence=evidence)
    parts = []
    if lost:
        parts.append(f"{len(lost)} acknowledged writes LOST (e.g. {lost[0]})")
    if duplicated:
        parts.append(f"{len(duplicated)} writes DUPLICATED (e.g. {duplicated[0]} "
                     f"x{bad[duplicated[0]]})")
    return scope.judge(WHAT, False, f"{'; '.join(parts)} of {acknowledged} acknowledged",
                       len(lost) + len(duplicated), 0, "rows", evidence=evidence)
