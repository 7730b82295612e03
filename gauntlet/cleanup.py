"""The process-wide cleanup registry and signal handling: the only global state gauntlet keeps.

Every resource is a context manager torn down by an ``ExitStack``; this module is the net under
that net. Undo callables registered here run on normal exit (``atexit``) if the owning context
never got to run them, e.g. when the interpreter is shutting down after an unhandled error.

Signals follow the uvicorn habit of "a handler only sets a flag", adapted to a synchronous
harness: the first SIGINT/SIGTERM records itself and raises :class:`Interrupted` in the main
thread, which unwinds every ``with`` block in reverse order. While teardown runs
(:func:`shielded`), further signals are only counted, so a second Ctrl-C cannot cut a cleanup
in half.
"""

from __future__ import annotations

import atexit
import itertools
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from gauntlet.errors import Interrupted

_lock = threading.Lock()
_undo: dict[int, tuple[str, Callable[[], object]]] = {}
_ids = itertools.count(1)
_shield_depth = 0
_signals_seen: list[int] = []


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


def signals_seen() -> list[int]:
    return list(_signals_seen)


@contextmanager
def shielded() -> Iterator[None]:
    """Inside, SIGINT/SIGTERM are recorded but do not interrupt (used around teardown)."""
    global _shield_depth
    _shield_depth += 1
    try:
        yield
    finally:
        _shield_depth -= 1


def _handler(signum: int, frame: FrameType | None) -> None:
    _signals_seen.append(signum)
    if _shield_depth > 0:
        return
    raise Interrupted(f"interrupted by {signal.Signals(signum).name}")


@contextmanager
def signal_handlers() -> Iterator[None]:
    """Install the interrupt handlers for the duration of a run, restoring the old ones after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, _handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
