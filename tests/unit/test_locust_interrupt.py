"""The harness stops Locust with SIGINT (``LoadRun.stop``): the signal must end the run through
Locust's main flow, never inside one simulated user.

Python raises ``KeyboardInterrupt`` in whatever code runs when the signal arrives; under gevent
that is any greenlet: a user's task, a realtime connection's reader, the capture's flusher. That
greenlet dies on the spot, and the record loses what it was about to write — in the ragbase seed
suite, a WebSocket client whose message was acknowledged at the stop never recorded its delivery
and went silent, while the others ran on for the 5 s stop timeout, so the check saw an
acknowledged message "never delivered". Here users spin in Python code (where the signal lands
when it is not routed) and say how they ended; every one must end by the stop timeout's kill.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
USERS = 4

LOCUSTFILE = """\
import os, time
import gevent
from locust import User, constant, task

ENDS = os.environ["ENDS_DIR"]

class Spinner(User):
    wait_time = constant(0)

    @task
    def spin(self):
        name = f"{os.getpid()}-{id(self)}"
        open(os.path.join(ENDS, f"started-{name}"), "w").close()
        try:
            while True:
                until = time.perf_counter() + 0.05
                while time.perf_counter() < until:  # busy in Python, like parsing frames
                    pass
                gevent.sleep(0.001)
        except BaseException as exc:
            with open(os.path.join(ENDS, f"end-{name}"), "w") as fh:
                fh.write(type(exc).__name__)
            raise
"""


def _wait_for(condition: Callable[[], bool], bound_s: float) -> bool:
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_sigint_ends_the_run_in_locusts_main_flow_not_in_a_user(tmp_path: Path) -> None:
    (tmp_path / "spin.py").write_text(textwrap.dedent(LOCUSTFILE))
    ends = tmp_path / "ends"
    ends.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gauntlet.scenarios._locust_main", "-f", str(tmp_path / "spin.py"),
         "--headless", "-u", str(USERS), "-r", str(USERS), "--run-time", "120s",
         "--stop-timeout", "1", "--host", "http://127.0.0.1:9", "--only-summary",
         "--loglevel", "WARNING", "--exit-code-on-error", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
             "ENDS_DIR": str(ends)})
    try:
        assert _wait_for(lambda: len(list(ends.glob("started-*"))) == USERS, 60), \
            "the users never started"
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    endings = sorted(p.read_text() for p in ends.glob("end-*"))
    assert endings == ["GreenletExit"] * USERS, (endings, output[-2000:])
    assert proc.returncode == 0, output[-2000:]
