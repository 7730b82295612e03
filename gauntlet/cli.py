"""The ``gauntlet`` command line: the only place that calls ``sys.exit``.

    gauntlet verify CONTRACT              every experiment the contract's claims call for
    gauntlet run suites/default.toml      boot, load, judge, write a run dir
    gauntlet worker --master HOST[:PORT]  a remote Locust worker for a run's master
    gauntlet up [--contract C]            boot a stack and keep it for manual poking (^C stops)
    gauntlet down                         stop a stack started by ``gauntlet up``
    gauntlet report RUN_DIR               rebuild a run's verdicts and report from its files
    gauntlet chaos NAME [--variant X]     one chaos experiment on a fresh stack
    gauntlet compare RUN BASELINE         per-endpoint deltas; exit 1 on a regression
    gauntlet trend RUN...                 key figures across runs, as a plot
    gauntlet init                         a starter contract, locustfile, suite, CI workflow
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gauntlet import cleanup
from gauntlet.boot import Stack, boot
from gauntlet.config import Suite, load_suite, parse_suite
from gauntlet.contract import load_contract
from gauntlet.errors import ConfigError, GauntletError, InfrastructureError, Interrupted
from gauntlet.outcome import ExitCode
from gauntlet.rundir import read_summary, update_summary
from gauntlet.runner import Hooks, RunOutcome, run_suite
from gauntlet.scenarios.realtime_spec import connection_counts

console = Console(stderr=True, highlight=False)
# piped into a CI log, rich would assume 80 columns and wrap the figures table
out = Console(highlight=False, width=None if sys.stdout.isatty() else 120)


def _fail(exc: BaseException) -> None:
    """One line for the person, the evidence after it, the exit code from the error's kind."""
    code = exc.exit_code if isinstance(exc, GauntletError) else ExitCode.INFRASTRUCTURE
    console.print(f"[bold red]gauntlet: error:[/] {escape(str(exc))}", soft_wrap=True)
    if isinstance(exc, InfrastructureError) and exc.logs:
        console.print("[dim]" + escape(exc.logs) + "[/]")
    sys.exit(int(code))


def _ms(value: Any) -> str:
    try:
        return f"{float(value):.1f}"
    except (TypeError, ValueError):
        return "-"


def print_outcome(outcome: RunOutcome) -> None:
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
    gen = summary.get("generator")
    if gen and not gen.get("reliable", True):
        out.print("[yellow]generator unreliable:[/] " + "; ".join(gen.get("reasons", [])))
    marks = {"pass": "[green]PASS[/]", "fail": "[bold red]FAIL[/]",
             "inconclusive": "[bold yellow]INCONCLUSIVE[/]"}
    for v in outcome.verdicts:
        flag = " [yellow](marginal)[/]" if v.marginal else ""
        flag += " [yellow](unreliable)[/]" if v.unreliable else ""
        claim = f"[{v.claim}]" if v.claim and v.claim not in v.name else ""
        out.print(f"{marks.get(v.status, v.status)} {escape(v.check + claim)}: {escape(v.name)} "
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
    line = (f"{n['pass']} passed, {n['fail']} failed, {n['inconclusive']} inconclusive of "
            f"{len(outcome.verdicts)} verdicts")
    if started and finished:
        line += f"; wall time {finished - started:.1f} s"
    out.print(line)
    out.print(f"run dir: {outcome.run_dir}")
    report = outcome.run_dir / "index.html"
    if report.exists():
        out.print(f"report: {report}")
    claims = outcome.run_dir / "claims.md"
    if claims.exists():
        out.print(f"claims table: {claims}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gauntlet")
def main() -> None:
    """gauntlet: prove that a service's resilience mechanisms work under load."""


def _load(path: str) -> tuple[Suite, str]:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read suite file ({exc.strerror})") from exc
    return load_suite(Path(path)), text


@main.command()
@click.argument("suite_file", type=click.Path(dir_okay=False))
@click.option("--output", "output_dir", type=click.Path(file_okay=False), default=None,
              help="Where run dirs go (default: the suite's output_dir, reports/runs).")
@click.option("--workers", type=int, default=None, help="Locust worker processes (load.workers).")
@click.option("--scale", type=float, default=None,
              help="Run the load's durations at this fraction of the stated ones (0 < F <= 1; "
                   "replaces load.duration_scale); users, rates and gates stay as stated.")
@click.option("--no-experiments", is_flag=True,
              help="Only the load and its gates: skip the suite's experiments (with --scale, "
                   "the quick CI pass of a seed suite).")
def run(suite_file: str, output_dir: str | None, workers: int | None,
        scale: float | None, no_experiments: bool) -> None:
    """Run SUITE_FILE: boot the stack, drive the load, judge it, write a run dir."""
    try:
        suite, text = _load(suite_file)
        if workers is not None and suite.load is not None:
            suite = suite.model_copy(
                update={"load": suite.load.model_copy(update={"workers": workers})})
        if scale is not None:
            if suite.load is None:
                raise ConfigError(f"{suite_file}: --scale scales the load, and this suite has "
                                  "no [load]")
            suite = suite.model_copy(update={"load": suite.load.scaled(scale)})
        if no_experiments:
            if suite.load is None:
                raise ConfigError(f"{suite_file}: --no-experiments leaves nothing to run: the "
                                  "suite has no [load]")
            suite = suite.model_copy(update={"experiments": [], "every_claim": False})
    except GauntletError as exc:
        _fail(exc)
        return
    outcome = _run_with_progress(suite, text, Path(output_dir) if output_dir else None)
    _finish(outcome)


def _record_command(run_dir: Path) -> None:
    """The command line that made the run, in its summary: a claims table names it, so whoever
    reads the table can produce the next one."""
    if read_summary(run_dir).get("command"):  # `gauntlet report` keeps the run's own
        return
    update_summary(run_dir, {"command": shlex.join(["gauntlet", *sys.argv[1:]])})


@main.command()
@click.option("--master", "master", required=True, metavar="HOST[:PORT]",
              help="The run's Locust master (load.master_bind_host/port; port 5557 by default).")
@click.option("-f", "--locustfile", default=None, type=click.Path(dir_okay=False),
              help="A local copy of the run's locustfile (default: download it from the master, "
                   "Locust's -f -).")
@click.option("--connect-timeout", "connect_timeout_s", type=float, default=300.0,
              show_default=True, help="Give up when the master does not answer within this.")
def worker(master: str, locustfile: str | None, connect_timeout_s: float) -> None:
    """A remote Locust worker: joins the master of a `gauntlet run` whose suite sets
    load.remote_workers, sends its share of the load, ships its samples to the master, and
    exits when the master ends the test."""
    from gauntlet.worker import run_worker

    try:
        code = run_worker(master, locustfile, connect_timeout_s,
                          echo=lambda line: out.print(escape(line), soft_wrap=True))
    except (Interrupted, KeyboardInterrupt):
        console.print("[yellow]interrupted[/]: the worker was stopped")
        sys.exit(int(ExitCode.INTERRUPTED))
    except GauntletError as exc:
        _fail(exc)
        return
    sys.exit(code)


def _finish(outcome: RunOutcome) -> None:
    _record_command(outcome.run_dir)
    try:
        from gauntlet.reports.build import build_report

        build_report(outcome.run_dir)
    except Exception as exc:  # the run's own outcome matters more than its report
        console.print(f"[yellow]report not built:[/] {exc} (`gauntlet report "
                      f"{outcome.run_dir}` builds it again)")
    print_outcome(outcome)
    sys.exit(outcome.exit_code)


def _run_with_progress(suite: Suite, text: str, output_dir: Path | None, *,
                       every_claim: bool = False) -> RunOutcome:
    """Run with a progress bar; a configuration error found before the run starts (an unknown
    experiment or claim, bad parameters, a remote target) ends the command with exit 2."""
    try:
        return _progress_run(suite, text, output_dir, every_claim)
    except ConfigError as exc:
        _fail(exc)
        raise  # unreachable: _fail exits


def _progress_run(suite: Suite, text: str, output_dir: Path | None,
                  every_claim: bool) -> RunOutcome:
    total = suite.load.total_duration_s if suite.load else 0.0
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(), console=console, transient=True,
    ) as progress:
        task = progress.add_task("boot", total=total or None, info="")

        def on_boot(stack: Stack) -> None:
            console.print(f"stack up ({stack.backend}) in {stack.boot_time_s:.2f} s — "
                          f"{stack.base_url}")

        def on_tick(load: Any) -> None:
            progress.update(task, description="load", completed=min(load.elapsed_s(), total),
                            info=f"~{load.samples_so_far()} requests")

        def on_phase(name: str) -> None:
            progress.update(task, description=name)

        def on_finding(text: str) -> None:
            console.print(f"[yellow]contract finding:[/] {text}")

        return run_suite(suite, text, Hooks(on_boot=on_boot, on_load_tick=on_tick,
                                            on_phase=on_phase, on_finding=on_finding),
                         output_dir,
                         every_claim=every_claim)


@main.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("baseline_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--noise", type=float, default=0.10, show_default=True,
              help="Relative change in p95/p99 below which nothing is flagged.")
def compare(run_dir: str, baseline_dir: str, noise: float) -> None:
    """Compare RUN_DIR with BASELINE_DIR per endpoint (p95, p99, error rate); exit 1 on a
    regression beyond the noise band."""
    from gauntlet.reports.compare import compare_runs, render_text

    try:
        comparison = compare_runs(Path(run_dir), Path(baseline_dir), noise=noise)
    except GauntletError as exc:
        _fail(exc)
        return
    out.print(escape(render_text(comparison)))
    if not comparison.comparable:
        console.print("gauntlet: error: the runs have no comparable figures")
        sys.exit(int(ExitCode.USAGE))
    sys.exit(int(ExitCode.VERDICT_FAILED if comparison.regressed else ExitCode.PASSED))


@main.command()
@click.argument("run_dirs", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_png", type=click.Path(dir_okay=False), default="trend.png",
              show_default=True)
def trend(run_dirs: tuple[str, ...], out_png: str) -> None:
    """Plot p50/p95/p99, error rate and throughput across RUN_DIRS (e.g. nightly runs)."""
    from gauntlet.reports.trend import build_trend

    path = build_trend([Path(d) for d in run_dirs], Path(out_png))
    out.print(f"trend: {path}")


def _parse_param(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise ConfigError(f"--param wants KEY=VALUE (got {text!r})")
    key, raw = text.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word is a string
    return key.strip(), value


def _stack_suite(suite_file: str | None, contract_file: str | None, backend: str | None,
                 variants: tuple[str, ...], name: str, experiments: list[dict[str, Any]]
                 ) -> tuple[Suite, dict[str, Any]]:
    """A suite document from the command line: the stack section of ``--suite`` (if given),
    the contract of ``--contract`` (else the suite's), the backend and variants asked for."""
    stack: dict[str, Any] = {}
    doc: dict[str, Any] = {"name": name}
    base_dir = Path.cwd()
    if suite_file:
        base, _ = _load(suite_file)
        stack = base.stack.model_dump()
        base_dir = base.base_dir
        if base.contract:
            doc["contract"] = str((base.base_dir / base.contract).resolve())
    if contract_file:
        doc["contract"] = str(Path(contract_file).resolve())
    if "contract" not in doc and (backend or stack.get("backend", "local")) != "external":
        raise ConfigError("give --contract CONTRACT (or --suite with a contract): it says what "
                          "to boot and what the stack claims")
    if backend:
        stack["backend"] = backend
    if variants:
        stack["variants"] = [*stack.get("variants", []), *variants]
    doc["stack"] = stack
    doc["experiments"] = experiments
    return parse_suite(doc, "command line", base_dir, needs_work=bool(experiments)), doc


@main.command()
@click.argument("contract_file", type=click.Path(dir_okay=False))
@click.option("--suite", "suite_file", type=click.Path(dir_okay=False), default=None,
              help="Take the stack section (backend, URLs, variants) from a suite.")
@click.option("--backend", type=click.Choice(["local", "compose", "external"]), default=None)
@click.option("--variant", "variants", multiple=True,
              help="Switch on a variant the contract declares (repeatable), e.g. a mechanism off.")
@click.option("--output", "output_dir", type=click.Path(file_okay=False), default=None)
def verify(contract_file: str, suite_file: str | None, backend: str | None,
           variants: tuple[str, ...], output_dir: str | None) -> None:
    """Verify every claim of CONTRACT_FILE: each experiment its claims call for, once per
    claim instance, each on a fresh stack."""
    try:
        from gauntlet.chaos.experiments import experiments

        contract = load_contract(Path(contract_file))
        wanted = [{"name": name} for name, cls in experiments().items()
                  if cls().targets(contract)]
        if not wanted:
            raise ConfigError(f"{contract_file}: contract {contract.name!r} makes no claim an "
                              "experiment verifies")
        suite, doc = _stack_suite(suite_file, contract_file, backend, variants,
                                  f"verify-{contract.name}", wanted)
        text = _suite_toml(doc)
    except GauntletError as exc:
        _fail(exc)
        return
    outcome = _run_with_progress(suite, text, Path(output_dir) if output_dir else None,
                                 every_claim=True)
    _finish(outcome)


@main.command()
@click.argument("experiment")
@click.option("--contract", "contract_file", type=click.Path(dir_okay=False), default=None,
              help="The contract of the stack (what it claims, how to boot it).")
@click.option("--suite", "suite_file", type=click.Path(dir_okay=False), default=None,
              help="Take the contract and stack section (backend, URLs, variants) from a suite.")
@click.option("--backend", type=click.Choice(["local", "compose", "external"]), default=None)
@click.option("--claim", default=None, help="Only this claim instance (by name).")
@click.option("--variant", "--broken", "variants", multiple=True,
              help="Switch on a variant the contract declares (repeatable), e.g. breaker.")
@click.option("--param", "params", multiple=True, help="Experiment parameter KEY=VALUE.")
@click.option("--output", "output_dir", type=click.Path(file_okay=False), default=None)
def chaos(experiment: str, contract_file: str | None, suite_file: str | None,
          backend: str | None, claim: str | None, variants: tuple[str, ...],
          params: tuple[str, ...], output_dir: str | None) -> None:
    """Run one chaos EXPERIMENT against a freshly booted stack and judge it, once per claim
    instance of the contract it verifies (or only --claim)."""
    try:
        from gauntlet.chaos.experiments import get_experiment

        get_experiment(experiment)
        entry: dict[str, Any] = {"name": experiment, "params": dict(map(_parse_param, params))}
        if claim:
            entry["claim"] = claim
        suite, doc = _stack_suite(suite_file, contract_file, backend, variants,
                                  f"chaos-{experiment}", [entry])
        text = _suite_toml(doc)
    except GauntletError as exc:
        _fail(exc)
        return
    outcome = _run_with_progress(suite, text, Path(output_dir) if output_dir else None)
    _finish(outcome)


def _suite_toml(doc: dict[str, Any]) -> str:
    """A suite document as TOML (the run dir keeps what was run)."""
    lines = [f"name = {json.dumps(doc['name'])}"]
    if doc.get("contract"):
        lines.append(f"contract = {json.dumps(doc['contract'])}")
    lines += ["", "[stack]"]
    for key, value in doc.get("stack", {}).items():
        if value is not None and value != {} and value != []:
            lines.append(f"{key} = {_toml_value(value)}")
    for exp in doc.get("experiments", []):
        lines += ["", "[[experiments]]", f"name = {json.dumps(exp['name'])}"]
        if exp.get("claim"):
            lines.append(f"claim = {json.dumps(exp['claim'])}")
        if exp.get("params"):
            lines.append(f"params = {_toml_value(exp['params'])}")
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))


def _state_file() -> Path:
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or Path.home() / ".cache" / "gauntlet")
    base.mkdir(parents=True, exist_ok=True)
    return base / "gauntlet-up.json"


@main.command()
@click.option("--contract", "contract_file", type=click.Path(dir_okay=False), default=None,
              help="The contract of the stack to boot.")
@click.option("--suite", "suite_file", type=click.Path(dir_okay=False), default=None,
              help="Take the contract and stack section (backend, variants) from a suite.")
@click.option("--backend", type=click.Choice(["local", "compose"]), default=None)
@click.option("--variant", "--broken", "variants", multiple=True,
              help="Switch on a variant the contract declares (repeatable).")
def up(contract_file: str | None, suite_file: str | None, backend: str | None,
       variants: tuple[str, ...]) -> None:
    """Boot a stack and keep it running for manual poking; Ctrl-C (or `gauntlet down`) stops it."""
    try:
        suite, _ = _stack_suite(suite_file, contract_file, backend, variants, "up", [])
        with cleanup.signal_handlers(), boot(suite) as stack:
            state = {"pid": os.getpid(), "base_url": stack.base_url,
                     "api_direct_url": stack.api_direct_url,
                     "toxiproxy_url": stack.toxiproxy.url if stack.toxiproxy else None,
                     "proxies": dict(stack.proxies), "database_url": stack.database_url,
                     "logs_dir": str(stack.logs_dir)}
            _state_file().write_text(json.dumps(state, indent=2))
            out.print(f"stack up in {stack.boot_time_s:.2f} s")
            out.print_json(json.dumps(state))
            out.print("Ctrl-C or `gauntlet down` stops it.")
            while True:
                cleanup.check()  # raises Interrupted once ^C or `gauntlet down` arrived
                time.sleep(0.2)
    except (Interrupted, KeyboardInterrupt):
        console.print("stack stopped")
        sys.exit(0)
    except GauntletError as exc:
        _fail(exc)
    finally:
        _state_file().unlink(missing_ok=True)


@main.command()
@click.option("--timeout", "timeout_s", type=float, default=30.0, show_default=True)
def down(timeout_s: float) -> None:
    """Stop the stack a `gauntlet up` keeps running."""
    path = _state_file()
    if not path.exists():
        console.print("gauntlet: no stack is up")
        sys.exit(0)
    pid = int(json.loads(path.read_text())["pid"])
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        path.unlink(missing_ok=True)
        console.print("gauntlet: the stack's owner had already exited")
        sys.exit(0)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            console.print("stack stopped")
            sys.exit(0)
        time.sleep(0.1)
    console.print(f"gauntlet: error: stack owner {pid} still running after {timeout_s:.0f} s")
    sys.exit(int(ExitCode.INFRASTRUCTURE))


@main.command(name="init")
@click.option("--name", default=None, help="The service's name (default: this directory's).")
@click.option("--base-url", default="http://127.0.0.1:8080", show_default=True,
              help="Where the service answers (loopback).")
@click.option("--force", is_flag=True, help="Overwrite the starter files if they exist.")
def init_command(name: str | None, base_url: str, force: bool) -> None:
    """Write a starter contract.toml, locustfile.py, gauntlet.toml (suite) and a CI workflow
    into the current directory."""
    from gauntlet.contract import load_contract
    from gauntlet.init import init

    here = Path.cwd()
    stem = name or re.sub(r"[^A-Za-z0-9_.-]+", "-", here.name).strip("-.") or "service"
    if not stem[0].isalpha():
        stem = f"svc-{stem}"
    try:
        written = init(here, name=stem, base_url=base_url, force=force)
        load_contract(here / "contract.toml")  # the starter is valid as written
        load_suite(here / "gauntlet.toml")
    except GauntletError as exc:
        _fail(exc)
        return
    for item in written:
        out.print(f"{'wrote' if item.created else 'overwrote'} {item.path.relative_to(here)}")
    out.print("next: edit contract.toml to your service's routes and claims, start it and a "
              "Toxiproxy, then `gauntlet verify contract.toml --suite gauntlet.toml`")


@main.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
def report(run_dir: str) -> None:
    """Rebuild verdicts, summary and report of RUN_DIR from its files alone."""
    from gauntlet.rebuild import rebuild

    try:
        outcome = rebuild(Path(run_dir))
    except GauntletError as exc:
        _fail(exc)
        return
    _finish(outcome)


if __name__ == "__main__":  # pragma: no cover
    main()
