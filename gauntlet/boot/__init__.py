"""Booting a stack: ``boot(suite) -> Stack``, one interface over every backend.

    with boot(suite) as stack:
        httpx.get(stack.base_url + "/whatever/the/contract/names")
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from gauntlet.boot.stack import Endpoint, Restartable, Service, Stack
from gauntlet.config import Suite
from gauntlet.errors import ConfigError, PortTakenError

__all__ = ["Endpoint", "Restartable", "Service", "Stack", "boot"]

# boots of the local backend, each with freshly picked ports, before a server that lost its
# port in the meantime (it binds seconds after the pick) is an error: ports are picked free,
# not held, and another process may bind one first
PORT_ATTEMPTS = 3


@contextmanager
def boot(suite: Suite, logs_dir: Path | None = None) -> Iterator[Stack]:
    backend = suite.stack.backend
    if backend == "local":
        from gauntlet.boot.local import boot_local

        with ExitStack() as booted:
            for attempt in range(1, PORT_ATTEMPTS + 1):
                before = _files(logs_dir)
                try:
                    stack = booted.enter_context(boot_local(suite.the_contract, suite.stack,
                                                            logs_dir))
                    break
                except PortTakenError:
                    # the failed boot tore itself down; its ports are given up with it
                    if attempt == PORT_ATTEMPTS:
                        raise
                    _set_aside(logs_dir, before, attempt)
            yield stack
    elif backend == "external":
        from gauntlet.boot.external import boot_external

        with boot_external(suite.stack, suite.resolved_contract) as stack:
            yield stack
    elif backend == "up":
        from gauntlet.boot.attached import boot_up

        with boot_up(suite.stack, suite.resolved_contract) as stack:
            yield stack
    elif backend == "compose":  # the contract's [compose] files (parse_suite checked it has one)
        from gauntlet.boot.compose import boot_compose

        with boot_compose(suite.the_contract, suite.stack, logs_dir) as stack:
            yield stack
    else:  # pragma: no cover - the schema forbids it
        raise ConfigError(f"unknown backend {backend!r}")


def _files(logs_dir: Path | None) -> set[str]:
    if logs_dir is None or not logs_dir.is_dir():
        return set()
    return {p.name for p in logs_dir.iterdir() if p.is_file()}


def _set_aside(logs_dir: Path | None, before: set[str], attempt: int) -> None:
    """Move the logs a failed boot wrote to ``logs/boot-attempt-N/``: the next boot's services
    start on fresh files, and a claim on a service's log judges the run's lines, not the
    bind error of a boot that never served (files already there before it are left alone)."""
    if logs_dir is None or not logs_dir.is_dir():
        return
    aside = logs_dir / f"boot-attempt-{attempt}"
    for name in _files(logs_dir) - before:
        aside.mkdir(exist_ok=True)
        (logs_dir / name).rename(aside / name)
