"""Data integrity: every write acknowledged to the client exists afterwards exactly once.

The experiment reads the acknowledged writes' tokens back and hands the facts in:
``{"checked": bool, "acknowledged": n, "rows": {token: count} (only counts != 1),
"method": "sql" | "http", "error": str | None}``. A SQL read-back counts rows, so it finds
lost and duplicated writes; an HTTP read-back (a GET per acknowledged write) only finds lost
ones — a passing verdict says so.
"""

from __future__ import annotations

from typing import Any

from gauntlet.checks.verdict import Verdict
from gauntlet.checks.windows import Scope
from gauntlet.contract import IntegrityClaim

WHAT = "acknowledged writes exactly once"


def integrity_verdict(facts: dict[str, Any] | None, claim: IntegrityClaim) -> Verdict:
    scope = Scope("integrity", "integrity", claim.name)
    method = str((facts or {}).get("method") or ("sql" if claim.sql else "http"))
    evidence = (f"writes of {', '.join(claim.requests)} acknowledged with "
                f"{'/'.join(str(s) for s in claim.acknowledged)}, read back by {method}")
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
        if method == "http":
            reason = (f"all {acknowledged} acknowledged writes found again over HTTP (an HTTP "
                      "read-back finds lost writes, not duplicates)")
        else:
            reason = f"all {acknowledged} acknowledged writes found exactly once"
        return scope.judge(WHAT, True, reason, 0, 0, "rows", evidence=evidence)
    parts = []
    if lost:
        parts.append(f"{len(lost)} acknowledged writes LOST (e.g. {lost[0]})")
    if duplicated:
        parts.append(f"{len(duplicated)} writes DUPLICATED (e.g. {duplicated[0]} "
                     f"x{bad[duplicated[0]]})")
    return scope.judge(WHAT, False, f"{'; '.join(parts)} of {acknowledged} acknowledged",
                       len(lost) + len(duplicated), 0, "rows", evidence=evidence)
