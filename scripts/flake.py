"""The flake rate of gauntlet's verdicts: run ``gauntlet verify`` on contracts N times and count
each verdict's outcomes, so a verdict that flips between runs on the same stack is found (and
root-caused) instead of retried.

    scripts/flake.sh --runs 10 stack/contract.toml examples/node-stack/contract.toml
    scripts/flake.sh --runs 10 --hog 2 stack/contract.toml      # beside a 2-worker CPU hog
    scripts/flake.sh --runs 10 --chaos retries stack/contract.toml  # one experiment's claims

``--chaos EXPERIMENT`` (repeatable) runs ``gauntlet chaos EXPERIMENT`` on each contract instead
of a whole verify: after a change to one experiment, its verdicts get their ten runs in minutes
rather than the two hours ten verifies of both contracts take.

Prints one table per contract — verdict, pass / fail / inconclusive counts, and FLIP where a
verdict both passed and failed — then each inconclusive reason seen (what it lacked and what
the experiment tried). Writes ``flake.md`` and ``flake.json`` into ``--out``. Exit 1 when a
verdict flipped between pass and fail, else 0. ``--tally DIR...`` runs nothing and prints the
tables of the runs already in those dirs (batches of one commit, run in different sessions):
each batch's ``batch.json`` says its commit and condition, and batches of two commits, or
quiet ones with hog ones, are refused rather than added up.
The CPU hog is Debian's ``stress-ng --cpu N``, started before the first run and stopped after
the last (installed with apt when missing).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GAUNTLET = [sys.executable, "-m", "gauntlet.cli"]


@dataclass
class Tally:
    """One verdict's outcomes over the runs, and the distinct inconclusive reasons."""

    counts: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def flipped(self) -> bool:
        return self.counts["pass"] > 0 and self.counts["fail"] > 0


@dataclass
class Contract:
    path: str
    tallies: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    exits: Counter[int] = field(default_factory=Counter)
    wall_s: list[float] = field(default_factory=list)
    last_exit: int | None = None  # of the latest run, for the progress line
    # the run-NN dirs a tally read it from: with --chaos a run holds several experiment runs
    run_dirs: set[Path] = field(default_factory=set)


def verify(contract: Contract, out: Path, experiment: str | None = None) -> None:
    """One ``gauntlet verify`` of the contract, or one ``gauntlet chaos experiment`` of it (every
    claim instance the experiment verifies); its verdicts added to the tallies."""
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    command = (["verify", contract.path] if experiment is None
               else ["chaos", experiment, "--contract", contract.path])
    done = subprocess.run([*GAUNTLET, *command, "--output", str(out)],
                          cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          check=False)
    contract.wall_s.append(time.monotonic() - started)
    contract.exits[done.returncode] += 1
    contract.last_exit = done.returncode
    runs = sorted(out.glob("*/summary.json"))
    if not runs:
        contract.tallies["(the run itself)"].counts["error"] += 1
        contract.tallies["(the run itself)"].reasons[
            (done.stderr or done.stdout).strip().splitlines()[-1:][0]
            if (done.stderr or done.stdout).strip() else f"exit {done.returncode}"] += 1
        return
    add_verdicts(contract, json.loads(runs[-1].read_text()))


BATCH_FILE = "batch.json"


def describe_checkout() -> str:
    """The commit the runs verify, ``+dirty`` when the work tree differs from it: a table is
    about one commit, and a batch that cannot say which is marked so."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                          capture_output=True, text=True, check=False).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True, check=False).stdout.strip()
    return (head or "unknown") + ("+dirty" if head and dirty else "")


def batches(dirs: list[Path]) -> dict[Path, dict[str, Any]]:
    """Each batch dir under ``dirs`` (the parent of its ``run-NN``) with what its
    ``batch.json`` says (commit, condition); a batch from before flake.py wrote one says
    nothing."""
    found: dict[Path, dict[str, Any]] = {}
    for base in dirs:
        for run in sorted(base.glob("**/run-*")):
            batch = run.parent
            if batch not in found:
                meta = batch / BATCH_FILE
                found[batch] = json.loads(meta.read_text()) if meta.is_file() else {}
    return found


def mixed(found: dict[Path, dict[str, Any]]) -> str | None:
    """Why these batches cannot make one table: two commits, or quiet runs with hog runs;
    None when they can (a batch that does not say is not counted as different)."""
    for key, what in (("commit", "commits"), ("condition", "conditions"),
                      ("experiments", "experiment selections")):
        values = sorted({str(m[key]) for m in found.values() if key in m})
        if len(values) > 1:
            return f"the batches are of different {what}: {', '.join(values)}"
    return None


def tally_dirs(dirs: list[Path]) -> tuple[list[Contract], int]:
    """The tallies of earlier flake runs, read back from their run dirs (``--tally``): batches
    of one commit run in different sessions add up to one table. A run cut short (its summary
    still ``running``, or none) is left out; the exit code and wall time come from each
    summary. Returns the contracts, in the order their dirs sort, and the runs counted."""
    contracts: dict[str, Contract] = {}
    for base in dirs:
        for summary_path in sorted(base.glob("**/run-*/*/*/summary.json")):
            summary = json.loads(summary_path.read_text())
            if summary.get("status") in (None, "running") or "exit_code" not in summary:
                continue
            slot = summary_path.parent.parent  # run-NN/<index>-<contract stem>
            label = str(summary.get("contract") or slot.name)
            contract = contracts.setdefault(label, Contract(label))
            contract.exits[int(summary["exit_code"])] += 1
            contract.wall_s.append(float(summary.get("finished_at_s", 0.0))
                                   - float(summary.get("started_at_s", 0.0)))
            add_verdicts(contract, summary)
            contract.run_dirs.add(slot.parent)
    runs = set().union(*(c.run_dirs for c in contracts.values()))
    return [contracts[k] for k in sorted(contracts)], len(runs)


def add_verdicts(contract: Contract, summary: dict[str, Any]) -> None:
    """One run's verdicts, from its summary, added to the contract's tallies."""
    # an experiment's verdicts under its label: every experiment has a "steady state before
    # the fault" of its own; the claims no experiment verified come after, by claim
    keyed = [(f"{e['name']}[{e['claim']}] {v['name']}", v)
             for e in summary.get("experiments", []) for v in e.get("verdicts", [])]
    seen = {id(v) for _, v in keyed}
    inner = {(v["claim"], v["name"], v["reason"]) for _, v in keyed}
    keyed += [(f"{v.get('claim') or v['check']}: {v['name']}", v)
              for v in summary.get("verdicts", [])
              if id(v) not in seen and (v.get("claim"), v["name"], v["reason"]) not in inner]
    for key, verdict in keyed:
        tally = contract.tallies[key]
        tally.counts[verdict["status"]] += 1
        if verdict["status"] == "inconclusive":
            tally.reasons[verdict["reason"][:300]] += 1


def table(contract: Contract, runs: int, experiments: list[str] | None = None) -> str:
    # one command per experiment: the heading names each, not a command line that would not
    # parse (the docs test every `gauntlet ...` span they show)
    what = (f"`{contract.path}`, one chaos run each of {', '.join(experiments)}" if experiments
            else f"`gauntlet verify {contract.path}`")
    lines = [f"### {what}, {runs} runs", "",
             f"exit codes: {dict(sorted(contract.exits.items()))}; wall time per "
             f"{'experiment run' if experiments else 'run'} "
             f"{min(contract.wall_s):.0f} to {max(contract.wall_s):.0f} s", "",
             "| verdict | pass | fail | inconclusive | |", "|---|---:|---:|---:|---|"]
    for key in sorted(contract.tallies):
        t = contract.tallies[key]
        flag = "**FLIP**" if t.flipped else ("differs" if len(+t.counts) > 1 else "")
        lines.append(f"| {key} | {t.counts['pass']} | {t.counts['fail']} | "
                     f"{t.counts['inconclusive']} | {flag} |")
    reasons = [(key, reason, n) for key in sorted(contract.tallies)
               for reason, n in contract.tallies[key].reasons.items()]
    if reasons:
        lines += ["", "Inconclusive (and run errors), with what was lacked and tried:", ""]
        lines += [f"- {key} ({n} times): {reason}" for key, reason, n in reasons]
    return "\n".join(lines)


def start_hog(workers: int) -> subprocess.Popen[bytes] | None:
    if workers <= 0:
        return None
    if shutil.which("stress-ng") is None:
        subprocess.run(["apt-get", "install", "-y", "-qq", "stress-ng"], check=True,
                       stdout=subprocess.DEVNULL)
    return subprocess.Popen(["stress-ng", "--cpu", str(workers), "--quiet"],
                            stdout=subprocess.DEVNULL, start_new_session=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("contracts", nargs="*")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--hog", type=int, default=0, help="stress-ng CPU workers beside")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "runs" / "flake")
    parser.add_argument("--chaos", action="append", metavar="EXPERIMENT", default=[],
                        help="run this experiment (gauntlet chaos) instead of a whole verify; "
                        "repeatable")
    parser.add_argument("--tally", type=Path, nargs="+", metavar="DIR",
                        help="run nothing: add up the runs already in these flake dirs")
    args = parser.parse_args()
    if args.tally:
        found = batches(args.tally)
        problem = mixed(found)
        if problem:  # one table is one commit under one condition
            parser.error(problem)
        tallied, count = tally_dirs(args.tally)
        if not tallied:
            parser.error("no finished run under " + ", ".join(map(str, args.tally)))
        said = sorted({f"{m['commit']}, {m['condition']}" for m in found.values() if m})
        unsaid = sum(1 for m in found.values() if not m)
        about = "; ".join(said) + (f"{'; ' if said else ''}{unsaid} batch(es) not saying their "
                                   "commit" if unsaid else "")
        chosen = next((m["experiments"] for m in found.values()
                       if isinstance(m.get("experiments"), list)), None)
        text = "\n\n".join([f"## Flake rate: {count} runs, tallied from "
                             f"{', '.join(d.name for d in args.tally)} ({about})",
                             *(table(c, len(c.run_dirs), chosen) for c in tallied)]) + "\n"
        print(text)
        return 1 if any(t.flipped for c in tallied for t in c.tallies.values()) else 0
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if not args.contracts:
        parser.error("name at least one contract to verify (or --tally DIR)")
    contracts = [Contract(c) for c in args.contracts]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = args.out / f"{stamp}{'-hog' + str(args.hog) if args.hog else ''}"
    beside = f"beside stress-ng --cpu {args.hog}" if args.hog else "quiet"
    out.mkdir(parents=True, exist_ok=True)
    (out / BATCH_FILE).write_text(json.dumps({"commit": describe_checkout(), "condition": beside,
                                              "experiments": args.chaos or "all"}))
    hog = start_hog(args.hog)
    try:
        for i in range(1, args.runs + 1):
            for index, contract in enumerate(contracts):
                for experiment in args.chaos or [None]:
                    slot = f"{index}-{Path(contract.path).stem}" + (f"-{experiment}"
                                                                    if experiment else "")
                    verify(contract, out / f"run-{i:02d}" / slot, experiment)
                    print(f"[flake] run {i}/{args.runs} {contract.path}"
                          f"{' ' + experiment if experiment else ''}: exit "
                          f"{'?' if contract.last_exit is None else contract.last_exit} "
                          f"({contract.wall_s[-1]:.0f} s)", file=sys.stderr, flush=True)
    finally:
        if hog is not None:
            os.killpg(hog.pid, signal.SIGTERM)
            hog.wait(10)
    header = f"## Flake rate: {args.runs} runs, {beside} ({stamp}, {describe_checkout()})"
    text = "\n\n".join([header, *(table(c, args.runs, args.chaos) for c in contracts)]) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    (out / "flake.md").write_text(text)
    (out / "flake.json").write_text(json.dumps(
        {c.path: {k: {"counts": dict(t.counts), "reasons": dict(t.reasons)}
                  for k, t in c.tallies.items()} for c in contracts}, indent=2))
    print(text)
    return 1 if any(t.flipped for c in contracts for t in c.tallies.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
