"""A run's outcome as a person reads it at the end of ``gauntlet run``, ``verify``, ``chaos``
or ``report``: the figures per endpoint, one line per verdict, the error if any, the tally, and
where the run dir, its report and its claims table are.

    print_outcome(outcome, out=Console(), console=Console(stderr=True))
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gauntlet.checks.verdict import Verdict
from gauntlet.errors import InfrastructureError, Interrupted
from gauntlet.judge import RunOutcome
from gauntlet.runner import NOT_RUN
from gauntlet.scenarios.realtime_spec import connection_counts


def _ms(value: Any) -> str:
    try:
        return f"{float(value):.1f}"
    except (TypeError, ValueError):
        return "-"


def _not_run(verdict: Verdict) -> bool:
    """A claim the run planned and stopped before (:func:`gauntlet.runner.not_run`)."""
    return verdict.inconclusive and verdict.reason.startswith(f"{NOT_RUN}:")


def print_outcome(outcome: RunOutcome, out: Console, console: Console) -> None:
    """The figures table and the verdicts on ``out`` (stdout), errors and what had to be
    forced on ``console`` (stderr), then where the run dir, report and claims table are."""
    summary = outcome.summary
    overall = summary.get("overall")
    if overall and overall.get("count"):
        table = Table(title=f"{summary['suite']}: {overall['count']} requests, "
                            f"{overall['rps']:.1f} req/s ({summary.get('latency_basis')} latency)")
        for col in ("endpoint", "count", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors", "429"):
            if col == "endpoint":
                table.add_column(col, no_wrap=True)
            else:
                table.add_column(col, justify="right")
        rows = [("overall", overall), *summary.get("endpoints", {}).items()]
        for name, fig in rows:
            table.add_row(name, str(fig["count"]), _ms(fig["p50_ms"]), _ms(fig["p95_ms"]),
                          _ms(fig["p99_ms"]), _ms(fig["max_ms"]),
                          f"{fig['error_rate'] * 100:.2f} %", str(fig["count_429"]))
        out.print(table)
        out.print(
            f"p50 {overall['p50_ms']:.1f} ms · p95 {overall['p95_ms']:.1f} ms · "
            f"p99 {overall['p99_ms']:.1f} ms · error rate {overall['error_rate'] * 100:.2f} %"
        )
        attempts, drops = connection_counts(
            {k: int(v.get("count", 0)) for k, v in summary.get("endpoints", {}).items()})
        if attempts:
            out.print(f"realtime connections: {attempts} attempted (connects and reconnects), "
                      f"{drops} dropped by the server")
    if summary.get("metrics_crosscheck_warning"):
        out.print("[yellow]metrics cross-check:[/] "
                  + escape(str(summary["metrics_crosscheck_warning"])), soft_wrap=True)
    for line in summary.get("remote_workers_refused") or []:
        out.print("[bold yellow]master:[/] " + escape(str(line)), soft_wrap=True)
    gen = summary.get("generator")
    if gen and gen.get("lost"):
        out.print("[bold yellow]remote samples lost:[/] " + escape("; ".join(gen["lost"])),
                  soft_wrap=True)
    if gen and not gen.get("reliable", True) and (gen.get("reasons") or gen.get("unknown")):
        state = "health unknown" if gen.get("state") == "unknown" else "unreliable"
        out.print(f"[yellow]generator {state}:[/] " + escape("; ".join(
            [*gen.get("reasons", []), *gen.get("unknown", [])])))
    marks = {"pass": "[green]PASS[/]", "fail": "[bold red]FAIL[/]",
             "inconclusive": "[bold yellow]INCONCLUSIVE[/]"}
    for v in outcome.verdicts:
        flag = " [yellow](marginal)[/]" if v.marginal else ""
        flag += " [yellow](unreliable)[/]" if v.unreliable else ""
        claim = f"[{v.claim}]" if v.claim and v.claim not in v.name else ""
        mark = "[bold yellow]NOT RUN[/]" if _not_run(v) else marks.get(v.status, v.status)
        out.print(f"{mark} {escape(v.check + claim)}: {escape(v.name)} "
                  f"— {escape(v.reason)}{flag}", soft_wrap=True)
    if outcome.error is not None and not isinstance(outcome.error, Interrupted | KeyboardInterrupt):
        console.print(f"[bold red]gauntlet: error:[/] {escape(str(outcome.error))}",
                      soft_wrap=True)
        if isinstance(outcome.error, InfrastructureError) and outcome.error.logs:
            console.print("[dim]" + escape(outcome.error.logs) + "[/]")
        if summary.get("traceback"):
            console.print(f"[dim]traceback: {escape(str(outcome.run_dir / summary['traceback']))}"
                          "[/]", soft_wrap=True)
    elif outcome.error is not None:
        console.print("[yellow]interrupted[/]: everything gauntlet started was torn down")
    forced = [k for k in summary.get("forced_kills") or [] if isinstance(k, dict)]
    if forced:
        console.print(f"[yellow]had to SIGKILL {len(forced)}:[/] " + escape("; ".join(
            f"{k.get('name')} (pid {k.get('pid')}): {k.get('how')}" for k in forced)),
            soft_wrap=True)
    started, finished = summary.get("started_at_s"), summary.get("finished_at_s")
    n = {o: sum(v.status == o for v in outcome.verdicts) for o in marks}
    unrun = sum(_not_run(v) for v in outcome.verdicts)
    line = (f"{n['pass']} passed, {n['fail']} failed, {n['inconclusive'] - unrun} inconclusive"
            + (f", {unrun} not run" if unrun else "") + f" of {len(outcome.verdicts)} verdicts")
    if started and finished:
        line += f"; wall time {finished - started:.1f} s"
    out.print(line)
    out.print(f"run dir: {outcome.run_dir}", soft_wrap=True, markup=False)
    report = outcome.run_dir / "index.html"
    if report.exists():
        out.print(f"report: {report}", soft_wrap=True, markup=False)
    claims = outcome.run_dir / "claims.md"
    if claims.exists():
        out.print(f"claims table: {claims}", soft_wrap=True, markup=False)
