"""The one place that decides a run's status and its exit code.

    0    every verdict passed
    1    a verdict failed: the run proved a defect
    4    nothing failed, but a verdict was inconclusive: the run proved nothing about that claim
    2    usage or configuration (nothing was started)
    3    infrastructure, or the judge failed closed: it raised, produced no verdict, or had no
         request to judge
    130  interrupted

Why inconclusive has a code of its own (4) rather than sharing 1: a nightly job must tell
"proved a defect" (page someone, the service is broken) from "proved nothing" (the experiment
never exercised the mechanism: fix the test, the load or the steady state). Both are non-zero,
so a CI that only asks "did it pass?" still goes red on an inconclusive run; a job that wants
the distinction reads the code. A failure outranks an inconclusive verdict, since it is the
stronger statement. 4 is the next free code after the ones this tool always had, and stays clear
of 126-128 and 128+N, which shells reserve.

An empty verdict list with no error is not a pass: a run that judged nothing proves nothing, and
it is the judge's failure (exit 3, "the run produced no verdict"), never a green build.
"""

from __future__ import annotations

import traceback
from enum import IntEnum
from pathlib import Path
from typing import Literal

from gauntlet.checks.verdict import Verdict
from gauntlet.errors import GauntletError, Interrupted, JudgeError

RunStatus = Literal["pass", "fail", "inconclusive", "error", "interrupted"]
JUDGE_LOG = "logs/judge.log"
ERROR_LOG = "logs/error.log"


class ExitCode(IntEnum):
    PASSED = 0
    VERDICT_FAILED = 1
    USAGE = 2
    INFRASTRUCTURE = 3
    INCONCLUSIVE = 4
    INTERRUPTED = 130


def exit_code(verdicts: list[Verdict] | None, error: BaseException | None = None) -> ExitCode:
    """0 all pass · 1 a verdict failed · 4 inconclusive, none failed · 2 usage/config ·
    3 infrastructure or the judge failed (also: no verdict at all) · 130 interrupted."""
    if isinstance(error, KeyboardInterrupt | Interrupted):
        return ExitCode.INTERRUPTED
    if isinstance(error, GauntletError):
        return ExitCode(error.exit_code)
    if error is not None:
        return ExitCode.INFRASTRUCTURE
    if not verdicts:
        return ExitCode.INFRASTRUCTURE  # nothing judged is the judge's failure, not a pass
    if any(v.failed for v in verdicts):
        return ExitCode.VERDICT_FAILED
    if any(v.inconclusive for v in verdicts):
        return ExitCode.INCONCLUSIVE
    return ExitCode.PASSED


def run_status(verdicts: list[Verdict] | None, error: BaseException | None = None) -> RunStatus:
    """summary.json's ``status``, consistent with :func:`exit_code`."""
    code = exit_code(verdicts, error)
    if code == ExitCode.INTERRUPTED:
        return "interrupted"
    if code == ExitCode.VERDICT_FAILED:
        return "fail"
    if code == ExitCode.INCONCLUSIVE:
        return "inconclusive"
    if code == ExitCode.PASSED:
        return "pass"
    return "error"


def no_verdict() -> JudgeError:
    return JudgeError("the run produced no verdict: nothing was judged")


def judge_failed(run_dir: Path, exc: BaseException) -> JudgeError:
    """Fail closed: the full traceback of ``exc`` goes to ``logs/judge.log``; the JudgeError
    returned carries the one-line cause for the summary and the console.

    A JudgeError raised on purpose (no request to judge) keeps its own message.
    """
    log = _write_traceback(run_dir / JUDGE_LOG, exc)
    if isinstance(exc, JudgeError):
        exc.log_path = log
        return exc
    first = (str(exc).strip().splitlines() or [""])[0]
    cause = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return JudgeError(f"the judge failed: {cause}", log_path=log)


def log_unexpected(run_dir: Path, exc: BaseException) -> Path | None:
    """The traceback of an error gauntlet did not raise on purpose (a bug, not a GauntletError
    nor an interrupt) in ``logs/error.log``; the summary keeps the one line."""
    if isinstance(exc, GauntletError | KeyboardInterrupt):
        return None
    return _write_traceback(run_dir / ERROR_LOG, exc)


def _write_traceback(path: Path, exc: BaseException) -> Path | None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write("".join(traceback.format_exception(exc)))
            fh.write("\n")
    except OSError:
        return None
    return path
