"""The raw sample capture (gauntlet.scenarios.capture) as Locust runs it: rows, hdr cells, the
flusher, a forked worker.

Each test runs its script in a fresh interpreter: importing the capture imports Locust, which
monkey-patches this process with gevent. The scripts fire ``events.request`` the way Locust's
users do and read what reached the disk. Rendered rows are compared with literal lines: the
harness' merge (gauntlet.samples) reads these bytes, so a change of format must fail here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRELUDE = """\
from gevent import monkey
monkey.patch_all()
import os, sys, time
import gevent
from locust import events
from gauntlet.scenarios import capture

class Answer:
    def __init__(self, status, headers=None, text=""):
        self.status_code, self.headers, self.text = status, headers or {}, text

def fire(**kw):
    meta = dict(request_type="GET", name="GET /a", response_time=1.5, response_length=13,
                response=Answer(200), context={}, exception=None, start_time=1764139000.25)
    meta.update(kw)
    events.request.fire(**meta)
"""


def run(tmp_path: Path, body: str, **env: str) -> subprocess.CompletedProcess[str]:
    script = PRELUDE + textwrap.dedent(body)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT),
             "GAUNTLET_SAMPLES_DIR": str(tmp_path), **env})
    assert result.returncode == 0, result.stderr
    return result


def rows_of(tmp_path: Path) -> dict[str, list[str]]:
    """Each samples file's lines, with the worker column (host:pid) as ``W``."""
    out = {}
    for path in sorted(tmp_path.glob("samples-*.csv")):
        lines = path.read_text().splitlines()
        out[path.name] = [lines[0]] + [",".join(c if i != 8 else "W"
                                                for i, c in enumerate(line.split(",")))
                                       for line in lines[1:]]
    return out


def test_rows_render_every_field_as_before(tmp_path: Path) -> None:
    run(tmp_path, """
        t = 1764139000.1234567
        fire(start_time=t, response_time=12.345678,
             response=Answer(200, {"x-cache": "HIT"}, "fresh"))
        fire(request_type="POST", name='POST /b,c\\n"q"', response_time=0, response_length=None,
             response=Answer(503, {"retry-after": "2"}, "stale data"), start_time=t + 0.5,
             context={"t_intended_s": t - 0.25, "client": "c,1", "token": "tok",
                      "phase": "steady", "seq": 7},
             exception=Exception("503 Server Error"))
        fire(response_time=30000.00004, response_length=0, response=None, start_time=t + 1,
             context={"t_intended_s": t, "seq": "3"},
             exception=ConnectionRefusedError("Connection refused"))
        fire(request_type="WS", name="echo", response_time=0.12345, response_length=35.0,
             response=None, context=None, start_time=int(t))
        fire(response_time=None, response=Answer(429), context={"client": 0, "phase": ""},
             exception=TimeoutError("timed out"), start_time=None)
        capture._close()
    """, GAUNTLET_CAPTURE_HEADERS="x-cache,retry-after",
        GAUNTLET_CAPTURE_BODY='{"fallback": "stale"}')
    [lines] = rows_of(tmp_path).values()
    assert lines == [
        "t_intended_s,t_start_s,latency_ms,method,name,status,error,bytes,worker,client,token,"
        "phase,seq,header:x-cache,header:retry-after,marker:fallback",
        "1764139000.123457,1764139000.123457,12.3457,GET,GET /a,200,,13,W,,,,-1,HIT,,0",
        "1764138999.873457,1764139000.623457,0.0000,POST,POST /b;c 'q',503,http,0,W,c;1,tok,"
        "steady,7,,2,1",
        "1764139000.123457,1764139001.123457,30000.0000,GET,GET /a,0,connect,0,W,,,,3,,,0",
        "1764139000.000000,1764139000.000000,0.1235,WS,echo,0,,35,W,,,,-1,,,0",
        "0.000000,0.000000,0.0000,GET,GET /a,429,http,13,W,0,,,-1,,,0",
    ]


def test_a_row_that_cannot_be_rendered_costs_only_itself(tmp_path: Path) -> None:
    run(tmp_path, """
        fire(name="first")
        fire(name="odd", context={"seq": "not a number"})
        fire(name="last")
        capture._close()
    """)
    [lines] = rows_of(tmp_path).values()
    assert [line.split(",")[4] for line in lines[1:]] == ["first", "last"]


def test_rows_reach_the_disk_while_the_run_goes_on(tmp_path: Path) -> None:
    """The flusher greenlet writes without test_stop or exit: crash evidence, progress."""
    result = run(tmp_path, """
        capture.FLUSH_EVERY_S = 0.01
        for i in range(5):
            fire(name=f"n{i}")
        path = os.path.join(os.environ["GAUNTLET_SAMPLES_DIR"], f"samples-{os.getpid()}.csv")
        for _ in range(2000):  # bounded: give the flusher its turns until the rows are there
            gevent.sleep(0.01)
            if os.path.exists(path) and len(open(path).readlines()) == 6:
                break
        print(len(open(path).readlines()), flush=True)
        os._exit(0)  # no atexit, no close: what is on disk is what the flusher wrote
    """)
    assert result.stdout.strip() == "6"


def test_a_forked_worker_writes_its_own_file_and_never_its_parents_rows(tmp_path: Path) -> None:
    run(tmp_path, """
        for i in range(3):
            fire(name=f"parent{i}")  # pending, not yet written, when the fork happens
        pid = gevent.fork()
        if pid == 0:
            fire(name="child")
            capture._close()
            os._exit(0)
        # not gevent's patched os.waitpid(pid, 0): 1 run in 4 on a loaded machine, the parent
        # slept in the hub forever after the child had exited (its SIGCHLD was lost to the
        # child watcher). The original waitpid, polled; ECHILD: the hub reaped it, so it is done
        waitpid = monkey.get_original("os", "waitpid")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if waitpid(pid, os.WNOHANG)[0]:
                    break
            except ChildProcessError:
                break
            gevent.sleep(0.01)
        else:
            raise SystemExit("the forked child did not exit within 60 s")
        capture._close()
    """)
    names = {name: [line.split(",")[4] for line in lines[1:]]
             for name, lines in rows_of(tmp_path).items()}
    assert sorted(names.values()) == [["child"], ["parent0", "parent1", "parent2"]]


def test_no_samples_dir_captures_nothing(tmp_path: Path) -> None:
    run(tmp_path, """
        del os.environ["GAUNTLET_SAMPLES_DIR"]
        fire()
        capture._close()
    """)
    assert list(tmp_path.iterdir()) == []


def test_hdr_mode_counts_every_request_in_its_second(tmp_path: Path) -> None:
    run(tmp_path, """
        for i in range(10):
            fire(start_time=1764139000.5 + i / 10, response=Answer(503 if i == 0 else 200),
                 exception=Exception("503") if i == 0 else None)
        fire(context={"t_intended_s": "not a time"})  # dropped alone, the others are kept
        capture._close()
    """, GAUNTLET_SAMPLE_MODE="hdr")
    [path] = tmp_path.glob("hdr-*.jsonl")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    by_second = {line["second"]: line for line in lines}
    assert sorted(by_second) == [1764139000, 1764139001]
    assert by_second[1764139000]["count"] + by_second[1764139001]["count"] == 10
    assert by_second[1764139000]["errors_5xx"] == 1
    assert {line["name"] for line in lines} == {"GET /a"}


def test_a_failed_flush_is_counted_for_the_harness(tmp_path: Path) -> None:
    """Old code: a flush that failed (a full disk) was only logged; the rows it held were gone
    and nothing the harness reads said so."""
    run(tmp_path, """
        for i in range(3):
            fire(name=f"lost{i}")
        sink = capture._sink

        def full(text):
            raise OSError(28, "No space left on device")

        sink.write = full
        capture._flush()  # counted, not raised: the load goes on
        del sink.write
        fire(name="kept")
        fire(context={"seq": "not a number"})
        capture._flush()

        class Env:
            runner = None

        capture._write_generator_stats(Env())
        capture._close()
    """)
    [stats_file] = tmp_path.glob("generator-*.json")
    stats = json.loads(stats_file.read_text())
    assert stats["capture"] == {"flush_failures": 1, "rows_lost": 3, "rows_dropped": 1}
    [lines] = rows_of(tmp_path).values()
    assert [line.split(",")[4] for line in lines[1:]] == ["kept"]
