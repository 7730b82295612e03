"""The booted stack as the rest of gauntlet sees it, whichever backend made it."""

from __future__ import annotations

import signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from gauntlet.chaos.faults import FaultInjector
from gauntlet.chaos.toxiproxy import ToxiproxyClient
from gauntlet.contract import Contract, Probes
from gauntlet.errors import ConfigError, InfrastructureError
from gauntlet.timeline import Timeline

LOG_LINES = 20


class Service(Protocol):
    """What a backend can do to one of its services: signal it and watch it exit."""

    def send_signal(self, sig: int) -> None: ...
    def wait(self, timeout_s: float | None = None) -> int | None: ...
    def alive(self) -> bool: ...


class Watched(Protocol):
    """A process (or container) the backend started for the stack: watched while load runs."""

    def alive(self) -> bool: ...
    @property
    def returncode(self) -> int | None: ...
    def tail(self, lines: int = LOG_LINES) -> str: ...


class StackProcessDied(InfrastructureError):
    """A process of the stack exited while gauntlet was measuring it: whatever the samples say
    after that is about a broken stack, not about the service's claims."""


def _how(code: int | None) -> str:
    if code is None:
        return "exited"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"
@runtime_checkable
class Restartable(Protocol):
    """A service the backend can start again after it exited (the local backend's processes,
    the up stack's through its owner)."""

    def send_signal(self, sig: int) -> None: ...
    def wait(self, timeout_s: float | None = None) -> int | None: ...
    def restart(self) -> object: ...


@dataclass(frozen=True)
class Endpoint:
    """One part of a booted stack as a person reaches it (``gauntlet up`` lists them).

    ``url`` is the address to use: the main service's goes through its Toxiproxy proxy (where
    load goes), a link's is its proxy (what the services are given); ``direct_url`` bypasses
    the proxy (a managed PostgreSQL itself, the main service's own port)."""

    name: str
    kind: Literal["service", "link", "toxiproxy"]
    url: str
    pid: int | None = None
    direct_url: str | None = None
    log: str | None = None


@dataclass
class Stack:
    """A running stack.

    ``base_url`` goes through the main service's own proxy where the backend made one (load
    and faults on the service share one path); ``api_direct_url`` bypasses it (probes that must
    not be slowed by a fault). ``proxies`` maps the contract's link names to Toxiproxy proxy
    names. ``database_url`` reaches PostgreSQL directly, for integrity read-backs
    (``database_urls`` per managed link). ``processes``: every process or container the backend
    started and that was running once the stack was up (services, managed databases,
    Toxiproxy), by name; :meth:`check_alive` says which one died. The external backend started
    none. ``disposable``: the backend booted this stack for one experiment and throws it away
    (local, compose); False where the stack outlives the run (external, ``gauntlet up``), so a
    service an experiment ended stays down unless something restarts it. ``endpoints``: every
    part with its pid and address, for a person (``gauntlet up`` prints them).
    """

    backend: str
    base_url: str
    contract: Contract | None = None
    api_direct_url: str | None = None
    toxiproxy: ToxiproxyClient | None = None
    proxies: Mapping[str, str] = field(default_factory=dict)
    database_url: str | None = None
    database_urls: Mapping[str, str] = field(default_factory=dict)
    services: Mapping[str, Service] = field(default_factory=dict)
    logs_dir: Path | None = None
    boot_time_s: float = 0.0
    versions: Mapping[str, str] = field(default_factory=dict)
    variants: tuple[str, ...] = ()
    processes: Mapping[str, Watched] = field(default_factory=dict)
    disposable: bool = True
    endpoints: tuple[Endpoint, ...] = ()

    def check_alive(self, during: str) -> None:
        """Raise :class:`StackProcessDied` (exit 3) naming the first process of the stack that
        is no longer running, with its last log lines; ``during`` says what was under way."""
        for name, proc in self.processes.items():
            if proc.alive():
                continue
            code = proc.returncode
            raise StackProcessDied(
                f"stack process {name!r} {_how(code)} during {during}: the stack broke under "
                "the measurement, so its samples judge nothing",
                logs=proc.tail(LOG_LINES) or "(its log is empty)",
                hint=f"its log is in {self.logs_dir}" if self.logs_dir else None)

    @property
    def probe_url(self) -> str:
        return self.api_direct_url or self.base_url

    @property
    def probes(self) -> Probes:
        return self.contract.probes if self.contract is not None else Probes()

    def service(self, name: str) -> Service:
        if name not in self.services:
            known = ", ".join(sorted(self.services)) or "none on this backend"
            raise ConfigError(f"no service {name!r} to signal (known: {known})")
        return self.services[name]

    def signal(self, name: str, sig: int) -> None:
        self.service(name).send_signal(sig)

    def faults(self, timeline: Timeline | None = None) -> FaultInjector:
        if self.toxiproxy is None:
            raise ConfigError(
                "this stack has no Toxiproxy: faults need stack.toxiproxy_url (external backend)"
            )
        return FaultInjector(self.toxiproxy, self.proxies, timeline)
