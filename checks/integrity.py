"""Data integrity: every create acknowledged to the client exists afterwards exactly once."""

from __future__ import annotations

from typing import Any

from checks.verdict import Verdict


def integrity_verdict(facts: dict[str, Any] | None, scope: str) -> Verdict:
    """``facts``: ``{"acknowledged": n, "rows": {token: count != 1}, "checked": bool}``."""
    name = f"acknowledged writes exactly once [{scope}]"
    if not facts or not facts.get("checked"):
        return Verdict("integrity", name, False,
                       "could not read PostgreSQL back (no database_url): integrity unknown")
    acknowledged = int(facts.get("acknowledged", 0))
    bad: dict[str, int] = {str(k): int(v) for k, v in facts.get("rows", {}).items()}
    lost = sorted(t for t, n in bad.items() if n == 0)
    duplicated = sorted(t for t, n in bad.items() if n > 1)
    if acknowledged == 0:
        return Verdict("integrity", name, False, "no create was acknowledged: nothing was tested",
                       0, ">= 1")
    if not lost and not duplicated:
        return Verdict("integrity", name, True,
                       f"all {acknowledged} acknowledged creates found exactly once",
                       0, 0, "rows")
    parts = []
    if lost:
        parts.append(f"{len(lost)} acknowledged creates LOST (e.g. {lost[0]})")
    if duplicated:
        parts.append(f"{len(duplicated)} creates DUPLICATED (e.g. {duplicated[0]} "
                     f"x{bad[duplicated[0]]})")
    reason = f"{'; '.join(parts)} of {acknowledged} acknowledged"
    return Verdict("integrity", name, False, reason, len(lost) + len(duplicated), 0, "rows")
