"""A temp dir outlives its owner's ``kill -9`` only until the next sweep; a live owner's dir
is never swept. (``gauntlet worker`` leaked one per SIGKILLed worker before it made its dir
this way: twenty of them were in /tmp after a day of test runs.)"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from gauntlet.tempdirs import OWNER_FILE, owned_tempdir, sweep_stale_tempdirs

MAKE_AND_WAIT = """
import sys, time
from gauntlet.tempdirs import owned_tempdir
with owned_tempdir(prefix="gauntlet-test-") as path:
    print(path, flush=True)
    time.sleep(60)
"""


def test_a_killed_owners_dir_is_swept_and_a_live_ones_is_not() -> None:
    proc = subprocess.Popen([sys.executable, "-c", MAKE_AND_WAIT], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None
        left = Path(proc.stdout.readline().strip())
        assert (left / OWNER_FILE).read_text() == str(proc.pid)
        with owned_tempdir(prefix="gauntlet-test-") as mine:
            assert left not in sweep_stale_tempdirs() and left.exists()  # its owner lives
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            assert left.exists(), "SIGKILL runs no cleanup: the dir is still there"
            assert left in sweep_stale_tempdirs() and not left.exists()
            assert mine.exists()  # this process's own dir is never swept
        assert not mine.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
