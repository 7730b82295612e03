"""A run as a person watches it: a progress bar through boot, load and each phase, and the
lines a run must say before it goes on (a contract finding, a plan note, a worker secret).

The bar is rich's, transient, on stderr, so a piped stdout carries only the outcome; the lines
are printed above it and stay. Kept apart from the command definitions in ``gauntlet.cli``
because it is what every running command (run, verify, chaos) shares.

    outcome = run_with_progress(suite, text, output_dir, Console(stderr=True))
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from gauntlet.boot import Stack
from gauntlet.config import Suite
from gauntlet.judge import RunOutcome
from gauntlet.runner import Hooks, run_suite
from gauntlet.scenarios.runner import LoadRun


def run_with_progress(suite: Suite, text: str, output_dir: Path | None, console: Console, *,
                      every_claim: bool = False) -> RunOutcome:
    """``run_suite`` with its hooks drawn on ``console``; errors propagate to the caller."""
    total = suite.load.total_duration_s if suite.load else 0.0
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(), console=console, transient=True,
    ) as progress:
        task = progress.add_task("boot", total=total or None, info="")

        def on_boot(stack: Stack) -> None:
            console.print(f"stack up ({stack.backend}) in {stack.boot_time_s:.2f} s — "
                          f"{stack.base_url}")

        def on_tick(load: LoadRun) -> None:
            progress.update(task, description="load", completed=min(load.elapsed_s(), total),
                            info=f"~{load.samples_so_far()} requests")

        def on_phase(name: str) -> None:
            progress.update(task, description=name)

        def on_finding(text: str) -> None:
            console.print(f"[yellow]contract finding:[/] {text}")

        def on_plan(notes: list[str]) -> None:
            for note in notes:
                console.print(f"[yellow]note:[/] {escape(note)}", soft_wrap=True)

        def on_secret(secret: str) -> None:
            console.print(f"worker secret for this run (shown once, stored nowhere): {secret}\n"
                          "  each `gauntlet worker` needs it: --secret-file FILE or "
                          "$GAUNTLET_WORKER_SECRET (set it before `gauntlet run` to choose it)",
                          soft_wrap=True, highlight=False)

        return run_suite(suite, text, Hooks(on_boot=on_boot, on_load_tick=on_tick,
                                            on_phase=on_phase, on_finding=on_finding,
                                            on_plan=on_plan, on_secret=on_secret), output_dir,
                         every_claim=every_claim)
