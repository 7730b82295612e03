"""The ``gauntlet`` command line: the only place that calls ``sys.exit``.

    gauntlet verify CONTRACT              every experiment the contract's claims call for
    gauntlet run suites/default.toml      boot, load, judge, write a run dir
    gauntlet worker --master HOST[:PORT]  a remote Locust worker for a run's master
    gauntlet up [--contract C]            boot a stack and keep it for local iteration (^C stops)
    gauntlet down                         stop a stack started by ``gauntlet up``
    gauntlet verify C --stack up          aim at what ``gauntlet up`` keeps (also run, chaos)
    gauntlet report RUN_DIR               rebuild a run's verdicts and report from its files
    gauntlet chaos NAME [--variant X]     one chaos experiment on a fresh stack
    gauntlet compare RUN BASELINE         per-endpoint deltas; exit 1 on a regression
    gauntlet trend RUN...                 key figures across runs, as a plot
    gauntlet init                         a starter contract, locustfile, suite, CI workflow
    gauntlet doctor [--backend B]         what each backend needs, found or how to install it
    gauntlet install toxiproxy            build Toxiproxy with Go where gauntlet finds it
    gauntlet schema [--out DIR]           JSON Schemas of a contract and a suite, for editors
    gauntlet validate FILE...             check contracts and suites without running anything
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path
from typing import Any, cast

import click
from rich.console import Console
from rich.markup import escape

from gauntlet.cmdsuite import load_with_text, parse_param, stack_suite, suite_toml
from gauntlet.config import Suite, load_suite
from gauntlet.contract import load_contract
from gauntlet.errors import ConfigError, GauntletError, InfrastructureError, Interrupted
from gauntlet.judge import RunOutcome
from gauntlet.outcome import ExitCode, exit_code
from gauntlet.printout import print_outcome
from gauntlet.progress import run_with_progress
from gauntlet.rundir import read_summary, update_summary
from gauntlet.up import aim_at

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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gauntlet")
def main() -> None:
    """gauntlet: prove that a service's resilience mechanisms work under load."""


STACK_OPTION = click.option(
    "--stack", "stack_name", default=None, metavar="NAME",
    help="Aim at the stack `gauntlet up` keeps running as NAME in this directory (its handle "
         ".gauntlet/NAME.json; `up` by default) instead of the suite's [stack].")


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
@STACK_OPTION
def run(suite_file: str, output_dir: str | None, workers: int | None,
        scale: float | None, no_experiments: bool, stack_name: str | None) -> None:
    """Run SUITE_FILE: boot the stack, drive the load, judge it, write a run dir."""
    try:
        suite, text = load_with_text(suite_file)
        if stack_name is not None:
            suite = aim_at(suite, stack_name)
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
@click.option("--secret-file", default=None, metavar="FILE",
              help="The run's worker secret, on the file's first line (else "
                   "$GAUNTLET_WORKER_SECRET_FILE or $GAUNTLET_WORKER_SECRET; never on the "
                   "command line, which `ps` shows to anyone).")
def worker(master: str, locustfile: str | None, connect_timeout_s: float,
           secret_file: str | None) -> None:
    """A remote Locust worker: joins the master of a `gauntlet run` whose suite sets
    load.remote_workers, proves it knows the run's worker secret, sends its share of the
    load, ships its samples to the master (each batch signed), and exits when the master ends
    the test."""
    from gauntlet.worker import run_worker

    try:
        code = run_worker(master, locustfile, connect_timeout_s,
                          echo=lambda line: out.print(escape(line), soft_wrap=True),
                          secret_file=secret_file)
    except (Interrupted, KeyboardInterrupt):
        console.print("[yellow]interrupted[/]: the worker was stopped")
        sys.exit(int(ExitCode.INTERRUPTED))
    except GauntletError as exc:
        _fail(exc)
        return
    sys.exit(code)


def _finish(outcome: RunOutcome, *, step_summary: bool = True) -> None:
    """Report, claims table (also on a GitHub job's summary page), outcome, exit code."""
    _record_command(outcome.run_dir)
    try:
        from gauntlet.reports.build import build_report

        build_report(outcome.run_dir)
    except Exception as exc:  # the run's own outcome matters more than its report
        console.print(f"[yellow]report not built:[/] {exc} (`gauntlet report "
                      f"{outcome.run_dir}` builds it again)")
    if step_summary:
        from gauntlet.stepsummary import ENV, append_step_summary

        try:
            append_step_summary(outcome.run_dir)
        except OSError as exc:
            console.print(f"[yellow]{ENV} not written:[/] {escape(str(exc))}")
    print_outcome(outcome, out, console)
    sys.exit(outcome.exit_code)


def _run_with_progress(suite: Suite, text: str, output_dir: Path | None, *,
                       every_claim: bool = False) -> RunOutcome:
    """Run with a progress bar; a configuration error found before the run starts (an unknown
    experiment or claim, bad parameters, a remote target) ends the command with exit 2."""
    try:
        return run_with_progress(suite, text, output_dir, console,
                                 every_claim=every_claim)
    except ConfigError as exc:
        _fail(exc)
        raise  # unreachable: _fail exits


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
    verdicts = comparison.verdicts()
    if not verdicts:  # nothing judged is the judge's failure (exit 3), never a pass
        console.print("gauntlet: error: nothing was judged: every population was too thin to "
                      "compare (see the rows' notes)")
    sys.exit(int(exit_code(verdicts)))


@main.command()
@click.argument("run_dirs", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_png", type=click.Path(dir_okay=False), default="trend.png",
              show_default=True)
def trend(run_dirs: tuple[str, ...], out_png: str) -> None:
    """Plot p50/p95/p99, error rate and throughput across RUN_DIRS (e.g. nightly runs)."""
    from gauntlet.reports.trend import build_trend

    path = build_trend([Path(d) for d in run_dirs], Path(out_png))
    out.print(f"trend: {path}", soft_wrap=True, markup=False)


@main.command()
@click.argument("contract_file", type=click.Path(dir_okay=False))
@click.option("--suite", "suite_file", type=click.Path(dir_okay=False), default=None,
              help="Take the stack section (backend, URLs, variants) from a suite.")
@click.option("--backend", type=click.Choice(["local", "compose", "external"]), default=None)
@click.option("--variant", "variants", multiple=True,
              help="Switch on a variant the contract declares (repeatable), e.g. a mechanism off.")
@click.option("--output", "output_dir", type=click.Path(file_okay=False), default=None)
@STACK_OPTION
def verify(contract_file: str, suite_file: str | None, backend: str | None,
           variants: tuple[str, ...], output_dir: str | None, stack_name: str | None) -> None:
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
        suite, doc = stack_suite(suite_file, contract_file, backend, variants,
                                 f"verify-{contract.name}", wanted, stack_name)
        text = suite_toml(doc)
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
@STACK_OPTION
def chaos(experiment: str, contract_file: str | None, suite_file: str | None,
          backend: str | None, claim: str | None, variants: tuple[str, ...],
          params: tuple[str, ...], output_dir: str | None, stack_name: str | None) -> None:
    """Run one chaos EXPERIMENT against a freshly booted stack and judge it, once per claim
    instance of the contract it verifies (or only --claim)."""
    try:
        from gauntlet.chaos.experiments import get_experiment

        get_experiment(experiment)
        entry: dict[str, Any] = {"name": experiment, "params": dict(map(parse_param, params))}
        if claim:
            entry["claim"] = claim
        suite, doc = stack_suite(suite_file, contract_file, backend, variants,
                                 f"chaos-{experiment}", [entry], stack_name)
        text = suite_toml(doc)
    except GauntletError as exc:
        _fail(exc)
        return
    outcome = _run_with_progress(suite, text, Path(output_dir) if output_dir else None)
    _finish(outcome)


@main.command()
@click.option("--contract", "contract_file", type=click.Path(dir_okay=False), default=None,
              help="The contract of the stack to boot.")
@click.option("--suite", "suite_file", type=click.Path(dir_okay=False), default=None,
              help="Take the contract and stack section (backend, variants) from a suite.")
@click.option("--backend", type=click.Choice(["local", "compose"]), default=None)
@click.option("--variant", "--broken", "variants", multiple=True,
              help="Switch on a variant the contract declares (repeatable).")
@click.option("--port", "ports", multiple=True, metavar="NAME=PORT",
              help="A fixed port (repeatable): a service (the main one: where load goes, "
                   "through its proxy), a link (its proxy) or toxiproxy; local backend.")
@click.option("--name", "name", default="up", show_default=True,
              help="The stack's name: its handle is .gauntlet/NAME.json here (--stack NAME).")
def up(contract_file: str | None, suite_file: str | None, backend: str | None,
       variants: tuple[str, ...], ports: tuple[str, ...], name: str) -> None:
    """Boot a stack and keep it running for local iteration: prints each service with its pid
    and address, writes .gauntlet/NAME.json for `--stack NAME`, reports a service that exits;
    Ctrl-C (or `gauntlet down`) stops it."""
    from gauntlet.up import serve, with_ports

    try:
        suite, _ = stack_suite(suite_file, contract_file, backend, variants, "up", [])
        suite = with_ports(suite, ports)
        contract_path = (Path(contract_file).resolve() if contract_file else
                         suite.base_dir / suite.contract if suite.contract else None)
        serve(suite, name, contract_path,
              echo=lambda line: out.print(escape(line), soft_wrap=True))
    except (Interrupted, KeyboardInterrupt):
        console.print("stack stopped")
        sys.exit(0)
    except GauntletError as exc:
        _fail(exc)


@main.command()
@click.option("--stack", "name", default="up", show_default=True, metavar="NAME",
              help="The up stack to stop (.gauntlet/NAME.json here).")
@click.option("--timeout", "timeout_s", type=float, default=30.0, show_default=True)
def down(name: str, timeout_s: float) -> None:
    """Stop the stack a `gauntlet up` keeps running (from the directory it was started in)."""
    from gauntlet.up import stop

    try:
        console.print(stop(name, timeout_s))
    except GauntletError as exc:
        _fail(exc)
    sys.exit(0)


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
    out.print("next: edit contract.toml to your service's routes and claims; start it (its pid "
              "in service.pid) and a Toxiproxy with a proxy per link; then `gauntlet verify "
              "contract.toml --suite gauntlet.toml`. Or describe it under [services] and keep it "
              "running with `gauntlet up`: `gauntlet verify contract.toml --stack up`",
              markup=False)  # "[services]" is a TOML table, not rich markup


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
    _finish(outcome, step_summary=False)


@main.command()
@click.option("--backend", type=click.Choice(["local", "compose", "external"]), default="local",
              show_default=True, help="The backend whose needs decide the exit code.")
@click.option("--contract", "contract_file", type=click.Path(dir_okay=False), default=None,
              help="Require what this contract's managed links need (PostgreSQL, Redis).")
def doctor(backend: str, contract_file: str | None) -> None:
    """List the programs each backend needs, where each was found (path, version) and the
    command that installs each missing one; exit 0 when the backend's needs are met, 3 if not."""
    from gauntlet.doctor import Backend, diagnose, render

    try:
        contract = load_contract(Path(contract_file)) if contract_file else None
        report = diagnose(cast(Backend, backend), contract)
    except GauntletError as exc:
        _fail(exc)
        return
    render(report, out)
    sys.exit(int(report.exit_code))


@main.command()
@click.argument("program", type=click.Choice(["toxiproxy"]))
@click.option("--force", is_flag=True, help="Build again even if it is installed.")
def install(program: str, force: bool) -> None:
    """Install PROGRAM where gauntlet finds it: toxiproxy (server and cli, built with Go)."""
    from gauntlet.install import install_toxiproxy

    try:
        with console.status("building Toxiproxy with Go (about a minute)") as status:
            done = install_toxiproxy(
                force=force, on_start=lambda line: console.print(escape(line), soft_wrap=True),
                on_line=lambda line: status.update(
                    f"building Toxiproxy with Go: [dim]{escape(line[-80:])}[/]"))
    except GauntletError as exc:
        _fail(exc)
        return
    if not done.built:
        out.print(f"toxiproxy {done.version} is already installed in {done.directory} "
                  "(--force builds it again)", soft_wrap=True)
        return
    out.print(f"built toxiproxy {done.version} with {done.go} in {done.build_s:.0f} s: "
              f"{done.directory}/toxiproxy-server, {done.directory}/toxiproxy-cli",
              soft_wrap=True)
    if done.shadowed_by is not None:
        console.print(f"[yellow]note:[/] gauntlet finds {done.shadowed_by} first; remove it "
                      "to use this one")


@main.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=".",
              show_default=True, help="Where to write contract.schema.json, suite.schema.json.")
def schema(out_dir: str) -> None:
    """Write the JSON Schema of a contract and of a suite (for taplo / Even Better TOML)."""
    from gauntlet.schema import write_schemas

    try:
        paths = write_schemas(Path(out_dir))
    except OSError as exc:
        _fail(ConfigError(f"--out {out_dir}: cannot write: {exc.strerror}"))
        return
    for path in paths:
        out.print(f"wrote {path}", soft_wrap=True, markup=False)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(files: tuple[str, ...]) -> None:
    """Check each contract or suite FILE without running anything: "ok" and a one-line
    summary, or the one-line error; exit 2 if any is invalid."""
    from gauntlet.validate import validate_file

    invalid = 0
    for name in files:
        try:
            result = validate_file(Path(name))
        except GauntletError as exc:
            invalid += 1
            console.print(f"[bold red]invalid:[/] {escape(str(exc))}", soft_wrap=True)
            continue
        out.print(f"[green]ok[/] {escape(name)}: {escape(result.summary)}", soft_wrap=True)
        for finding in result.findings:
            out.print(f"  [yellow]contract finding:[/] {escape(finding)}", soft_wrap=True)
    sys.exit(int(ExitCode.USAGE if invalid else ExitCode.PASSED))


if __name__ == "__main__":  # pragma: no cover
    main()
