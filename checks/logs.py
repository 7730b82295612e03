"""A service's log is structured: every line a JSON object with the claimed fields, and the
request ids of the answers found in it.

The log is what the run dir keeps of the service (``logs/<service>.log``: its stdout and stderr
as written, for each boot of the run — the load's, each experiment's). Every line counts, the
boot's and the crash's included: a traceback printed raw at 3 a.m. is exactly the line a log
pipeline drops. Two allowances, both named in the verdict: blank lines, and a last line with no
newline (the process was killed mid-write by the harness' teardown — torn, not malformed).

The request ids: each part of the run is matched with its own log (the experiment's answers
with the log of the stack that answered them), and an answer's id is looked up among the values
of the claimed field. With ``logged = "errors"`` only the answers with status 500 and up are
looked up — a service that logs successes at debug level still owes its failures a line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gauntlet.checks.answers import Part, answers, carries
from gauntlet.checks.verdict import Verdict
from gauntlet.checks.windows import Scope, header
from gauntlet.contract import LogsClaim

MIN_ANSWERS = 20  # fewer answers to look up say nothing about "every"
EXAMPLES = 3
SHOWN_CHARS = 100


@dataclass(frozen=True)
class LogSource:
    """One part of the run and the service's log there (None: the part kept no such log)."""

    part: Part
    path: Path | None


@dataclass
class LogScan:
    """What one read of the logs found: lines judged, the bad ones (up to :data:`EXAMPLES`
    shown), torn last lines, and the request ids each part's log carries."""

    lines: int = 0
    bad: int = 0
    torn: int = 0
    examples: list[str] = field(default_factory=list)
    ids: dict[str, set[str]] = field(default_factory=dict)


def _lines(path: Path) -> Iterator[tuple[int, str, bool]]:
    """(number, text, complete) for each line; complete is False for a last line with no
    newline."""
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, 1):
            complete = raw.endswith(b"\n")
            yield number, raw.decode("utf-8", errors="replace").rstrip("\r\n"), complete


def _lookup(entry: dict[str, object], dotted: str) -> object | None:
    value: object = entry
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def scan(claim: LogsClaim, sources: Sequence[LogSource]) -> LogScan:
    """Read every log once: judge each line's shape, collect each part's request ids."""
    out = LogScan()
    for source in sources:
        if source.path is None:
            continue
        ids = out.ids.setdefault(source.part.where, set())
        for number, text, complete in _lines(source.path):
            if not text.strip():
                continue
            try:
                entry = json.loads(text)
            except ValueError:
                entry = None
            if not isinstance(entry, dict):
                if not complete:
                    out.torn += 1
                    continue
                problem = "not a JSON object"
            else:
                missing = [f for f in claim.fields if _lookup(entry, f) is None]
                problem = f"no {', '.join(missing)}" if missing else ""
                if claim.request_id is not None:
                    value = _lookup(entry, claim.request_id)
                    if isinstance(value, str | int) and not isinstance(value, bool):
                        ids.add(str(value))
            out.lines += 1
            if problem:
                out.bad += 1
                if len(out.examples) < EXAMPLES:
                    where = f"{source.part.where}/" if source.part.where else ""
                    shown = text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"
                    out.examples.append(f"{where}{source.path.name}:{number} ({problem}): "
                                        f"{shown!r}")
    return out


def log_verdicts(claim: LogsClaim, sources: Sequence[LogSource], service: str | None = None
                 ) -> list[Verdict]:
    """The shape of every line, then (with ``request_id``) the answers' ids in the log.
    ``service``: the name the claim's service resolved to (the main one by default)."""
    scope = Scope("logs", "logs", claim.name)
    name = claim.service or service or "the service"
    have = [s for s in sources if s.path is not None]
    shape = "every log line is JSON" + (f" with {', '.join(claim.fields)}" if claim.fields
                                        else "")
    evidence = f"the log {name} wrote during the run"
    if not have:
        lacked = (f"the run kept no log of {name} (an external stack's logs are not the "
                  "harness' to read)")
        out = [scope.verdict(shape, "inconclusive", lacked, evidence=evidence)]
        if claim.request_id is not None:
            out.append(scope.verdict(_ids_name(claim), "inconclusive", lacked,
                                     evidence=evidence))
        return out
    found = scan(claim, have)
    torn = f"; {found.torn} torn last line{'s' if found.torn != 1 else ''} left out" \
        if found.torn else ""
    files = f"{len(have)} log{'s' if len(have) != 1 else ''}"
    carrying = f" carrying {', '.join(claim.fields)}" if claim.fields else ""
    if not found.lines:
        verdict = scope.verdict(shape, "inconclusive", f"{name} wrote no line in {files}{torn}",
                                evidence=evidence)
    elif found.bad:
        verdict = scope.judge(shape, False, f"{found.bad:,} of {found.lines:,} lines in {files} "
                              f"are not JSON objects{carrying}: {'; '.join(found.examples)}"
                              f"{torn}", found.bad, 0, "lines", evidence=evidence)
    else:
        verdict = scope.judge(shape, True, f"all {found.lines:,} lines in {files} are JSON "
                              f"objects{carrying}{torn}", 0, 0, "lines", evidence=evidence)
    out = [verdict]
    if claim.request_id is not None:
        out.append(_ids_verdict(claim, scope, have, found))
    return out


def _ids_name(claim: LogsClaim) -> str:
    which = "every answer's" if claim.logged == "every" else "every error answer's"
    return f"{which} {claim.header} is in the log"


def _ids_verdict(claim: LogsClaim, scope: Scope, sources: Sequence[LogSource],
                 found: LogScan) -> Verdict:
    what = _ids_name(claim)
    column = f"header:{claim.header}"
    evidence = (f"answers {'with status 500 and up ' if claim.logged == 'errors' else ''}"
                f"that carried {claim.header}, and the log of the stack that gave them")
    looked = missing = 0
    examples: list[str] = []
    for source in sources:
        if column not in source.part.columns:
            continue
        rows = answers(source.part.samples)
        if claim.logged == "errors":
            rows = rows[rows["status"].to_numpy() >= 500]
        values = header(rows, claim.header)
        values = values[carries(values, None)].astype(str).str.strip()
        ids = found.ids.get(source.part.where, set())
        absent = values[~values.isin(ids)]
        looked += len(values)
        missing += len(absent)
        for value in absent.head(EXAMPLES - len(examples)):
            examples.append(f"{value} ({source.part.label()})")
    field_name = claim.request_id
    if looked < MIN_ANSWERS:
        which = "error answers (status 500 and up)" if claim.logged == "errors" else "answers"
        return scope.verdict(what, "inconclusive",
                             f"{looked} {which} carried {claim.header} to look up in the log "
                             f"(at least {MIN_ANSWERS} needed)", evidence=evidence)
    if missing:
        return scope.judge(what, False,
                           f"{missing:,} of {looked:,} answers' {claim.header} are not any "
                           f"line's {field_name}: {', '.join(examples)}", missing, 0,
                           "answers", evidence=evidence)
    return scope.judge(what, True, f"each of {looked:,} answers' {claim.header} is a line's "
                       f"{field_name}", 0, 0, "answers", evidence=evidence)

