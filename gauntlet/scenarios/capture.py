"""Raw sample capture, loaded inside the Locust process (never import this from the harness).

The one listener on ``events.request``. ``$GAUNTLET_SAMPLE_MODE`` picks what it keeps:

* ``rows`` (default): one CSV row per request, in a file per worker process
  (``samples-<pid>.csv`` in ``$GAUNTLET_SAMPLES_DIR``). Latency is Locust's float milliseconds
  from ``time.perf_counter`` — not its rounded statistics buckets. The harness merges the files
  into one columnar ``samples.parquet`` after the run.
* ``hdr``: for long runs, where a row per request is too much disk and memory. Each worker keeps
  one HdrHistogram per (second of the intended start, method, name) of corrected and of service
  latency in integer microseconds (1 µs .. 1 h, 3 significant digits) plus counters of the error
  classes, and appends finished seconds to ``hdr-<pid>.jsonl`` as JSON lines (the histograms
  base64-encoded, HdrHistogram's own wire format). :mod:`gauntlet.hdr` merges and reads them.

For the open model each request carries its *intended* start in its context
(``t_intended_s``); for the closed model the intended start is the actual start.

A request's context may also carry ``client`` (the simulated client's key), ``token`` (the
unique token of a write, for integrity read-backs), ``phase`` and ``seq``. The contract decides
which response headers (``$GAUNTLET_CAPTURE_HEADERS``, comma-separated) and body patterns
(``$GAUNTLET_CAPTURE_BODY``, JSON name → regex) are recorded, each as a column of its own.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import socket
import time
from typing import IO, Any

from locust import events

from gauntlet.scenarios.columns import COLUMNS, header_column, marker_column
from gauntlet.scenarios.hdrcell import Cell

CAPTURE_HEADERS: tuple[str, ...] = tuple(
    h.strip().lower() for h in os.environ.get("GAUNTLET_CAPTURE_HEADERS", "").split(",")
    if h.strip()
)
CAPTURE_BODY: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in json.loads(os.environ.get("GAUNTLET_CAPTURE_BODY") or "{}").items()
)
EXTRA_COLUMNS = (*(header_column(h) for h in CAPTURE_HEADERS),
                 *(marker_column(n) for n, _ in CAPTURE_BODY))

_state: dict[str, Any] = {"fh": None, "pid": None, "worker": "", "flushed": 0.0, "hdr": None}
FLUSH_EVERY_S = 0.5  # rows reach the disk at least this often: progress and crash evidence

HDR_SETTLE_S = 2  # hdr mode: a second is written once it is this far behind the clock


def sample_mode() -> str:
    mode = os.environ.get("GAUNTLET_SAMPLE_MODE", "rows") or "rows"
    if mode not in ("rows", "hdr"):
        raise ValueError(f"GAUNTLET_SAMPLE_MODE must be 'rows' or 'hdr', not {mode!r}")
    return mode


def _file() -> IO[str] | None:
    pid = os.getpid()
    if _state["pid"] == pid:  # every request but the first of a process: keep this path short
        fh_open: IO[str] | None = _state["fh"]
        return fh_open
    # first request in this (possibly forked) worker process
    _state["pid"] = pid
    _state["worker"] = f"{socket.gethostname()}:{pid}"
    _state["fh"] = _state["hdr"] = None
    directory = os.environ.get("GAUNTLET_SAMPLES_DIR")
    if not directory:
        return None
    if sample_mode() == "hdr":
        path = os.path.join(directory, f"hdr-{pid}.jsonl")
        fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - lives all run
        _state["hdr"] = _HdrSeconds(fh, _state["worker"])
    else:
        path = os.path.join(directory, f"samples-{pid}.csv")
        fh = open(path, "a", buffering=1 << 20, encoding="utf-8")  # noqa: SIM115
        if fh.tell() == 0:
            fh.write(",".join((*COLUMNS, *EXTRA_COLUMNS)) + "\n")
    _state["fh"] = fh
    return fh


class _HdrSeconds:
    """hdr mode of one worker process: histograms per second, written once the second settles."""

    def __init__(self, fh: IO[str], worker: str) -> None:
        self.fh = fh
        self.worker = worker
        self.cells: dict[tuple[int, str, str], Cell] = {}
        self.next_flush_s = 0.0

    def record(self, t_intended: float, t_start: float, latency_ms: float, method: str,
               name: str, status: int, error: str) -> None:
        key = (int(t_intended), method, name)
        cell = self.cells.get(key)
        if cell is None:
            cell = self.cells[key] = Cell()
        cell.record(latency_ms, (t_start - t_intended) * 1000.0, status, error, t_start)
        now = time.time()
        if now >= self.next_flush_s:
            self.next_flush_s = now + 1.0
            self.flush(before_second=int(now) - HDR_SETTLE_S)

    def flush(self, before_second: int | None = None) -> None:
        """Write (and forget) the seconds before ``before_second``; every second when None.

        A request that completes after its second was written starts a new cell for the same
        key: the harness adds lines with equal keys, so nothing is lost, only a line more.
        """
        done = [k for k in self.cells if before_second is None or k[0] < before_second]
        for key in sorted(done):
            cell = self.cells.pop(key)
            line = cell.to_line(second=key[0], method=key[1], name=key[2], worker=self.worker)
            self.fh.write(json.dumps(line, separators=(",", ":")) + "\n")
        if done:
            self.fh.flush()


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


_cleaned: dict[str, str] = {}


def _clean(text: str) -> str:
    return text.replace(",", ";").replace("\n", " ").replace('"', "'")


def _clean_name(name: str) -> str:
    """``_clean`` for endpoint names, memoised: a scenario has few names and this runs per row."""
    cleaned = _cleaned.get(name)
    if cleaned is None:
        cleaned = _clean(name)
        if len(_cleaned) < 10_000:  # a scenario that puts ids in names must not grow this
            _cleaned[name] = cleaned
    return cleaned


def _extra(response: Any) -> str:
    """The contract's header values and body-pattern hits of one answer, as CSV cells."""
    headers = getattr(response, "headers", None) or {}
    cells = [_clean(str(headers.get(h, "") or "")) for h in CAPTURE_HEADERS]
    if CAPTURE_BODY:
        try:
            body = response.text or "" if response is not None else ""
        except Exception:  # undecodable body: no pattern matches it
            body = ""
        cells += ["1" if pattern.search(body) else "0" for _, pattern in CAPTURE_BODY]
    return "," + ",".join(cells)


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
    t_start = float(start_time) if start_time is not None else 0.0
    t_intended = float(context.get("t_intended_s", t_start)) if context else t_start
    error = classify(exception, status) if exception is not None else ""
    hdr: _HdrSeconds | None = _state["hdr"]
    if hdr is not None:
        hdr.record(t_intended, t_start, float(response_time or 0.0), request_type, name, status,
                   error)
        return
    if context:
        client = _clean(str(context.get("client", "")))
        token = _clean(str(context.get("token", "")))
        phase = _clean(str(context.get("phase", "")))
        seq = int(context.get("seq", -1))
    else:
        client = token = phase = ""
        seq = -1
    extra = _extra(response) if EXTRA_COLUMNS else ""
    # one f-string, names memoised: this is the generator's per-request overhead (see
    # benchmarks/bench_generator.py)
    fh.write(
        f"{t_intended:.6f},{t_start:.6f},{float(response_time or 0.0):.4f},{request_type},"
        f"{_clean_name(name)},{status},{error},{int(response_length or 0)},"
        f"{_state['worker']},{client},{token},{phase},{seq}{extra}\n"
    )
    now = time.monotonic()
    if now - _state["flushed"] > FLUSH_EVERY_S:
        _state["flushed"] = now
        fh.flush()


def _flush() -> None:
    fh = _state.get("fh")
    if fh is None or fh.closed:
        return
    hdr: _HdrSeconds | None = _state.get("hdr")
    if hdr is not None:
        hdr.flush()  # every second, settled or not: the run is over
    fh.flush()


def _close() -> None:
    fh = _state.get("fh")
    if fh is not None and not fh.closed:
        _flush()
        fh.close()
    _state["fh"] = None
    _state["pid"] = None
    _state["hdr"] = None


def _write_generator_stats(environment: Any) -> None:
    """Per-process generator figures the harness uses to judge generator health."""
    directory = os.environ.get("GAUNTLET_SAMPLES_DIR")
    if not directory:
        return
    from locust.runners import MasterRunner

    if isinstance(getattr(environment, "runner", None), MasterRunner):
        # the master (--processes, remote workers) sends nothing: its share of the open-model
        # schedule would read as that many slots never sent
        return
    from gauntlet.scenarios import openmodel

    stats = {"pid": os.getpid(), **openmodel.stats()}
    try:
        import psutil

        process = psutil.Process()
        times = process.cpu_times()
        stats["cpu_s"] = times.user + times.system
        # mean over the process' life (a first cpu_percent(interval=None) call is always 0.0)
        alive_s = max(time.time() - process.create_time(), 1e-3)
        stats["cpu_percent"] = 100.0 * stats["cpu_s"] / alive_s
    except Exception:  # psutil is optional inside a remote worker
        pass
    with open(os.path.join(directory, f"generator-{os.getpid()}.json"), "w") as fh:
        json.dump(stats, fh)


@events.test_stop.add_listener
def _on_test_stop(environment: Any, **_: Any) -> None:
    _flush()
    _write_generator_stats(environment)


@events.quitting.add_listener
def _on_quitting(environment: Any, **_: Any) -> None:
    _close()


atexit.register(_close)
