"""The handle of a stack ``gauntlet up`` keeps running: what it booted, where, with which pids.

``gauntlet up`` writes it to ``.gauntlet/NAME.json`` in the directory it was started from (NAME
``up`` by default) and rewrites it as things change (a service exits, is restarted); it removes
it when it stops. ``gauntlet run/verify/chaos --stack NAME`` read it from their own working
directory, so a team's suite names no port, and ``gauntlet down --stack NAME`` finds the owner
to stop. The file is written whole and renamed into place, so a reader never sees half of it.

    handle = read_handle(handle_path("up"))
    handle.base_url, handle.service("api").pid
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

import psutil
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gauntlet.errors import ConfigError

HANDLE_DIR = ".gauntlet"
DEFAULT_NAME = "up"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Exit(_Record):
    """One exit of a process of the stack, as its owner reaped it."""

    pid: int
    code: int  # negative: killed by that signal
    at: float  # wall clock (time.time())


class Part(_Record):
    """A service, link or the Toxiproxy of the stack (:class:`gauntlet.boot.stack.Endpoint`)
    with its exits so far; ``pid`` is the running process (the new one after a restart)."""

    name: str
    kind: Literal["service", "link", "toxiproxy"]
    url: str
    pid: int | None = None
    direct_url: str | None = None
    log: str | None = None
    exits: list[Exit] = Field(default_factory=list)

    @property
    def running(self) -> bool:
        """Not exited since it was (re)started: no exit recorded for its current pid."""
        return self.pid is None or not any(e.pid == self.pid for e in self.exits)


class UpHandle(_Record):
    """What ``gauntlet up`` booted, for the commands that aim at it."""

    name: str
    owner_pid: int
    backend: str
    contract: str | None = None  # the contract file's path
    contract_name: str | None = None
    base_url: str
    api_direct_url: str | None = None
    toxiproxy_url: str | None = None
    proxies: dict[str, str] = Field(default_factory=dict)
    database_url: str | None = None
    database_urls: dict[str, str] = Field(default_factory=dict)
    variants: list[str] = Field(default_factory=list)
    logs_dir: str | None = None
    started_at: float
    parts: list[Part] = Field(default_factory=list)

    def part(self, name: str) -> Part | None:
        return next((p for p in self.parts if p.name == name and p.kind != "toxiproxy"), None)

    def owner_alive(self) -> bool:
        try:
            return bool(psutil.Process(self.owner_pid).status() != psutil.STATUS_ZOMBIE)
        except psutil.NoSuchProcess:
            return False
        except psutil.AccessDenied:
            return True


def handle_path(name: str = DEFAULT_NAME, directory: Path | None = None) -> Path:
    """``.gauntlet/NAME.json`` in ``directory`` (the working directory by default)."""
    if not _NAME.match(name):
        raise ConfigError(f"stack name {name!r}: letters, digits, '_', '.', '-'")
    return (directory or Path.cwd()) / HANDLE_DIR / f"{name}.json"


def read_handle(path: Path) -> UpHandle:
    """The handle at ``path``; a one-line :class:`ConfigError` when there is none or it is not
    one (nothing was started from it)."""
    try:
        text = path.read_text()
    except FileNotFoundError as exc:
        raise ConfigError(f"no stack is up: {path} does not exist (start one with `gauntlet "
                          "up` in this directory)") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the up handle ({exc.strerror})") from exc
    try:
        return UpHandle.model_validate_json(text)
    except ValidationError as exc:
        raise ConfigError(f"{path}: not an up handle ({exc.errors()[0]['msg']})") from exc


def write_handle(path: Path, handle: UpHandle) -> None:
    """Write the whole handle beside ``path`` and rename it into place (atomic for readers)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}")
    staging.write_text(handle.model_dump_json(indent=2) + "\n")
    staging.replace(path)
