"""Number formatting shared by the HTML page, the terminal comparison and JUnit messages.

One place decides how a latency, a rate or a missing value reads, so the same figure looks the
same everywhere a person meets it. Missing values (None, NaN, wrong type) read as an en dash: a
report of a crashed run is full of them and must not fail on one.
"""

from __future__ import annotations

import math
from typing import Any

MISSING = "\N{EN DASH}"


def number(value: Any) -> float | None:
    """``value`` as a finite float, or None (bools are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def ms(value: Any) -> str:
    """Latency: three significant figures below 10 ms (sub-ms matters there), one decimal above."""
    v = number(value)
    if v is None:
        return MISSING
    if abs(v) < 10:
        return f"{v:.3g}"
    return f"{v:,.1f}"


def pct(value: Any, digits: int = 2) -> str:
    """A fraction (0.0123) as a percentage (1.23 %)."""
    v = number(value)
    return MISSING if v is None else f"{v * 100:.{digits}f} %"


def count(value: Any) -> str:
    v = number(value)
    return MISSING if v is None else f"{int(v):,}"


def rate(value: Any) -> str:
    v = number(value)
    return MISSING if v is None else f"{v:,.1f}"


def seconds(value: Any) -> str:
    v = number(value)
    return MISSING if v is None else f"{v:,.2f} s"


def quantity(value: Any, unit: str = "") -> str:
    """A verdict's observed or threshold value: numbers compactly, with their unit; text as is."""
    if value is None:
        return MISSING
    v = number(value)
    if v is None:
        return str(value)
    text = f"{v:.4g}" if abs(v) < 1e6 else f"{v:,.0f}"
    if unit == "ratio" or unit == "fraction":
        return pct(v)
    return f"{text} {unit}".strip()
