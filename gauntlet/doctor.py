"""``gauntlet doctor``: the programs each backend needs, where each was found (path and
version), and for each missing one the one command that installs it.

A first run that dies at boot on a missing binary costs a team more than the minute this takes:
doctor answers "will ``gauntlet run`` find what it needs here?" before anything is started.
It uses the same lookup the backends use (:mod:`gauntlet.boot.binaries`, and the compose
backend's own Docker checks), so what it reports is what a run will find.

Exit codes, from :class:`gauntlet.outcome.ExitCode`:

    0  what the backend asked about needs (the local backend by default) is present
    3  something it needs is missing: the machine's to fix (an infrastructure outcome)
    2  usage: a contract that does not load, an unknown backend

The local backend needs Toxiproxy's server always, and PostgreSQL (``initdb``, ``postgres``)
or Redis (``redis-server``) only for the ``managed`` links of a contract: with ``--contract``
doctor requires exactly those; without one it lists them and says which links would need them.

    report = diagnose("local", contract=None)
    sys.exit(report.exit_code)
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gauntlet.boot.binaries import install_command, locate, locate_go, locate_postgres_bindir
from gauntlet.boot.pgbouncer import locate_pgbouncer
from gauntlet.boot.rabbitmq import locate_rabbitmq, rabbitmq_version
from gauntlet.contract import Contract
from gauntlet.errors import InfrastructureError
from gauntlet.install import http_toxics_revision, program_version
from gauntlet.outcome import ExitCode

Backend = Literal["local", "compose", "external"]
GROUPS = ("local backend", "managed links (local backend)", "compose backend",
          "building Toxiproxy")


@dataclass(frozen=True)
class Check:
    """One program: what it is for, whether the backend asked about needs it, what was found."""

    name: str
    group: str
    purpose: str
    required: bool
    path: str | None = None
    version: str | None = None
    problem: str | None = None  # None: found and usable
    install: str = ""

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class Report:
    backend: Backend
    contract: str | None
    checks: tuple[Check, ...]

    @property
    def missing(self) -> list[Check]:
        return [c for c in self.checks if c.required and not c.ok]

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.INFRASTRUCTURE if self.missing else ExitCode.PASSED

    def verdict(self) -> str:
        """The closing line: ready, or what is missing for which backend."""
        what = f"{self.backend} backend" + (f" for contract {self.contract}"
                                            if self.contract else "")
        if not self.missing:
            return f"{what}: ready"
        names = ", ".join(c.name for c in self.missing)
        return f"{what}: missing {names}"


def _first_version(argv: list[str]) -> str | None:
    """The first dotted version number a program prints about itself."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=15, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"(\d+\.\d+(?:\.\d+)?)", done.stdout + done.stderr)
    return match.group(1) if match else None


def _server_version(path: Path) -> str | None:
    """The server's version and whether it carries gauntlet's HTTP toxics: a stock server runs
    every experiment but the HTTP faults (docs/faults.md)."""
    version = program_version(path)
    if version is None:
        return None
    revision = http_toxics_revision(path)
    if revision is None:
        return f"{version} (stock: no HTTP toxics; `gauntlet install toxiproxy` builds them in)"
    return f"{version} + HTTP toxics {revision}"


def _program(name: str, group: str, purpose: str, required: bool, path: Path | None,
             version: Callable[[Path], str | None]) -> Check:
    command = install_command(name)
    if path is None:
        return Check(name, group, purpose, required, problem="not found", install=command)
    found = version(path)
    if found is None:
        return Check(name, group, purpose, required, path=str(path),
                     problem="does not run (no version)", install=command)
    return Check(name, group, purpose, required, path=str(path), version=found,
                 install=command)


def managed_kinds(contract: Contract | None) -> dict[str, list[str]]:
    """``{"postgres": [link, ...], "redis": [...]}``: the links a contract has the local
    backend start a private PostgreSQL or Redis for."""
    kinds: dict[str, list[str]] = {}
    for name, link in (contract.links.items() if contract is not None else []):
        if link.managed:
            kinds.setdefault(link.managed, []).append(name)
    return kinds


def _managed_purpose(kind: str, links: list[str] | None, contract: Contract | None) -> str:
    label = {"postgres": "PostgreSQL", "redis": "Redis", "rabbitmq": "RabbitMQ"}[kind]
    if links:
        named = ", ".join(repr(link) for link in links)
        return f"{label} for managed link{'s' if len(links) > 1 else ''} {named}"
    if contract is not None:
        return f"{label} for managed links (contract {contract.name} has none)"
    return f"{label} for a contract's managed {kind} links"


def diagnose(backend: Backend = "local", contract: Contract | None = None) -> Report:
    """Every program of every backend, found or not; ``required`` is judged for ``backend``
    (and, for managed links, ``contract``)."""
    local = backend == "local"
    kinds = managed_kinds(contract)
    checks: list[Check] = [
        _program("toxiproxy-server", GROUPS[0], "injects every fault", local,
                 locate("toxiproxy-server"), _server_version),
        _program("toxiproxy-cli", GROUPS[0], "poking a stack by hand, e.g. under gauntlet up",
                 False, locate("toxiproxy-cli"), program_version),
    ]
    bindir = locate_postgres_bindir()
    postgres_links = kinds.get("postgres")
    for name in ("initdb", "postgres"):
        path = bindir / name if bindir is not None and (bindir / name).is_file() else None
        checks.append(_program(name, GROUPS[1], _managed_purpose("postgres", postgres_links,
                                                                  contract),
                               local and bool(postgres_links), path,
                               lambda p: _first_version([str(p), "--version"])))
    redis_links = kinds.get("redis")
    checks.append(_program("redis-server", GROUPS[1],
                           _managed_purpose("redis", redis_links, contract),
                           local and bool(redis_links), locate("redis-server"),
                           lambda p: _first_version([str(p), "--version"])))
    pooled = [n for n, link in (contract.links.items() if contract else []) if link.pooler]
    checks.append(_program("pgbouncer", GROUPS[1],
                           "PgBouncer for a managed postgres link's pooler = \"pgbouncer\""
                           + (f" ({', '.join(pooled)})" if pooled else ""),
                           local and bool(pooled), locate_pgbouncer(),
                           lambda p: _first_version([str(p), "--version"])))
    brokers = kinds.get("rabbitmq")
    checks.append(_program("rabbitmq-server", GROUPS[1],
                           _managed_purpose("rabbitmq", brokers, contract),
                           local and bool(brokers), locate_rabbitmq(), rabbitmq_version))
    checks += _docker_checks(required=backend == "compose")
    checks.append(_program("go", GROUPS[3], "gauntlet install toxiproxy builds it with Go",
                           False, locate_go(), _go_version))
    return Report(backend, contract.name if contract is not None else None, tuple(checks))


def _go_version(path: Path) -> str | None:
    found = _first_version([str(path), "version"])
    return f"go{found}" if found else None


def _docker_checks(required: bool) -> list[Check]:
    """The compose backend's own checks (gauntlet.boot.engine), so doctor and a compose run
    agree on what "Docker works" means."""
    from gauntlet.boot.engine import require_compose_v2, require_docker

    client = locate("docker")
    engine = Check("docker engine", GROUPS[2], "runs the stack's containers", required,
                   path=str(client) if client else None, install=install_command("docker"))
    compose = Check("docker compose v2", GROUPS[2], "the compose backend drives it", required,
                    install=install_command("docker-compose"))
    if client is None:
        return [replace(engine, problem="no docker CLI"),
                replace(compose, problem="no docker CLI")]
    try:
        engine = replace(engine, version=require_docker())
    except InfrastructureError as exc:
        engine = replace(engine, problem=str(exc.args[0]))
        if locate("dockerd") is not None:  # installed, not running
            engine = replace(engine, install="start it: sudo systemctl start docker "
                                             "(or sudo dockerd &)")
    try:
        compose = replace(compose, version=require_compose_v2(os.environ),
                          path=f"{client} compose")
    except InfrastructureError as exc:
        compose = replace(compose, problem=str(exc.args[0]))
    return [engine, compose]


def render(report: Report, console: Console) -> None:
    """One small table per group; a found program shows its version and path, a missing one
    the command that installs it."""
    for group in GROUPS:
        rows = [c for c in report.checks if c.group == group]
        asked = group.startswith(report.backend)
        console.print(f"[bold]{escape(group)}[/]" + (" [dim](asked about)[/]" if asked else ""))
        table = Table(show_header=False, box=None, pad_edge=False, padding=(0, 1, 0, 2))
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True, min_width=17)
        table.add_column(no_wrap=True, min_width=15)
        table.add_column(overflow="fold")
        for check in rows:
            need = ("required: " if check.required else "") + check.purpose
            if check.ok:
                table.add_row("[green]✓[/]", escape(check.name), escape(check.version or ""),
                              f"{escape(check.path or '')} [dim]({escape(need)})[/]")
            else:
                mark = "[bold red]✗[/]" if check.required else "[yellow]-[/]"
                table.add_row(mark, escape(check.name), escape(check.problem or ""),
                              f"[bold]{escape(check.install)}[/] [dim]({escape(need)})[/]")
        console.print(table)
    colour = "green" if not report.missing else "bold red"
    console.print(f"[{colour}]{escape(report.verdict())}[/]")
    for check in report.missing:
        console.print(f"  {escape(check.name)}: {escape(check.install)}", soft_wrap=True)
