"""The prober against a real HTTP server on loopback: a JSON probe waits its own timeout (above
a claimed bound), records why a poll got no answer, and never holds the readiness probes up."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gauntlet.chaos.probes import MIN_REST_S, JsonProbe, Prober
from gauntlet.clock import RunClock
from gauntlet.contract import Metric, Probes
from gauntlet.timeline import EVENTS_FILE, Timeline, read_events

HANG_S = 0.6


METRICS = (b'# TYPE queue_depth gauge\nqueue_depth{queue="orders"} 7.0\n'
           b"# TYPE published_total counter\npublished_total 42.0\n")


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/metrics":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(METRICS)))
            self.end_headers()
            self.wfile.write(METRICS)
            return
        if self.path == "/hang":
            time.sleep(HANG_S)
        body = json.dumps({"status": "ok"}).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the poll gave up (its timeout) and closed the connection
            pass

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_json_probe_waits_its_own_timeout_and_says_it_timed_out(server: str,
                                                                   tmp_path: Path) -> None:
    """Old code: every poll waited the prober's timeout, and a poll that got no answer
    recorded neither why nor how long it would have waited."""
    with Timeline(tmp_path / EVENTS_FILE, RunClock()) as timeline:
        prober = Prober(server, timeline, Probes(ready="/ready"), interval_s=0.05,
                        timeout_s=0.2,
                        json_probes=[JsonProbe("cut", "/hang", "status", timeout_s=0.3),
                                     JsonProbe("waited", "/hang", "status", timeout_s=1.0)])
        with prober.running():
            time.sleep(1.5)
    events = read_events(tmp_path / EVENTS_FILE)
    cut = [e.data for e in events if e.data.get("target") == "cut"]
    waited = [e.data for e in events if e.data.get("target") == "waited"]
    ready = [e for e in events if e.data.get("target") == "ready"]
    assert cut and all(d["status"] == 0 and d["error"] == "timeout" and d["timeout_ms"] == 300
                       for d in cut)
    assert waited and all(d["status"] == 200 and d["value"] == "ok" for d in waited)
    # the hanging endpoint has threads of its own: readiness kept its pace beside it
    assert len(ready) >= 10


def test_gauges_are_read_at_most_every_half_second_and_an_absent_one_reads_none(
        server: str, tmp_path: Path) -> None:
    """A queue's depth is judged over these readings: a gauge the service does not export is
    recorded as None ("never exported"), not skipped ("never read")."""
    with Timeline(tmp_path / EVENTS_FILE, RunClock()) as timeline:
        prober = Prober(server, timeline, Probes(metrics="/metrics"), interval_s=0.05,
                        gauges=[("depth", Metric(name="queue_depth")),
                                ("sent", Metric(name="published_total")),
                                ("typo", Metric(name="queue_dept")),
                                ("label", Metric(name="queue_depth",
                                                 labels={"queue": "other"}))])
        with prober.running():
            time.sleep(1.3)
    events = [e for e in read_events(tmp_path / EVENTS_FILE) if e.kind == "metric.value"]
    by = {t: [e.data["value"] for e in events if e.data["target"] == t]
          for t in ("depth", "sent", "typo", "label")}
    assert 2 <= len(by["depth"]) <= 4  # 0.05 s polls, a reading every 0.5 s
    assert set(by["depth"]) == {7.0} and set(by["sent"]) == {42.0}
    # a name or a label that matches no sample reads as nothing, never as 0
    assert set(by["typo"]) == {None} and set(by["label"]) == {None}


def test_the_interval_is_a_pace_from_one_round_to_the_next(tmp_path: Path) -> None:
    """Old code paused the interval after every round, so slow answers thinned the polls: on
    a busy CI host 11 s of load gave a probe claim 70 polls, and its p95 needs 72."""
    with Timeline(tmp_path / EVENTS_FILE, RunClock()) as timeline:
        prober = Prober("http://127.0.0.1:9", timeline, Probes(ready="/ready"), interval_s=0.1)
        # a round that took 80 ms leaves at most 20 ms of the interval
        assert prober._rest_s(time.monotonic() - 0.08) <= 0.021
        # a round slower than the interval is followed by the least rest only, never none
        assert prober._rest_s(time.monotonic() - 0.5) == MIN_REST_S
