"""``gauntlet up`` and ``gauntlet down``: a stack kept running for local iteration.

``up`` boots a stack (local or compose backend; fixed ports with ``stack.ports`` / ``--port``),
prints every part of it with its pid and address, and writes a handle (``.gauntlet/NAME.json``
here, :mod:`gauntlet.boot.handle`) that ``gauntlet run/verify/chaos --stack NAME`` aim at. Then
it watches: a process of the stack that exits is reaped at once (a ``<defunct>`` child would
otherwise sit in the process table, and the stack would look alive to ``ps``), reported with
its exit code and its last log lines, and its exit is recorded in the handle — where a shutdown
experiment on the up stack reads the code. SIGHUP asks it to start every exited service again.
SIGINT/SIGTERM (Ctrl-C, ``gauntlet down``) stop the stack and remove the handle.

    serve(suite, "up", contract_path, echo=print)     # until Ctrl-C or `gauntlet down`
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from pydantic import ValidationError

from gauntlet import cleanup
from gauntlet.boot import Service, Stack, boot
from gauntlet.boot.handle import Exit, Part, UpHandle, handle_path, read_handle, write_handle
from gauntlet.boot.stack import Restartable
from gauntlet.chaos.commands import http_ok
from gauntlet.config import StackConfig, Suite
from gauntlet.contract import one_line
from gauntlet.errors import BootError, ConfigError, InfrastructureError

POLL_S = 0.2
LOG_LINES = 10
Echo = Callable[[str], None]


def handle_of(stack: Stack, name: str, suite: Suite, contract_path: Path | None) -> UpHandle:
    """The handle describing a booted stack, owned by this process."""
    contract = suite.resolved_contract
    return UpHandle(
        name=name, owner_pid=os.getpid(), backend=stack.backend,
        contract=str(contract_path) if contract_path else None,
        contract_name=contract.name if contract else None,
        base_url=stack.base_url, api_direct_url=stack.api_direct_url,
        toxiproxy_url=stack.toxiproxy.url if stack.toxiproxy else None,
        proxies=dict(stack.proxies), database_url=stack.database_url,
        database_urls=dict(stack.database_urls), variants=list(stack.variants),
        logs_dir=str(stack.logs_dir) if stack.logs_dir else None, started_at=time.time(),
        parts=[Part(name=e.name, kind=e.kind, url=e.url, pid=e.pid, direct_url=e.direct_url,
                    log=e.log) for e in stack.endpoints])


def describe(handle: UpHandle, path: Path, boot_time_s: float) -> list[str]:
    """What ``gauntlet up`` prints once the stack is up: each part, its pid, its address."""
    where = f" — contract {handle.contract_name}" if handle.contract_name else ""
    lines = [f"stack {handle.name!r} up ({handle.backend}) in {boot_time_s:.2f} s{where}"]
    width = max((len(p.name) for p in handle.parts), default=4)
    for part in handle.parts:
        pid = f"pid {part.pid}" if part.pid else ""
        extra = ""
        if part.kind == "service" and part.direct_url:
            extra = f"  (through its Toxiproxy proxy; own port {part.direct_url})"
        elif part.kind == "link" and part.direct_url:
            extra = f"  (through its Toxiproxy proxy; direct {part.direct_url})"
        name = "" if part.kind == "toxiproxy" else part.name
        lines.append(f"  {part.kind:<9} {name:<{width}}  {pid:<10} {part.url}{extra}")
    if not handle.parts:
        lines.append(f"  load goes to {handle.base_url}")
    lines += [f"handle {path}: `gauntlet run SUITE --stack {handle.name}`, `gauntlet verify "
              f"CONTRACT --stack {handle.name}` aim at this stack",
              f"Ctrl-C or `gauntlet down` stops it; `kill -HUP {handle.owner_pid}` starts an "
              "exited service again"]
    return lines


def _tail(log: str | None) -> str:
    if not log:
        return ""
    try:
        lines = Path(log).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(f"    | {line}" for line in lines[-LOG_LINES:])


def reap_exited(stack: Stack, handle: UpHandle, echo: Echo) -> bool:
    """Record (and reap) every process of the stack that exited since the last look; True
    when the handle changed."""
    changed = False
    for part in handle.parts:
        service = stack.services.get(part.name) if part.kind != "toxiproxy" else None
        if service is None or part.pid is None or not part.running or service.alive():
            continue
        code = service.wait(0)  # alive() polled it: the child is reaped, its code kept
        if code is None:
            continue
        part.exits.append(Exit(pid=part.pid, code=code, at=time.time()))
        how = f"code {code}" if code >= 0 else f"signal {signal.Signals(-code).name}"
        tail = _tail(part.log)
        echo(f"{part.kind} {part.name} (pid {part.pid}) exited with {how}"
             + (f"; last lines of {part.log}:\n{tail}" if tail else ""))
        changed = True
    return changed


def restart_exited(stack: Stack, suite: Suite, handle: UpHandle, echo: Echo) -> bool:
    """Start every exited service again (same command, ports, environment, log), and wait for
    its readiness path; True when the handle changed."""
    contract = suite.resolved_contract
    changed = False
    for part in handle.parts:
        service: Service | None = stack.services.get(part.name)
        if part.running or service is None:
            continue
        if not isinstance(service, Restartable):
            echo(f"{part.name}: the {stack.backend} backend cannot start it again")
            continue
        service.restart()
        spec = contract.services.get(part.name) if contract else None
        if spec is not None and spec.ready:
            url = (part.direct_url or part.url) + spec.ready
            deadline = time.monotonic() + spec.start_timeout_s
            while not http_ok(url):
                cleanup.check()
                if not service.alive() or time.monotonic() > deadline:
                    raise BootError(f"{part.name} did not answer {spec.ready} after a restart",
                                    logs=_tail(part.log), hint=f"see {part.log}")
                time.sleep(0.1)
        part.pid = getattr(service, "pid", None)
        echo(f"{part.kind} {part.name} started again (pid {part.pid})")
        changed = True
    return changed


@contextmanager
def _on_restart_signal(flag: threading.Event) -> Iterator[None]:
    """SIGHUP sets ``flag`` (a handler only sets a flag); the old handler comes back after."""

    def handler(signum: int, frame: FrameType | None) -> None:
        flag.set()

    previous = signal.signal(signal.SIGHUP, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGHUP, previous)


def _claim_name(path: Path) -> None:
    """One live stack per handle: a live owner is a ConfigError, a dead one's handle goes."""
    if not path.exists():
        return
    try:
        existing = read_handle(path)
    except ConfigError:
        path.unlink(missing_ok=True)
        return
    if existing.owner_alive():
        raise ConfigError(f"a stack is already up as {existing.name!r} (pid "
                          f"{existing.owner_pid}, {path}): `gauntlet down` first, or --name "
                          "another")
    path.unlink(missing_ok=True)


def serve(suite: Suite, name: str, contract_path: Path | None, echo: Echo) -> None:
    """Boot, describe, write the handle, then watch until interrupted (raises
    :class:`~gauntlet.errors.Interrupted` then, with everything torn down and the handle
    removed)."""
    path = handle_path(name)
    _claim_name(path)
    logs = path.with_name(f"{name}.logs")
    shutil.rmtree(logs, ignore_errors=True)  # the last stack's logs, kept until this one
    restart = threading.Event()
    with cleanup.signal_handlers(), _on_restart_signal(restart), \
            boot(suite, logs_dir=logs) as stack:
        handle = handle_of(stack, name, suite, contract_path)
        token = cleanup.register(f"remove {path}", lambda: path.unlink(missing_ok=True))
        try:
            write_handle(path, handle)
            for line in describe(handle, path, stack.boot_time_s):
                echo(line)
            while True:
                cleanup.check()  # raises Interrupted once ^C or `gauntlet down` arrived
                changed = reap_exited(stack, handle, echo)
                if restart.is_set():
                    restart.clear()
                    changed = restart_exited(stack, suite, handle, echo) or changed
                if changed:
                    write_handle(path, handle)
                time.sleep(POLL_S)
        finally:
            path.unlink(missing_ok=True)
            cleanup.unregister(token)


def stop(name: str, timeout_s: float) -> str:
    """Stop the stack ``gauntlet up`` keeps as ``name`` here; what happened, in a line.
    An :class:`InfrastructureError` when its owner outlives ``timeout_s``."""
    path = handle_path(name)
    if not path.exists():
        return f"no stack is up as {name!r} here ({path})"
    handle = read_handle(path)
    if not handle.owner_alive():
        path.unlink(missing_ok=True)
        return f"the stack's owner (pid {handle.owner_pid}) had already exited; {path} removed"
    os.kill(handle.owner_pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not handle.owner_alive():
            return "stack stopped"
        time.sleep(0.1)
    raise InfrastructureError(f"stack owner {handle.owner_pid} still running after "
                              f"{timeout_s:g} s", hint=f"kill {handle.owner_pid}")


def stack_section(name: str, variants: list[str] | None = None) -> dict[str, object]:
    """The ``[stack]`` of a suite aimed at the up stack ``name`` (``--stack NAME``): its
    handle, and the variants it was booted with. A ConfigError (exit 2, nothing started) when
    no stack is up by that name here, or when the suite wants variants it was not booted with.
    """
    path = handle_path(name)
    handle = read_handle(path)
    if variants and sorted(variants) != sorted(handle.variants):
        raise ConfigError(f"variants {', '.join(variants)} were asked for, and the up stack "
                          f"{name!r} runs {', '.join(handle.variants) or 'none'}: variants are "
                          "chosen at `gauntlet up --variant`")
    return {"backend": "up", "handle": str(path), "variants": list(handle.variants)}


def with_ports(suite: Suite, ports: tuple[str, ...] | list[str]) -> Suite:
    """``suite`` with the fixed ports of ``--port NAME=PORT`` added to its ``stack.ports``; a
    bad one is one line (exit 2), before anything starts."""
    if not ports:
        return suite
    fixed = dict(suite.stack.ports)
    for text in ports:
        name, sep, port = text.partition("=")
        if not sep or not name.strip() or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"--port wants NAME=PORT with a port in 1..65535, e.g. api=8080 "
                              f"(got {text!r})")
        fixed[name.strip()] = int(port)
    try:
        stack = StackConfig.model_validate(
            {**suite.stack.model_dump(exclude_defaults=True), "ports": fixed})
    except ValidationError as exc:
        raise ConfigError(one_line(exc, "--port")) from exc
    return suite.model_copy(update={"stack": stack})


def aim_at(suite: Suite, name: str) -> Suite:
    """``suite`` with its stack replaced by the up stack ``name`` (see :func:`stack_section`)."""
    section = stack_section(name, list(suite.stack.variants))
    return suite.model_copy(update={"stack": StackConfig.model_validate(section)})
