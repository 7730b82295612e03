"""Booting a stack: ``boot(suite) -> Stack``, one interface over every backend.

    with boot(suite) as stack:
        httpx.get(stack.base_url + "/whatever/the/contract/names")
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gauntlet.boot.stack import Endpoint, Restartable, Service, Stack
from gauntlet.config import Suite
from gauntlet.errors import ConfigError

__all__ = ["Endpoint", "Restartable", "Service", "Stack", "boot"]


@contextmanager
def boot(suite: Suite, logs_dir: Path | None = None) -> Iterator[Stack]:
    backend = suite.stack.backend
    if backend == "local":
        from gauntlet.boot.local import boot_local

        with boot_local(suite.the_contract, suite.stack, logs_dir) as stack:
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
