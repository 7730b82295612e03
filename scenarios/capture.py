"""Raw sample capture, loaded inside the Locust process (never import this from the harness).

One CSV row per request, written by a listener on ``events.request`` into a file per worker
process (``samples-<pid>.csv`` in ``$GAUNTLET_SAMPLES_DIR``). Latency is Locust's float
milliseconds from ``time.perf_counter`` — not its rounded statistics buckets. The harness merges
the files into one columnar ``samples.parquet`` after the run.

For the open model each request carries its *intended* start in its context
(``t_intended_s``); for the closed model the intended start is the actual start.
"""

from __future__ import annotations

import atexit
import json
import os
import socket
import time
from typing import IO, Any

from locust import events

from scenarios.columns import COLUMNS

_state: dict[str, Any] = {"fh": None, "pid": None, "worker": "", "flushed": 0.0}
FLUSH_EVERY_S = 0.5  # rows reach the disk at least this often: progress and crash evidence


def _file() -> IO[str] | None:
    directory = os.environ.get("GAUNTLET_SAMPLES_DIR")
    if not directory:
        return None
    pid = os.getpid()
    if _state["pid"] != pid:  # first request in this (possibly forked) worker process
        _state["pid"] = pid
        _state["worker"] = f"{socket.gethostname()}:{pid}"
        path = os.path.join(directory, f"samples-{pid}.csv")
        fh = open(path, "a", buffering=1 << 20, encoding="utf-8")  # noqa: SIM115 - lives all run
        if fh.tell() == 0:
            fh.write(",".join(COLUMNS) + "\n")
        _state["fh"] = fh
    fh_open: IO[str] | None = _state["fh"]
    return fh_open


def classify(exception: BaseException | None, status: int) -> str:
    """The error kind of one request: '', http, connect, timeout, reset or other."""
    if exception is None:
        return ""
    if status >= 400:
        return "http"
    text = f"{type(exception).__name__} {exception}".lower()
    if "refused" in text or "unreachable" in text or "no route" in text:
        return "connect"
    if "timeout" in text or "timed out" in text:
        return "timeout"
    if any(word in text for word in ("reset", "broken pipe", "remotedisconnected", "eof",
                                     "connection aborted", "closed")):
        return "reset"
    if status and status < 400:
        return "assert"
    return "other"


def _clean(text: str) -> str:
    return text.replace(",", ";").replace("\n", " ").replace('"', "'")


@events.request.add_listener
def _on_request(
    request_type: str,
    name: str,
    response_time: float,
    response_length: int,
    response: Any = None,
    context: dict[str, Any] | None = None,
    exception: BaseException | None = None,
    start_time: float | None = None,
    **_: Any,
) -> None:
    fh = _file()
    if fh is None:
        return
    status = int(getattr(response, "status_code", 0) or 0) if response is not None else 0
    ctx = context or {}
    t_start = float(start_time) if start_time is not None else 0.0
    t_intended = float(ctx.get("t_intended_s", t_start))
    ref = ctx.get("ref", "")
    fh.write(
        f"{t_intended:.6f},{t_start:.6f},{float(response_time or 0.0):.4f},{request_type},"
        f"{_clean(name)},{status},{classify(exception, status)},{int(response_length or 0)},"
        f"{_state['worker']},{_clean(str(ref))}\n"
    )
    now = time.monotonic()
    if now - _state["flushed"] > FLUSH_EVERY_S:
        _state["flushed"] = now
        fh.flush()


def _close() -> None:
    fh = _state.get("fh")
    if fh is not None and not fh.closed:
        fh.flush()
        fh.close()
    _state["fh"] = None
    _state["pid"] = None


def _write_generator_stats(environment: Any) -> None:
    """Per-process generator figures the harness uses to judge generator health."""
    directory = os.environ.get("GAUNTLET_SAMPLES_DIR")
    if not directory:
        return
    from scenarios import openmodel

    stats = {"pid": os.getpid(), **openmodel.stats()}
    try:
        import psutil

        stats["cpu_percent"] = psutil.Process().cpu_percent(interval=None)
        times = psutil.Process().cpu_times()
        stats["cpu_s"] = times.user + times.system
    except Exception:  # psutil is optional inside a remote worker
        pass
    with open(os.path.join(directory, f"generator-{os.getpid()}.json"), "w") as fh:
        json.dump(stats, fh)


@events.test_stop.add_listener
def _on_test_stop(environment: Any, **_: Any) -> None:
    fh = _state.get("fh")
    if fh is not None:
        fh.flush()
    _write_generator_stats(environment)


@events.quitting.add_listener
def _on_quitting(environment: Any, **_: Any) -> None:
    _close()


atexit.register(_close)
