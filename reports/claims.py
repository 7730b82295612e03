"""The claims table: every claim of the contract, the verdicts that judged it, what was measured.

A team verifying a release asks "which of our claims held, at our numbers?" — not "which checks
ran". So the table is keyed by the *claim* (``breaker.upstream``, ``rate_limit.login``,
``slo``): the numbers the contract states for it, then one row per verdict on it, with the
measured value and the outcome. A claim no verdict speaks of still gets a row, marked
``not verified`` with the reason, so a table never has a silent gap.

It reads only the run dir (``contract.json`` for the stated numbers, ``summary.json`` for the
verdicts, the duration scale and the command), so ``gauntlet report`` rewrites it too.

    rows = claim_rows(read_statements(run_dir) or [], verdicts)
    (run_dir / "claims.md").write_text(render_markdown(rows, heading="lazy-foundry"))
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gauntlet.checks.verdict import Verdict
from gauntlet.contract import Claim, kind_of
from gauntlet.contract.claim import stated_numbers
from gauntlet.rundir import (
    SUMMARY_FILE,
    ExperimentResult,
    RunSummary,
    read_summary,
    write_json,
)

CLAIMS_MD = "claims.md"
CLAIMS_JSON = "claims.json"
CONTRACT_JSON = "contract.json"
NOT_VERIFIED = "not verified"
NOT_RUN = "not run"  # a claim whose experiment the run planned and stopped before

_SLO_KEYS = ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms", "error_rate",
             "min_rps")


@dataclass(frozen=True)
class ClaimRow:
    """One line of the table: a claim, one verdict on it (or none), and what was measured."""

    claim: str
    stated: str
    verdict: str
    measured: str
    outcome: str
    reason: str


@dataclass(frozen=True)
class Statement:
    """A claim as the run's contract states it: its id (``breaker.upstream``, or ``slo``), the
    numbers it states (or its own words), and why it cannot be verified when the contract says
    so itself."""

    claim: str
    stated: str
    unverifiable: str | None = None


def statements(contract: Mapping[str, Any] | None) -> list[Statement]:
    """Every claim instance of a contract document (``contract.json``), in its order, then its
    SLOs. Tolerant: a run dir's contract may be from an older gauntlet or cut short, so an
    instance its kind's model refuses still gets a row, with the numbers it holds."""
    claims = (contract or {}).get("claims") or {}
    out: list[Statement] = []
    for kind, instances in claims.items() if isinstance(claims, Mapping) else ():
        registered = kind_of(kind)
        wiring = registered.model.wiring_fields() if registered else frozenset({"name"})
        for instance in instances or []:
            if not isinstance(instance, Mapping):
                continue
            key = f"{kind}.{instance.get('name', '?')}"
            claim = _valid(registered.model, instance) if registered else None
            told = claim.statement() if claim is not None else None
            why = claim.unverifiable() if claim is not None else None
            out.append(Statement(key, told if told is not None else
                                 stated_numbers(instance, wiring), why))
    slo = (contract or {}).get("slo") or {}
    out.append(Statement("slo", ", ".join(f"{k} {slo[k]:g}" for k in _SLO_KEYS
                                          if isinstance(slo.get(k), (int, float)))))
    return out


def _valid(model: type[Claim], instance: Mapping[str, Any]) -> Claim | None:
    try:
        return model.model_validate(instance)
    except ValidationError:
        return None


def _number(value: float | str, unit: str) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if unit == "ratio":
            return f"{value * 100:.4g} %"
        text = f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
        return f"{text} {unit}".rstrip()
    return f"{value} {unit}".rstrip()


def _measured(verdict: Verdict) -> str:
    """The measured value against its bound (``3.6 s (bound 12 s)``); the verdict's reason
    says in words what was counted."""
    if verdict.observed is None:
        return "—"
    text = _number(verdict.observed, verdict.unit)
    if verdict.threshold is not None:
        text += f" (bound {_number(verdict.threshold, verdict.unit)})"
    return text


def _short_name(verdict: Verdict) -> str:
    """The verdict's name without the claim instance it repeats (``opens [upstream]``)."""
    name = verdict.name
    instance = verdict.claim.split(".", 1)[-1] if verdict.claim else ""
    suffix = f" [{instance}]"
    return name[: -len(suffix)] if instance and name.endswith(suffix) else name


def _outcome(verdict: Verdict) -> str:
    if verdict.inconclusive and verdict.reason.startswith(NOT_VERIFIED):
        return NOT_VERIFIED
    if verdict.inconclusive and verdict.reason.startswith(f"{NOT_RUN}:"):
        return NOT_RUN
    if verdict.marginal:
        return "inconclusive (marginal)"
    return verdict.status


def claim_rows(stated: list[Statement], verdicts: list[Verdict]) -> list[ClaimRow]:
    """Rows in the contract's order of claims (:func:`statements`); verdicts on no declared
    claim (a suite's own gates, a claim since removed) follow, so nothing judged is left out
    either."""
    by_claim: dict[str, list[Verdict]] = {}
    for verdict in verdicts:
        key = verdict.claim or ("slo" if verdict.check == "slo" else verdict.check)
        by_claim.setdefault(key, []).append(verdict)
    rows: list[ClaimRow] = []
    seen: set[str] = set()

    def add(key: str, stated: str, why: str = "") -> None:
        seen.add(key)
        judged = by_claim.get(key, [])
        if not judged:
            rows.append(ClaimRow(key, stated, "—", "—", NOT_VERIFIED,
                                 why or "no verdict of this run speaks of it (no experiment "
                                        "for it was planned)"))
            return
        for verdict in judged:
            rows.append(ClaimRow(key, stated, _short_name(verdict), _measured(verdict),
                                 _outcome(verdict), verdict.reason))

    for statement in stated:
        if statement.claim == "slo" and not statement.stated and "slo" not in by_claim:
            continue  # no SLO claimed and none judged: no row
        why = f"not verified: {statement.unverifiable}" if statement.unverifiable is not None \
            else ""
        add(statement.claim, statement.stated, why)
    if "slo" in by_claim and "slo" not in seen:
        add("slo", "")
    for key in by_claim:
        if key not in seen:
            add(key, "")
    return rows


def attributed(verdicts: list[Verdict], summary: RunSummary) -> list[Verdict]:
    """Verdicts of an experiment that name no claim (its steady phases, its precondition) given
    the claim the experiment verified, read from the summary's experiment entries: a steady
    phase belongs with the breaker it came before, not in a group of its own."""
    owner: dict[tuple[str, str, str], str] = {}
    for entry in summary.get("experiments") or []:
        try:
            found = ExperimentResult.from_dict(entry).verdicts
        except (KeyError, TypeError, ValueError, AttributeError):
            continue  # a damaged entry attributes nothing; the table is still written
        group = next((v.claim for v in found if v.claim), "")
        for v in found:
            if group and not v.claim:
                owner[(v.check, v.name, v.reason)] = group
    return [v.with_claim(owner[(v.check, v.name, v.reason)])
            if not v.claim and (v.check, v.name, v.reason) in owner else v for v in verdicts]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(rows: list[ClaimRow], *, heading: str = "", note: str = "") -> str:
    """A GitHub-flavoured Markdown table (what the README shows)."""
    lines = [f"### {heading}", ""] if heading else []
    if note:
        lines += [note, ""]
    lines += ["| claim | stated | verdict | measured | outcome | what was seen |",
              "|---|---|---|---|---|---|"]
    last = ""
    for row in rows:
        same = row.claim == last
        last = row.claim
        lines.append("| " + " | ".join(_cell(c) for c in (
            "" if same else row.claim, "" if same else row.stated, row.verdict, row.measured,
            row.outcome, row.reason)) + " |")
    return "\n".join(lines) + "\n"


def tally(rows: list[ClaimRow]) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in rows:
        key = row.outcome if row.outcome in (NOT_VERIFIED, NOT_RUN) else \
            row.outcome.split(" ")[0]
        out[key] = out.get(key, 0) + 1
    return out


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def run_note(summary: RunSummary) -> str:
    """The line under the heading: the command, the scale of durations, the wall time."""
    parts: list[str] = []
    if summary.get("command"):
        parts.append(f"`{summary['command']}`")
    scale = (summary.get("load") or {}).get("duration_scale")
    if isinstance(scale, (int, float)) and scale != 1:
        parts.append(f"load durations scaled to {scale:g} of the stated ones "
                     "(every other number as stated)")
    started, finished = summary.get("started_at_s"), summary.get("finished_at_s")
    if isinstance(started, (int, float)) and isinstance(finished, (int, float)):
        parts.append(f"wall time {(finished - started) / 60:.1f} min")
    if summary.get("run_id"):
        parts.append(f"run {summary['run_id']}")
    return " · ".join(parts)


def read_statements(run_dir: Path) -> list[Statement] | None:
    """The claims of the contract the run kept (``contract.json``), or None when it kept none."""
    contract = _read_json(run_dir / CONTRACT_JSON)
    return statements(contract) if isinstance(contract, dict) else None


def write_claims_table(run_dir: Path) -> Path | None:
    """Write ``claims.md`` and ``claims.json`` into a run dir; None when it has no verdicts."""
    if not isinstance(_read_json(run_dir / SUMMARY_FILE), dict):
        return None
    summary = read_summary(run_dir)
    verdicts = [Verdict.from_dict(v) for v in summary.get("verdicts") or []
                if isinstance(v, dict)]
    if not verdicts:
        return None
    stated = read_statements(run_dir) or statements(None)
    rows = claim_rows(stated, attributed(verdicts, summary))
    heading = str(summary.get("contract") or summary.get("suite") or run_dir.name)
    path = run_dir / CLAIMS_MD
    path.write_text(render_markdown(rows, heading=heading, note=run_note(summary)),
                    encoding="utf-8")
    write_json(run_dir / CLAIMS_JSON, {"contract": heading, "note": run_note(summary),
                                       "tally": tally(rows),
                                       "rows": [asdict(r) for r in rows]})
    return path
