"""One exception tree for gauntlet.

Library errors are converted at the boundary (``raise ... from exc``) so that the CLI can map an
outcome to an exit code in one place: configuration problems are the user's to fix (exit 2),
infrastructure problems are the machine's (exit 3), and an interrupt is neither (exit 130).
"""

from __future__ import annotations

from pathlib import Path


class GauntletError(Exception):
    """Base of every error gauntlet raises on purpose."""

    exit_code = 3


class ConfigError(GauntletError):
    """The suite file, a profile or a command line is wrong. Nothing has been started."""

    exit_code = 2


class InfrastructureError(GauntletError):
    """Something gauntlet needs (a binary, a port, a process, Docker, Toxiproxy) failed.

    ``hint`` tells a person what to do; ``logs`` carries the last lines of the failing process so
    the one-line message can be followed by the evidence.
    """

    exit_code = 3

    def __init__(self, message: str, *, hint: str | None = None, logs: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint
        self.logs = logs

    def __str__(self) -> str:
        text = super().__str__()
        if self.hint:
            text = f"{text} (hint: {self.hint})"
        return text


class BootError(InfrastructureError):
    """A stack service did not start or did not become ready in time."""


class PortTakenError(BootError):
    """A server died before it was ready because its port was taken in the meantime: the ports
    are picked free, and a server that binds seconds later (a broker booting) can lose its port
    to another process. A boot with fresh ports may succeed."""


class ToxiproxyError(InfrastructureError):
    """The Toxiproxy API refused or failed a request."""


class Interrupted(GauntletError):
    """SIGINT or SIGTERM reached gauntlet; everything it started is being torn down."""

    exit_code = 130


class JudgeError(GauntletError):
    """The judge failed closed: analysis or a verdict function raised, the run produced no
    verdict, or a gate would have been judged on zero requests. Never a pass (exit 3).

    ``log_path`` is where the full traceback was written (the run dir's ``logs/judge.log``).
    """

    exit_code = 3

    def __init__(self, message: str, *, log_path: Path | None = None) -> None:
        super().__init__(message)
        self.log_path = log_path
