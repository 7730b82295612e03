"""A header on every answer: judged over every HTTP answer the run recorded.

What counts as an answer: a row with an HTTP method (the WebSocket and Socket.IO rows of a
realtime load are frames, not answers) and a status (0 is no answer at all: a refused or reset
connection, a client timeout). Every part of the run counts — the load, the rate limiter's
bursts, each experiment's phases — and errors most of all: a header a route sets rather than
the outermost layer is missing exactly from the limiter's 429, the crash's 500 and the
breaker's 503, which only the fault phases produce.

A part of the run whose capture did not record the header (a run dir written before the claim,
an HDR-mode load with no rows) is left out and named; with no answer recorded with the header
the verdict is inconclusive, never a pass.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gauntlet.checks.verdict import Verdict
from gauntlet.checks.windows import Scope, header
from gauntlet.contract import HeaderClaim
from gauntlet.scenarios.realtime_spec import REQUEST_TYPES
from gauntlet.timeline import Event

# fewer answers than this tell nothing about "every answer" (a run that never got going)
MIN_ANSWERS = 50
EXAMPLES = 3
NOT_ANSWERS = frozenset(REQUEST_TYPES.values())


@dataclass(frozen=True)
class Part:
    """One part of a run as the observed claims read it: where it is (``""`` for the run's own
    load, ``experiments/03-breaker-upstream`` for an experiment's), its samples, the columns
    the capture recorded (whether it recorded what a claim asks for), and its timeline."""

    where: str
    samples: pd.DataFrame
    columns: frozenset[str]
    events: tuple[Event, ...] = ()

    def label(self) -> str:
        return self.where or "the load"


def answers(samples: pd.DataFrame) -> pd.DataFrame:
    """The HTTP answers among ``samples`` (a method that is not a realtime frame, a status)."""
    if samples.empty:
        return samples
    method = samples["method"].astype(str)
    keep = (~method.isin(NOT_ANSWERS)).to_numpy(bool) & (samples["status"].to_numpy() > 0)
    return samples[keep]


def carries(values: pd.Series, pattern: str | None) -> np.ndarray:
    """True where a header value is present and, with ``pattern``, matches it whole."""
    stripped = values.astype(str).str.strip()
    present: np.ndarray = (stripped != "").to_numpy(bool)
    if pattern is None:
        return present
    compiled = re.compile(pattern)
    matched = np.fromiter((compiled.fullmatch(v) is not None for v in stripped), bool,
                          len(stripped))
    out: np.ndarray = present & matched
    return out


def header_verdict(claim: HeaderClaim, parts: Sequence[Part]) -> Verdict:
    """Every answer carries the claimed header (at least ``min_share`` of them)."""
    scope = Scope("header", "header", claim.name)
    column = f"header:{claim.header}"
    what = f"every answer carries {claim.header}" if claim.min_share >= 1 else \
        f"{claim.min_share:.1%} of answers carry {claim.header}"
    evidence = f"HTTP answers recorded with their {claim.header} header"
    judged = [p for p in parts if column in p.columns]
    skipped = [p.label() for p in parts if column not in p.columns and len(answers(p.samples))]
    frames = [answers(p.samples) for p in judged]
    population = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(
        len(f) for f in frames) else pd.DataFrame()
    left_out = (f" ({len(skipped)} part{'s' if len(skipped) != 1 else ''} of the run did not "
                f"record the header: {', '.join(skipped[:3])})") if skipped else ""
    if len(population) < MIN_ANSWERS:
        return scope.verdict(what, "inconclusive",
                             f"{len(population)} answers recorded with {claim.header} (at least "
                             f"{MIN_ANSWERS} needed){left_out}", None, claim.min_share,
                             evidence=evidence)
    ok = carries(header(population, claim.header), claim.pattern)
    lacking = population[~ok]
    share = float(ok.mean())
    statuses = population["status"].to_numpy()
    errors = int((statuses >= 400).sum())
    seen = (f"over {len(population):,} answers ({errors:,} of them 4xx/5xx"
            f"{', none an error answer' if not errors else ''})")
    shape = f" matching {claim.pattern}" if claim.pattern else ""
    if lacking.empty:
        return scope.judge(what, True, f"every one carried {claim.header}{shape}, {seen}"
                           f"{left_out}", round(share, 6), claim.min_share, evidence=evidence)
    by_status = lacking.groupby("status", observed=True).size().sort_values(ascending=False)
    counts = ", ".join(f"{int(n):,} answered {int(s)}" for s, n in by_status.items())
    by_name = lacking.groupby("name", observed=True).size().sort_values(ascending=False)
    names = ", ".join(f"{n} ({int(c):,})" for n, c in list(by_name.items())[:EXAMPLES])
    text = (f"{len(lacking):,} of {len(population):,} answers ({1 - share:.2%}) lacked "
            f"{claim.header}{shape}: {counts}; most in {names}{left_out}")
    return scope.judge(what, share >= claim.min_share, text, round(share, 6), claim.min_share,
                       evidence=evidence)
