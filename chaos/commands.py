"""Commands a contract names for a service gauntlet did not start: send the signal
(``command``), wait for the exit and read its code (``wait``), start it again (``restart``).

Each runs in the contract's folder, bounded by a timeout, in a session of its own (a service a
``restart`` command leaves running is the team's, not a child gauntlet takes down at exit). Its
output goes to a file, never a pipe: a restart command that starts a server in the background
hands the server its stdout, and a pipe would then never reach end-of-file.

    code = run_command(["docker", "wait", "api"], cwd=contract.base_dir, timeout_s=40,
                       what="shutdown[sigterm]: wait").stdout_code()
"""

from __future__ import annotations

import shlex
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from gauntlet import cleanup
from gauntlet.errors import InfrastructureError

OUTPUT_TAIL_LINES = 20


class CommandTimeout(InfrastructureError):
    """A command still running at its bound (it was killed)."""


@dataclass(frozen=True)
class Finished:
    """A command that ran to its end: its status, its output and how long it took."""

    argv: tuple[str, ...]
    returncode: int
    output: str
    took_s: float

    def exit_code_printed(self) -> int | None:
        """The last non-empty line of the output as an integer (``docker wait`` prints the
        container's exit code), or None when it printed none."""
        lines = [line.strip() for line in self.output.splitlines() if line.strip()]
        try:
            return int(lines[-1]) if lines else None
        except ValueError:
            return None

    def tail(self) -> str:
        return "\n".join(self.output.splitlines()[-OUTPUT_TAIL_LINES:])


def run_command(argv: list[str], *, cwd: Path, timeout_s: float, what: str) -> Finished:
    """Run ``argv`` in ``cwd`` to its end; an :class:`InfrastructureError` naming ``what`` when
    it cannot start or outlasts ``timeout_s`` (a non-zero status is the caller's to judge)."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as out:
        try:
            proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as exc:
            raise InfrastructureError(f"{what}: cannot run {shlex.join(argv)}: {exc.strerror}",
                                      hint="commands run in the contract's folder") from exc
        try:
            while True:
                try:
                    code = proc.wait(timeout=cleanup.POLL_S)
                    break
                except subprocess.TimeoutExpired:
                    cleanup.check()
                    if time.monotonic() - started > timeout_s:
                        raise CommandTimeout(
                            f"{what}: {shlex.join(argv)} still running after {timeout_s:g} s"
                        ) from None
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)
        out.seek(0)
        text = out.read().decode("utf-8", errors="replace")
    return Finished(tuple(argv), code, text, time.monotonic() - started)


def http_ok(url: str, timeout_s: float = 1.0) -> bool:
    try:
        return httpx.get(url, timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def restart_service(argv: list[str], *, cwd: Path, ready_url: str, timeout_s: float,
                    what: str) -> float:
    """Run a restart command, then wait for ``ready_url`` to answer 200; the seconds it took.

    An :class:`InfrastructureError` when the command fails or the service is not ready within
    ``timeout_s``: a stack left down would fail whatever runs next, so it is said here."""
    started = time.monotonic()
    done = run_command(argv, cwd=cwd, timeout_s=timeout_s, what=what)
    if done.returncode != 0:
        raise InfrastructureError(f"{what}: {shlex.join(argv)} exited with {done.returncode}",
                                  logs=done.tail(), hint="the service stays down")
    while not http_ok(ready_url):
        cleanup.check()
        if time.monotonic() - started > timeout_s:
            raise InfrastructureError(
                f"{what}: {ready_url} not answering 200 {timeout_s:g} s after "
                f"{shlex.join(argv)}", logs=done.tail(), hint="the service stays down")
        time.sleep(0.2)
    return time.monotonic() - started
