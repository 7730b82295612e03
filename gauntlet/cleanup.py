"""The process-wide cleanup registry and signal handling: the only global state gauntlet keeps.

Every resource is a context manager torn down by an ``ExitStack``; this module is the net under
that net. Undo callables registered here run on normal exit (``atexit``) if the owning context
never got to run them, e.g. when the interpreter is shutting down after an unhandled error.

Signals follow the uvicorn habit: **a handler only sets a flag**, and the main flow notices it.
SIGINT/SIGTERM record themselves; :func:`check` raises :class:`Interrupted` at a point the flow
chose — every place it waits calls it (``LoadRun.wait``, ``ManagedProcess.wait_until``, the fault
plan's wait, :func:`sleep`), and every such wait polls in short slices, so Ctrl-C is noticed
within a fraction of a second without an exception landing in the middle of arbitrary code::

    while not done():
        cleanup.check()        # raises Interrupted once a signal has arrived
        time.sleep(0.1)        # or: cleanup.sleep(0.1)

An interrupt is sticky: once a signal arrived, every later :func:`check` outside a shield raises
too, until :func:`signal_handlers` restores the old handlers — an interrupted run stays
interrupted, whichever wait it reaches next.

**Shields.** Teardown runs inside :func:`shielded`: there :func:`check` does not raise, so a
second Ctrl-C cannot cut a cleanup in half. A signal that arrives during a shielded teardown is
not dropped: when the outermost shield of that thread exits normally it raises
:class:`Interrupted`; when it exits while an exception is already unwinding (the usual case: the
teardown *is* the unwinding of the first interrupt) it lets that exception go on. The shield
depth is a ``threading.local``: a shield protects the teardown of the thread that entered it
(the fault plan's threads undo their faults under their own shields) and no thread changes
another's count, so it needs no lock. Signal handlers run in the main thread, so the handler
sees the main thread's depth. The handler takes no lock either — it runs between two bytecodes
of the main thread, which may hold any lock at that moment — and only assigns and appends.

**Escape hatch.** A *second* signal that arrives while the flow has not yet noticed the first
and the main thread is not shielded raises :class:`Interrupted` from the handler (uvicorn's
"force exit" on a second Ctrl-C): a wait somewhere that forgot to poll must not make Ctrl-C
wait forever. It never cuts a shielded teardown.

**Forced kills.** Whatever had to be killed with SIGKILL (a process that ignored its stop signal
past the bound, survivors of its process group, a process still running at exit) is recorded
with :func:`record_forced_kill`; the runner puts :func:`forced_kills` of the run in its summary
and the console says so.
"""

from __future__ import annotations

import atexit
import itertools
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from types import FrameType, TracebackType
from typing import Any

from gauntlet.errors import Interrupted

# how long one slice of a polling wait may block, at most: the bound on noticing a signal
POLL_S = 0.1

_lock = threading.Lock()
_undo: dict[int, tuple[str, Callable[[], object]]] = {}
_ids = itertools.count(1)

# signal state: written by the handler (main thread, no lock) and by the main flow
_pending: int | None = None        # the first signal of this run not yet restored away
_noticed = False                   # the flow has raised Interrupted for it at least once
_signals_seen: list[int] = []
_local = threading.local()         # .depth: this thread's shield nesting


# -- the undo registry ------------------------------------------------------------------------
def register(what: str, undo: Callable[[], object]) -> int:
    """Remember ``undo`` until :func:`unregister`; returns a token. Runs at exit if still held."""
    with _lock:
        token = next(_ids)
        _undo[token] = (what, undo)
        return token


def unregister(token: int) -> None:
    with _lock:
        _undo.pop(token, None)


def run_all() -> list[str]:
    """Run every undo still registered (newest first); return what failed, never raise."""
    failed: list[str] = []
    while True:
        with _lock:
            if not _undo:
                return failed
            token = max(_undo)
            what, undo = _undo.pop(token)
        try:
            undo()
        except Exception as exc:
            failed.append(f"{what}: {exc}")


atexit.register(run_all)


# -- signals: the flag and the places that notice it ------------------------------------------
def signals_seen() -> list[int]:
    """Every SIGINT/SIGTERM received since the handlers were installed, in order."""
    return list(_signals_seen)


def interrupted() -> int | None:
    """The signal that interrupted this run, or None."""
    return _pending


def _depth() -> int:
    return int(getattr(_local, "depth", 0))


def is_shielded() -> bool:
    """Whether the calling thread is inside :func:`shielded`."""
    return _depth() > 0


def _interrupt(why: str = "") -> Interrupted:
    global _noticed
    _noticed = True
    signum = _pending if _pending is not None else signal.SIGINT
    return Interrupted(f"interrupted by {signal.Signals(signum).name}{why}")


def check() -> None:
    """Raise :class:`Interrupted` if a signal arrived and this thread is not shielded.

    Call it wherever the flow waits; it costs one global read.
    """
    if _pending is not None and _depth() == 0:
        raise _interrupt()


def sleep(seconds: float) -> None:
    """``time.sleep`` that notices a signal within :data:`POLL_S` (raises Interrupted)."""
    deadline = time.monotonic() + max(0.0, seconds)
    while True:
        check()
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, POLL_S))


def _unwinding() -> bool:
    """Whether an exception is propagating through the caller (in an except/finally/__exit__)."""
    return sys.exc_info()[1] is not None


class _Shield:
    def __enter__(self) -> None:
        _local.depth = _depth() + 1

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        _local.depth = _depth() - 1
        if _local.depth == 0 and _pending is not None and exc is None and not _unwinding():
            raise _interrupt(" (during a teardown, acted on once it finished)")


def shielded() -> _Shield:
    """Inside, :func:`check` does not raise: teardown runs to its end whatever signal arrives.

    A signal that arrived meanwhile is acted on when the thread's outermost shield exits —
    unless an exception is already unwinding through it, which then simply goes on::

        with cleanup.shielded():
            stack.close()
    """
    return _Shield()


def _handler(signum: int, frame: FrameType | None) -> None:
    global _pending
    _signals_seen.append(signum)
    if _pending is None:
        _pending = signum
        return
    if not _noticed and _depth() == 0:
        # the flow has not noticed the first signal: some wait does not poll. Force it.
        raise _interrupt(" (second signal: forced)")


def _reset_signals() -> None:
    global _pending, _noticed
    _pending = None
    _noticed = False
    _signals_seen.clear()


@contextmanager
def signal_handlers() -> Iterator[None]:
    """Install the interrupt handlers for the duration of a run, restoring the old ones after.

    A signal that arrived after the flow's last :func:`check` is not dropped: leaving the block
    normally with one pending raises :class:`Interrupted`. Nested use is a no-op.
    """
    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGINT) is _handler:
        yield
        return
    _reset_signals()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, _handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        unnoticed = _interrupt(" (after the last wait)") \
            if _pending is not None and not _noticed else None
        _reset_signals()
    # reached only when the block ended normally: a signal it never noticed is not dropped
    if unnoticed is not None:
        raise unnoticed


# -- processes that had to be killed ----------------------------------------------------------
@dataclass(frozen=True)
class ForcedKill:
    """A process gauntlet had to SIGKILL: ``how`` says why (``after 15 s`` / ``group`` / ...)."""

    name: str
    pid: int | None
    how: str
    at_s: float  # UTC epoch seconds

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        pid = f" (pid {self.pid})" if self.pid is not None else ""
        return f"{self.name}{pid}: {self.how}"


_forced_lock = threading.Lock()
_forced: list[ForcedKill] = []


def record_forced_kill(name: str, pid: int | None, how: str) -> ForcedKill:
    kill = ForcedKill(name, pid, how, time.time())
    with _forced_lock:
        _forced.append(kill)
    return kill


def forced_kills(since_s: float | None = None) -> list[ForcedKill]:
    """Every forced kill recorded in this process (at or after ``since_s``, epoch seconds)."""
    with _forced_lock:
        return [k for k in _forced if since_s is None or k.at_s >= since_s]
