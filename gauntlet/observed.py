"""The claims judged over everything a run recorded, whatever ran: a header on every answer, a
structured log, a health path's answer time under load, a queue's depth.

No experiment verifies these (:meth:`~gauntlet.contract.claim.Claim.observed`): every request
of the run is evidence for them, the faults' error answers most of all. So the run's judge
reads the run dir's parts — the load's samples and logs at its top, each experiment's in its
own ``experiments/NN-…`` dir, each boot's logs beside the answers that boot gave — and judges
each observed claim once over all of them. Like every verdict, from the run dir alone: a
rebuild (``gauntlet report``) re-derives the same.
"""

from __future__ import annotations

from pathlib import Path

from gauntlet.checks.answers import Part, header_verdict
from gauntlet.checks.logs import LogSource, log_verdicts
from gauntlet.checks.probe import probe_verdict
from gauntlet.checks.queue import queue_verdict
from gauntlet.checks.verdict import Verdict
from gauntlet.contract import Contract, HeaderClaim, LogsClaim, ProbeClaim, QueueClaim
from gauntlet.samples import SAMPLES_FILE, load_samples, recorded_columns
from gauntlet.timeline import EVENTS_FILE, read_events

EXPERIMENTS_DIR = "experiments"


def run_parts(run_dir: Path) -> list[Path]:
    """The dirs of a run that hold what a stack did: the run's own (when it drove a load or
    kept logs), then each experiment's, in order."""
    dirs: list[Path] = []
    if (run_dir / SAMPLES_FILE).exists() or (run_dir / "raw").is_dir() or \
            any((run_dir / "logs").glob("*.log")):
        dirs.append(run_dir)
    experiments = run_dir / EXPERIMENTS_DIR
    if experiments.is_dir():
        dirs += sorted(d for d in experiments.iterdir() if d.is_dir())
    return dirs


BASE_COLUMNS = ["t_start_s", "latency_ms", "method", "name", "status"]


def _part(run_dir: Path, where: Path, wanted: list[str]) -> Part:
    columns = recorded_columns(where)
    samples = load_samples(where, columns=[*BASE_COLUMNS, *(c for c in wanted if c in columns)])
    label = "" if where == run_dir else str(where.relative_to(run_dir))
    return Part(label, samples, frozenset(columns),
                tuple(read_events(where / EVENTS_FILE)))


def observed_verdicts(contract: Contract | None, run_dir: Path) -> list[Verdict]:
    """Every observed claim of ``contract``, judged over the run dir's parts."""
    if contract is None:
        return []
    claims = [c for c in contract.claims.all() if c.observed()]
    if not claims:
        return []
    wanted = sorted({f"header:{h.lower()}" for c in claims for h in c.captured_headers()})
    dirs = run_parts(run_dir)
    parts = [_part(run_dir, d, wanted) for d in dirs]
    out: list[Verdict] = []
    for claim in claims:
        if isinstance(claim, HeaderClaim):
            out.append(header_verdict(claim, parts))
        elif isinstance(claim, ProbeClaim):
            out.append(probe_verdict(claim, parts))
        elif isinstance(claim, QueueClaim):
            out.append(queue_verdict(claim, parts))
        elif isinstance(claim, LogsClaim):
            names = claim.log_names(contract)
            sources = [LogSource(part, _log_of(d, names)) for part, d in zip(parts, dirs,
                                                                               strict=True)]
            out += log_verdicts(claim, sources, names[0] if names else None)
        else:  # a kind registered elsewhere that says observed and has no judge here
            out.append(Verdict.missing(claim.kind, f"verified [{claim.name}]",
                                       f"not verified: gauntlet has no judge for observed "
                                       f"{claim.kind} claims", claim=claim.id))
    return out


def _log_of(where: Path, names: list[str]) -> Path | None:
    for name in names:
        path = where / "logs" / f"{name}.log"
        if path.is_file():
            return path
    return None
