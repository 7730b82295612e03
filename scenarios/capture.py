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

What a request costs (``benchmarks/bench_generator.py``, ``docs/load-engine.md``): the capture
runs inside the generator it measures, so every instruction per request is load not sent. The
listener keeps the raw values of a row as a tuple and nothing else; a greenlet of each process
(:func:`_flush_every`) formats the rows of the last ``FLUSH_EVERY_S`` in one tight loop (hdr:
records them into their histograms) and writes them with one ``os.write``. Formatting floats is
most of a row's cost, and done 2 000 at a time it runs in warm caches instead of cold between
two requests; no clock, pid or buffered file is touched per request. Rows still reach the disk
every ``FLUSH_EVERY_S`` (crash evidence, progress), as whole lines.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import socket
import time
from typing import TYPE_CHECKING, Any

import gevent
from locust import events

from gauntlet.scenarios import stallwatch
from gauntlet.scenarios.columns import COLUMNS, header_column, marker_column

if TYPE_CHECKING:
    from gauntlet.scenarios.hdrcell import Cell

log = logging.getLogger(__name__)

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

FLUSH_EVERY_S = 0.5  # rows reach the disk at least this often: progress and crash evidence
HDR_SETTLE_S = 2  # hdr mode: a second is written once it is this far behind the clock

# One row as the listener keeps it, in COLUMNS order less ``worker`` (the same for every row
# of a process: the sink puts it in), plus the extra columns as one ready CSV tail:
# (t_intended_s, t_start_s, latency_ms, method, name, status, error, bytes, client, token,
#  phase, seq, ",extra,cells" or "")
Row = tuple[Any, ...]
# the row's CSV line: %-formatting renders every field exactly as the f-string this replaced
# (".6f" times, ".4f" latency, ints as ints) — the harness' parquet must not see a change
ROW_FORMAT = "%.6f,%.6f,%.4f,%s,%s,%d,%s,%d,{worker},%s,%s,%s,%d%s\n"


def sample_mode() -> str:
    mode = os.environ.get("GAUNTLET_SAMPLE_MODE", "rows") or "rows"
    if mode not in ("rows", "hdr"):
        raise ValueError(f"GAUNTLET_SAMPLE_MODE must be 'rows' or 'hdr', not {mode!r}")
    return mode


class _Sink:
    """The sample file of one worker process, written in whole-line batches by ``os.write``.

    No userspace buffer: a process forked from this one (Locust's ``--processes``) inherits
    nothing it could write a second time, and a reader (the harness, the remote workers'
    shipping) never sees half a line. ``path`` is the file to ship or merge.
    """

    def __init__(self, path: str, header: str = "") -> None:
        self.path = path
        self.flush_failures = 0
        self.lost = 0  # requests in batches whose write failed
        self.dropped = 0  # rows that could not be rendered (a context value that is no number)
        self.fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                                      0o644)
        if header and os.fstat(self.fd).st_size == 0:
            self.write(header)

    def write(self, text: str) -> None:
        if self.fd is None or not text:
            return
        data = memoryview(text.encode("utf-8", "replace"))
        while data:
            data = data[os.write(self.fd, data):]

    def flush(self, final: bool = False) -> None:
        """Write what is due; everything when ``final`` (the run is over)."""

    def flush_counted(self, final: bool = False) -> None:
        """:meth:`flush`, never raising: a failed write (a full disk) must not stop the load
        nor the flushes after it, so it is counted — :meth:`health` goes into the process'
        ``generator-<pid>.json`` and the harness refuses a record with samples missing —
        and logged once."""
        try:
            self.flush(final=final)
        except Exception:
            self.flush_failures += 1
            if self.flush_failures == 1:
                log.exception("writing samples to %s failed; those samples are lost", self.path)

    def health(self) -> dict[str, int]:
        """What this process could not record: failed flushes, the rows they held, and rows
        that could not be rendered at all."""
        return {"flush_failures": self.flush_failures, "rows_lost": self.lost,
                "rows_dropped": self.dropped}

    def close(self) -> None:
        if self.fd is not None:
            try:
                self.flush_counted(final=True)
            finally:
                os.close(self.fd)
                self.fd = None

    def forget(self) -> None:
        """In a forked child: drop the parent's pending samples and the child's copy of its
        file, writing nothing (they are the parent's to write)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class _Rows(_Sink):
    """rows mode of one worker process: the listener appends raw rows to ``pending``; ``flush``
    formats and writes them."""

    def __init__(self, path: str, worker: str) -> None:
        super().__init__(path, header=",".join((*COLUMNS, *EXTRA_COLUMNS)) + "\n")
        self.pending: list[Row] = []
        self.line = ROW_FORMAT.format(worker=_clean(worker).replace("%", "%%"))

    def flush(self, final: bool = False) -> None:
        pending = self.pending
        if not pending:
            return
        rows = pending[:]
        del pending[:len(rows)]  # not clear(): a row appended in between by a thread survives
        line = self.line
        try:
            text = "".join([line % row for row in rows])
        except (TypeError, ValueError):  # an odd value somewhere: normalise row by row
            text = "".join(self._render(row) for row in rows)
        try:
            self.write(text)
        except OSError:
            self.lost += len(rows)
            raise

    def _render(self, row: Row) -> str:
        """One row with each field converted the slow way, or "" (and counted) if impossible."""
        ti, ts, latency, method, name, status, error, nbytes, client, token, phase, seq, extra = row
        try:
            return self.line % (float(ti), float(ts), float(latency or 0.0), method, name,
                                int(status or 0), error, int(nbytes or 0), client, token, phase,
                                int(seq), extra)
        except (TypeError, ValueError):
            self.dropped += 1
            if self.dropped == 1:
                log.error("sample row dropped, a field is not a number: %r", row)
            return ""

    def forget(self) -> None:
        self.pending.clear()
        super().forget()


class _HdrSeconds(_Sink):
    """hdr mode of one worker process: histograms per second, written once the second settles.

    As in rows mode, the listener only appends the raw values to ``pending``; ``flush`` records
    them into their cells in one loop (two histogram updates a request, the costliest part,
    run warm) and writes the settled seconds.
    """

    def __init__(self, path: str, worker: str) -> None:
        super().__init__(path)
        from gauntlet.scenarios.hdrcell import Cell  # rows mode does not pay for hdrh's import

        self.new_cell = Cell
        self.worker = worker
        self.pending: list[Row] = []  # (t_intended, t_start, latency_ms, method, name, status,
        #                               error) as the listener got them
        self.cells: dict[tuple[int, str, str], Cell] = {}

    def record(self, t_intended: Any, t_start: Any, latency_ms: Any, method: str, name: str,
               status: Any, error: str) -> None:
        t_start = float(t_start) if t_start is not None else 0.0
        t_intended = float(t_intended) if t_intended is not None else t_start
        latency_ms = float(latency_ms or 0.0)
        key = (int(t_intended), method, name)
        cell = self.cells.get(key)
        if cell is None:
            cell = self.cells[key] = self.new_cell()
        cell.record(latency_ms, (t_start - t_intended) * 1000.0, int(status or 0), error,
                    t_start)

    def flush(self, final: bool = False) -> None:
        """Record what is pending; write (and forget) the seconds at least ``HDR_SETTLE_S``
        behind the clock, every second when ``final``.

        A request recorded after its second was written starts a new cell for the same key:
        the harness adds lines with equal keys, so nothing is lost, only a line more.
        """
        pending = self.pending
        rows = pending[:]
        del pending[:len(rows)]  # not clear(): a row appended in between by a thread survives
        for row in rows:
            try:
                self.record(*row)
            except (TypeError, ValueError):  # a context value that is no number
                self.dropped += 1
                if self.dropped == 1:
                    log.error("sample dropped, a field is not a number: %r", row)
        before_second = int(time.time()) - HDR_SETTLE_S
        done = [k for k in self.cells if final or k[0] < before_second]
        lines = []
        requests = 0
        for key in sorted(done):
            cell = self.cells.pop(key)
            line = cell.to_line(second=key[0], method=key[1], name=key[2], worker=self.worker)
            requests += int(line.get("count", 0))
            lines.append(json.dumps(line, separators=(",", ":")) + "\n")
        try:
            self.write("".join(lines))
        except OSError:
            self.lost += requests
            raise

    def forget(self) -> None:
        self.pending.clear()
        self.cells.clear()
        super().forget()


# This process' sink, opened at its first request (a forked worker opens its own); ``_pending``
# is the rows sink's list, the listener's fast path. ``_opened`` is False until the first
# request has looked at the environment (and there may be no sink: no samples dir).
_sink: _Sink | None = None
_pending: list[Row] | None = None
_opened = False


def _open() -> _Sink | None:
    """The first request of this process: open its sample file and start its flusher."""
    global _sink, _pending, _opened
    _opened = True
    directory = os.environ.get("GAUNTLET_SAMPLES_DIR")
    if not directory:
        return None
    pid = os.getpid()
    worker = f"{socket.gethostname()}:{pid}"
    if sample_mode() == "hdr":
        _sink = _HdrSeconds(os.path.join(directory, f"hdr-{pid}.jsonl"), worker)
    else:
        rows = _Rows(os.path.join(directory, f"samples-{pid}.csv"), worker)
        _sink, _pending = rows, rows.pending
    gevent.spawn(_flush_every, _sink)
    stallwatch.start(directory)
    return _sink


def _flush_every(sink: _Sink) -> None:
    """The flusher greenlet of one sink: until it is closed (or forgotten by a fork)."""
    while True:
        gevent.sleep(FLUSH_EVERY_S)
        if sink.fd is None:
            return
        sink.flush_counted()


def _after_fork_in_child() -> None:
    """A forked Locust worker starts with no sink: it opens ``samples-<its pid>.csv`` at its
    own first request, and what its parent had not written yet stays the parent's."""
    global _sink, _pending, _opened
    if _sink is not None:
        _sink.forget()
    _sink, _pending, _opened = None, None, False


os.register_at_fork(after_in_child=_after_fork_in_child)


def classify(exception: BaseException | None, status: int) -> str:
    """The error kind of one request: '', http, connect, timeout, reset or other — or the
    class an exception declares as ``error_class`` (``dropped``: a realtime connection)."""
    if exception is None:
        return ""
    declared = getattr(exception, "error_class", None)  # e.g. realtime's ConnectionDropped
    if declared:
        return str(declared)
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
        cleaned = _clean(str(name))
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
    # the generator's per-request overhead (benchmarks/bench_generator.py): keep what runs for
    # every request of the rows mode to a tuple and an append, no call the row can do without
    pending = _pending
    if pending is None:
        sink = _sink if _opened else _open()
        if sink is None:
            return
        if isinstance(sink, _HdrSeconds):
            status = getattr(response, "status_code", 0) or 0
            sink.pending.append((
                context.get("t_intended_s", start_time) if context else start_time, start_time,
                response_time, request_type, name, status,
                classify(exception, status) if exception is not None else "",
            ))
            return
        pending = _pending
        assert pending is not None
    status = getattr(response, "status_code", 0) or 0
    t_start = start_time if start_time is not None else 0.0
    if context:
        t_intended = context.get("t_intended_s", t_start)
        client = context.get("client", "")
        token = context.get("token", "")
        phase = context.get("phase", "")
        if client or token or phase:
            client, token, phase = _clean(str(client)), _clean(str(token)), _clean(str(phase))
        seq = context.get("seq", -1)
    else:
        t_intended = t_start
        client = token = phase = ""
        seq = -1
    pending.append((
        t_intended, t_start, response_time or 0.0, request_type,
        _cleaned.get(name) or _clean_name(name), status,
        classify(exception, status) if exception is not None else "", response_length or 0,
        client, token, phase, seq, _extra(response) if EXTRA_COLUMNS else "",
    ))


def _flush() -> None:
    if _sink is not None:
        _sink.flush_counted(final=True)  # hdr: every second, settled or not: the run is over


def _close() -> None:
    global _sink, _pending, _opened
    if _sink is not None:
        _sink.close()
    _sink, _pending, _opened = None, None, False


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
    if _sink is not None:  # what this process could not record (the harness refuses the run)
        stats["capture"] = _sink.health()
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
