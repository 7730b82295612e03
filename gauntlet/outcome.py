"""The one place that decides the exit code."""

from __future__ import annotations

from enum import IntEnum

from checks.verdict import Verdict
from gauntlet.errors import GauntletError


class ExitCode(IntEnum):
    PASSED = 0
    VERDICT_FAILED = 1
    USAGE = 2
    INFRASTRUCTURE = 3
    INTERRUPTED = 130


def exit_code(verdicts: list[Verdict] | None, error: BaseException | None = None) -> ExitCode:
    """0 all verdicts pass · 1 a verdict failed · 2 usage/config · 3 infrastructure · 130 ^C."""
    if isinstance(error, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    if isinstance(error, GauntletError):
        return ExitCode(error.exit_code)
    if error is not None:
        return ExitCode.INFRASTRUCTURE
    if verdicts and not all(v.passed for v in verdicts):
        return ExitCode.VERDICT_FAILED
    return ExitCode.PASSED
