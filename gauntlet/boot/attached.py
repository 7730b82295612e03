"""Backend ``up``: the stack a ``gauntlet up`` keeps running, reached through its handle.

It boots nothing and owns nothing, like the external backend, but it knows what the handle
knows: every address (so the suite names none), and every process with its pid. A claim that
names a service can therefore signal it here; its exit code is the one ``gauntlet up`` saw when
it reaped it (the handle records each exit), and ``gauntlet up`` starts it again when asked
(SIGHUP to the owner), so an experiment that ends the service does not end the stack.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import httpx

from gauntlet import cleanup
from gauntlet.boot.handle import UpHandle, handle_path, read_handle
from gauntlet.boot.stack import Endpoint, Service, Stack
from gauntlet.chaos.toxiproxy import ToxiproxyClient
from gauntlet.config import StackConfig
from gauntlet.contract import Contract
from gauntlet.errors import ConfigError, InfrastructureError
from gauntlet.procs import pid_alive

# how long the owner may take to record an exit it reaped (it polls every 0.2 s)
RECORD_GRACE_S = 3.0
RESTART_TIMEOUT_S = 90.0
RESTART_SIGNAL = signal.SIGHUP


class AttachedService:
    """A process of the up stack: signalled by pid; its exit code read from the handle once
    the owner reaped it; restarted by the owner."""

    def __init__(self, path: Path, name: str, pid: int) -> None:
        self.path = path
        self.name = name
        self.pid = pid

    def _handle(self) -> UpHandle:
        handle = read_handle(self.path)
        if not handle.owner_alive():
            raise InfrastructureError(f"the up stack's owner (pid {handle.owner_pid}) exited: "
                                      f"{self.name} is no longer watched")
        return handle

    def send_signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # gone already: wait() says how
            os.kill(self.pid, sig)

    def alive(self) -> bool:
        return pid_alive(self.pid)

    def _recorded(self, handle: UpHandle) -> int | None:
        part = handle.part(self.name)
        exits = [e.code for e in (part.exits if part else []) if e.pid == self.pid]
        return exits[-1] if exits else None

    def wait(self, timeout_s: float | None = None) -> int | None:
        """The exit code once the owner recorded it; None while it runs past ``timeout_s``."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        gone_at: float | None = None
        while True:
            cleanup.check()
            code = self._recorded(self._handle())
            if code is not None:
                return code
            if not self.alive():
                gone_at = gone_at or time.monotonic()
                if time.monotonic() - gone_at > RECORD_GRACE_S:
                    raise InfrastructureError(f"{self.name} (pid {self.pid}) exited and the up "
                                              "stack's owner recorded no exit code for it")
            elif deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(0.05)

    def restart(self) -> None:
        """Ask the owner to start every exited service again; back once this one runs (and,
        where it has a readiness path, answers it)."""
        handle = self._handle()
        os.kill(handle.owner_pid, RESTART_SIGNAL)
        deadline = time.monotonic() + RESTART_TIMEOUT_S
        while time.monotonic() < deadline:
            cleanup.check()
            part = self._handle().part(self.name)
            if part is not None and part.pid not in (None, self.pid) and part.running:
                self.pid = part.pid or self.pid
                return
            time.sleep(0.1)
        raise InfrastructureError(f"{self.name}: the up stack did not restart it within "
                                  f"{RESTART_TIMEOUT_S:g} s", hint=f"see {self.path}")


def _check_running(path: Path, handle: UpHandle, contract: Contract | None) -> None:
    if not handle.owner_alive():
        raise InfrastructureError(f"the stack of {path} is gone: its `gauntlet up` (pid "
                                  f"{handle.owner_pid}) exited",
                                  hint="start it again with `gauntlet up`")
    if contract is not None and handle.contract_name not in (None, contract.name):
        raise ConfigError(f"the up stack runs contract {handle.contract_name!r} "
                          f"({handle.contract}); this command names contract {contract.name!r}")
    for part in handle.parts:
        if not part.running:
            last = part.exits[-1]
            when = datetime.fromtimestamp(last.at).strftime("%H:%M:%S")
            raise InfrastructureError(
                f"{part.kind} {part.name} of the up stack exited with code {last.code} at "
                f"{when} (pid {last.pid})",
                hint=f"`kill -HUP {handle.owner_pid}` starts it again, or `gauntlet down` and "
                     "`gauntlet up`")


@contextmanager
def boot_up(config: StackConfig, contract: Contract | None) -> Iterator[Stack]:
    """The stack of the handle ``config.handle`` (``.gauntlet/up.json`` here by default)."""
    started = time.monotonic()
    path = Path(config.handle) if config.handle else handle_path()
    handle = read_handle(path)
    _check_running(path, handle, contract)
    probe = contract.probes.live if contract and contract.probes.live else "/"
    try:
        httpx.get((handle.api_direct_url or handle.base_url) + probe, timeout=5.0)
    except httpx.HTTPError as exc:
        raise InfrastructureError(f"the up stack does not answer at {handle.base_url}: {exc}",
                                  hint=f"see the output of `gauntlet up` ({path})") from exc
    client = None
    if handle.toxiproxy_url:
        client = ToxiproxyClient(handle.toxiproxy_url)
        client.wait_up(timeout_s=5.0)
    services: dict[str, Service] = {
        part.name: AttachedService(path, part.name, part.pid) for part in handle.parts
        if part.pid is not None and part.kind != "toxiproxy"}
    try:
        yield Stack(
            backend="up",
            base_url=handle.base_url,
            api_direct_url=handle.api_direct_url,
            contract=contract,
            toxiproxy=client,
            proxies=dict(handle.proxies),
            database_url=handle.database_url,
            database_urls=dict(handle.database_urls),
            services=services,
            logs_dir=Path(handle.logs_dir) if handle.logs_dir else None,
            boot_time_s=time.monotonic() - started,
            variants=tuple(handle.variants),
            disposable=False,
            endpoints=tuple(Endpoint(p.name, p.kind, p.url, p.pid, p.direct_url, p.log)
                            for p in handle.parts),
        )
    finally:
        if client is not None:
            client.reset()
