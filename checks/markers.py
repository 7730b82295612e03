"""Recognise a claimed answer in the samples: an open breaker's fallback, say.

A :class:`~gauntlet.contract.Marker` names up to three conditions — a status, a response header
(with a value, or merely present) and a body pattern — and an answer is *marked* when it meets
**every** condition the marker gives. "All of them" because each alone is ambiguous: a 503 is
also what a failing upstream answers, and only ``503 + X-Breaker: open`` is the open
breaker.

The capture records what the conditions need: a ``header:<lower-case name>`` column with the
header's value (``""`` when absent) and a ``marker:<name>`` column, 1 where the body matched the
pattern. A column missing from the frame reads as absent everywhere, so a marker whose evidence
was not captured marks nothing — the verdict then says the answer was never seen, which names
the problem instead of hiding it.

    is_open = marked(samples, claim.open_answer, f"marker:breaker.{claim.name}")

A claim's evidence is never an answer that another claim's marker identifies: an open
breaker's 503 is not an exhausted pool's (:func:`marked_by_any`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from gauntlet.checks.windows import header
from gauntlet.contract import Marker
from gauntlet.scenarios.columns import header_column


def marked(samples: pd.DataFrame, marker: Marker, body_column: str | None) -> pd.Series:
    """A boolean Series over ``samples``: True where the answer meets every condition.

    ``body_column`` is the ``marker:<name>`` column the capture wrote for ``marker.body``; when
    the marker has a body pattern and that column is None or absent, nothing is marked.
    """
    mask = np.ones(len(samples), dtype=bool)
    if marker.status is not None:
        mask &= samples["status"].to_numpy() == marker.status
    if marker.header is not None:
        values = header(samples, marker.header).str.strip()
        hit = values == marker.value.strip() if marker.value is not None else values != ""
        mask &= hit.fillna(False).to_numpy(bool)
    if marker.body is not None:
        if body_column is None or body_column not in samples.columns:
            mask &= False
        else:
            column = pd.to_numeric(samples[body_column], errors="coerce").fillna(0)
            mask &= column.to_numpy() == 1
    return pd.Series(mask, index=samples.index, dtype=bool)


def row_marked(status: int, columns: Mapping[str, str], marker: Marker,
               body_column: str | None) -> bool:
    """:func:`marked` for one answer as a live watcher reads it: its status and its captured
    ``header:``/``marker:`` columns (raw text). One rule with the verdicts', so a watcher
    waiting for a breaker's open answers never counts the service's ordinary ones when the
    open answer is a 201 with a header (a fallback that still writes the order)."""
    if marker.status is not None and status != marker.status:
        return False
    if marker.header is not None:
        value = columns.get(header_column(marker.header), "").strip()
        if not (value == marker.value.strip() if marker.value is not None else value != ""):
            return False
    if marker.body is not None:
        flag = columns.get(body_column, "") if body_column is not None else ""
        try:
            return float(flag or 0) == 1
        except ValueError:
            return False
    return True


def body_column(claim: str) -> str:
    """The capture's column for the body pattern of ``claim``'s marker (``breaker.upstream``)."""
    return f"marker:{claim}"


def marked_by_any(samples: pd.DataFrame, markers: Mapping[str, Marker]) -> pd.Series:
    """True where the answer meets every condition of at least one of ``markers`` (claim →
    marker, as :meth:`~gauntlet.contract.Contract.answer_markers` gives them)."""
    mask = pd.Series(False, index=samples.index, dtype=bool)
    for claim, marker in markers.items():
        mask |= marked(samples, marker, body_column(claim))
    return mask


def identifying(markers: Mapping[str, Marker]) -> dict[str, Marker]:
    """The markers that identify an answer: those with a header or a body. A bare status (a
    pool that declares no ``exhausted_answer``) is also what a failing dependency or a service
    refusing requests in its drain answers, so it names nothing."""
    return {claim: marker for claim, marker in markers.items()
            if marker.header is not None or marker.body is not None}


def describe(marker: Marker) -> str:
    """``"503 + X-Breaker: open"``: the marker in the words of a reason."""
    parts: list[str] = []
    if marker.status is not None:
        parts.append(str(marker.status))
    if marker.header is not None:
        parts.append(f"{marker.header}: {marker.value}" if marker.value is not None
                     else f"a {marker.header} header")
    if marker.body is not None:
        parts.append(f"body /{marker.body}/")
    return " + ".join(parts)
