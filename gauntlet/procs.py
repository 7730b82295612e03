"""A child process with a bounded start, a bounded stop, and its log on disk.

Every external program gauntlet runs (PostgreSQL, Redis, Toxiproxy, the stack, Locust) goes
through :class:`ManagedProcess` so that the rules hold everywhere:

* it runs in its own session, so a Ctrl-C in the terminal reaches gauntlet only and teardown
  happens in our order, not all at once;
* it gets a parent-death signal (Linux ``PR_SET_PDEATHSIG``), so even ``kill -9`` of gauntlet
  takes the stack down with it;
* stopping is SIGTERM (or the service's own stop signal), a bounded wait, then SIGKILL, and the
  result says whether it had to be forced; every SIGKILL that found a victim is also recorded in
  :func:`gauntlet.cleanup.forced_kills`, so the run's summary and console can say what was forced;
* every wait polls in short slices and calls :func:`gauntlet.cleanup.check`, so a Ctrl-C is
  noticed within a fraction of a second (stopping is the exception: it is teardown, bounded by
  ``stop_timeout_s``, and is not cut short by a signal).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import psutil

from gauntlet import cleanup
from gauntlet.errors import BootError, PortTakenError

# what a server's log says when its bind failed on an address in use
PORT_TAKEN_MARKERS = ("address already in use", "eaddrinuse",
                      "there is already a epmd running")  # epmd -d's words

_PR_SET_PDEATHSIG = 1
# how long the rest of a process group may take to follow its leader out before SIGKILL
GROUP_GRACE_S = 1.0


def pid_alive(pid: int) -> bool:
    """Running, not a zombie: a process that exited is dead even before its parent reaps it
    (one we may not inspect is taken as alive)."""
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def _die_with_parent(sig: int) -> Callable[[], None]:
    def preexec() -> None:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)

    return preexec


def _live_group_members(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that still run (zombies only wait to be reaped: not counted,
    so a container whose init does not reap cannot fake a forced kill)."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return []
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as fh:
                # pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses
                fields = fh.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


@dataclass(frozen=True)
class StopResult:
    name: str
    returncode: int | None
    forced: bool
    took_s: float


class ManagedProcess:
    """Start with ``start()`` (or as a context manager), stop with ``stop()``; both idempotent."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
        stop_signal: int = signal.SIGTERM,
        stop_timeout_s: float = 10.0,
        death_signal: int = signal.SIGKILL,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.user = user
        self.stop_signal = stop_signal
        self.stop_timeout_s = stop_timeout_s
        self.death_signal = death_signal
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._token: int | None = None
        self._log_from = 0  # where this start's lines begin in an appended log

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> ManagedProcess:
        if self._proc is not None:
            return self
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_from = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._log = self.log_path.open("ab")
        try:
            self._proc = subprocess.Popen(
                self.argv,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=self.cwd,
                user=self.user,
                start_new_session=True,
                preexec_fn=_die_with_parent(self.death_signal),
            )
        except OSError as exc:
            self._log.close()
            self._log = None
            raise BootError(f"{self.name}: cannot start {self.argv[0]}: {exc}") from exc
        self._token = cleanup.register(f"stop {self.name}", self.kill)
        return self

    def restart(self) -> ManagedProcess:
        """Start the same command again once the process has exited: a service restarted under
        load keeps its port, environment and log (appended to)."""
        if self.alive():
            raise BootError(f"{self.name}: still running; it must exit before it starts again")
        self._release()
        self._proc = None
        return self.start()

    def __enter__(self) -> ManagedProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def send_signal(self, sig: int) -> None:
        if self.alive() and self._proc is not None:
            self._proc.send_signal(sig)

    def wait(self, timeout_s: float | None = None) -> int | None:
        """The exit code, or None if still running after ``timeout_s`` (None: no bound).

        Polls in slices of :data:`cleanup.POLL_S`, so a signal raises Interrupted meanwhile
        (outside a shield)."""
        if self._proc is None:
            return None
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            cleanup.check()
            left = cleanup.POLL_S if deadline is None else deadline - time.monotonic()
            try:
                return self._proc.wait(timeout=max(0.0, min(left, cleanup.POLL_S)))
            except subprocess.TimeoutExpired:
                if deadline is not None and time.monotonic() >= deadline:
                    return None

    def stop(self, timeout_s: float | None = None) -> StopResult:
        """SIGTERM (or ``stop_signal``), wait up to the bound, then SIGKILL the process group."""
        started = time.monotonic()
        forced = False
        proc = self._proc
        bound_s = self.stop_timeout_s if timeout_s is None else timeout_s
        if proc is not None and proc.poll() is None:
            try:
                proc.send_signal(self.stop_signal)
                proc.wait(timeout=bound_s)
            except subprocess.TimeoutExpired:
                forced = True
                self._kill_group()
                cleanup.record_forced_kill(
                    self.name, proc.pid,
                    f"still running {bound_s:g} s after {signal.Signals(self.stop_signal).name}")
                proc.wait(timeout=5)
        if proc is not None and not forced and self._group_lingers(GROUP_GRACE_S) \
                and self._kill_group():
            # children of the service (postgres backends, Locust workers) must not outlive it
            cleanup.record_forced_kill(
                self.name, proc.pid, f"processes of its group still there {GROUP_GRACE_S:g} s "
                                     "after it exited")
        elif proc is not None:
            self._kill_group()
        self._release()
        return StopResult(
            self.name, proc.returncode if proc else None, forced, time.monotonic() - started
        )

    def kill(self) -> None:
        """SIGKILL at once (the undo run at exit when nobody stopped it); recorded as forced."""
        if self._proc is not None and self._proc.poll() is None:
            self._kill_group()
            cleanup.record_forced_kill(self.name, self._proc.pid, "killed: never stopped")
            self._proc.wait(timeout=5)
        self._release()

    def _group_lingers(self, grace_s: float) -> bool:
        """Whether a live (not zombie) process of the group is still there after ``grace_s``."""
        if self._proc is None:
            return False
        deadline = time.monotonic() + grace_s
        while _live_group_members(self._proc.pid):
            if time.monotonic() >= deadline:
                return True
            time.sleep(0.05)
        return False

    def _kill_group(self) -> bool:
        """SIGKILL the process group; True if any process was left in it to kill."""
        if self._proc is None:
            return False
        try:
            os.killpg(self._proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def _release(self) -> None:
        if self._token is not None:
            cleanup.unregister(self._token)
            self._token = None
        if self._log is not None:
            self._log.close()
            self._log = None

    # -- readiness ---------------------------------------------------------------------------
    def tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def lost_its_port(self) -> bool:
        """Whether this start's lines of the log say a bind failed on an address in use
        (POSIX's words, Erlang's ``eaddrinuse``, epmd's own); an earlier start's lines in the
        same file say nothing of this one."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._log_from)
                text = log.read().decode("utf-8", errors="replace").lower()
        except OSError:
            return False
        return any(m in text for m in PORT_TAKEN_MARKERS)

    def wait_until(self, ready: Callable[[], bool], *, timeout_s: float, what: str) -> float:
        """Poll ``ready`` until true; fail early if the process dies. Returns seconds waited."""
        started = time.monotonic()
        delay = 0.01
        while True:
            cleanup.check()
            if not self.alive():
                error = PortTakenError if self.lost_its_port() else BootError
                raise error(
                    f"{self.name} exited with code {self.returncode} before {what}",
                    logs=self.tail(),
                    hint=f"see {self.log_path}",
                )
            try:
                if ready():
                    return time.monotonic() - started
            except OSError:
                pass
            if time.monotonic() - started > timeout_s:
                raise BootError(
                    f"{self.name} not {what} after {timeout_s:.0f} s",
                    logs=self.tail(),
                    hint=f"see {self.log_path}",
                )
            time.sleep(delay)
            delay = min(delay * 1.5, cleanup.POLL_S)
