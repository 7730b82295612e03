"""The booted stack as the rest of gauntlet sees it, whichever backend made it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from gauntlet.chaos.faults import FaultInjector
from gauntlet.chaos.toxiproxy import ToxiproxyClient
from gauntlet.contract import Contract, Probes
from gauntlet.errors import ConfigError
from gauntlet.timeline import Timeline


class Service(Protocol):
    """What a backend can do to one of its services: signal it and watch it exit."""

    def send_signal(self, sig: int) -> None: ...
    def wait(self, timeout_s: float | None = None) -> int | None: ...
    def alive(self) -> bool: ...


@dataclass
class Stack:
    """A running stack.

    ``base_url`` goes through the main service's own proxy where the backend made one (load
    and faults on the service share one path); ``api_direct_url`` bypasses it (probes that must
    not be slowed by a fault). ``proxies`` maps the contract's link names to Toxiproxy proxy
    names. ``database_url`` reaches PostgreSQL directly, for integrity read-backs
    (``database_urls`` per managed link).
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
