"""Temp dirs that outlive a ``kill -9`` only until the next gauntlet looks.

A process killed by SIGKILL runs no cleanup, so a temp dir it made stays behind. Each dir made
here carries its owner's pid (``owner.pid``); :func:`sweep_stale_tempdirs` removes every such
dir whose owner is gone. The local backend sweeps when it boots, and ``gauntlet worker`` when it
starts: a worker runs on a machine of its own, where no stack may ever boot.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gauntlet import cleanup

TMP_PREFIX = "gauntlet-"
OWNER_FILE = "owner.pid"


@contextmanager
def owned_tempdir(prefix: str = TMP_PREFIX, mode: int | None = None) -> Iterator[Path]:
    """A temp dir with this process as its owner, removed on exit and on a signal (and, after
    a ``kill -9``, by the next sweep). ``mode``: its permissions (another user's process may
    need to traverse it)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if mode is not None:
        os.chmod(path, mode)
    (path / OWNER_FILE).write_text(str(os.getpid()))
    token = cleanup.register(f"remove {path}", lambda: shutil.rmtree(path, ignore_errors=True))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        cleanup.unregister(token)


def sweep_stale_tempdirs() -> list[Path]:
    """Remove temp dirs left by a gauntlet that died by ``kill -9`` (its owner pid is gone)."""
    removed: list[Path] = []
    for path in Path(tempfile.gettempdir()).glob(f"{TMP_PREFIX}*"):
        owner = path / OWNER_FILE
        try:
            pid = int(owner.read_text())
        except (OSError, ValueError):
            continue
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        except PermissionError:
            continue
    return removed
