"""Probes: a background poller of the API's health endpoints and breaker state.

Verdicts about readiness and breakers need to know *when* things changed, at a finer grain than
load requests give. The prober polls ``/health/live``, ``/health/ready`` and ``/metrics`` on the
API's direct address (not through the ``api`` proxy, so an API fault does not blind it) and
writes every result to the timeline: ``probe`` events, and a ``breaker.state`` event whenever the
breaker gauge changes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar

import httpx
from prometheus_client.parser import text_string_to_metric_families

from gauntlet.timeline import Timeline

BREAKER_STATES = {0.0: "closed", 1.0: "open", 2.0: "half-open"}


def breaker_states(metrics_text: str) -> dict[str, str]:
    states: dict[str, str] = {}
    for family in text_string_to_metric_families(metrics_text):
        if family.name != "breaker_state":
            continue
        for sample in family.samples:
            states[sample.labels.get("name", "")] = BREAKER_STATES.get(sample.value, "unknown")
    return states


def counter_total(metrics_text: str, family_name: str) -> float:
    """Sum of a counter family over its labels (``retries`` → ``retries_total``)."""
    total = 0.0
    for family in text_string_to_metric_families(metrics_text):
        if family.name == family_name:
            total += sum(s.value for s in family.samples if s.name == f"{family_name}_total")
    return total


class Prober:
    def __init__(self, base_url: str, timeline: Timeline, *, interval_s: float = 0.1,
                 targets: tuple[str, ...] = ("live", "ready", "metrics"),
                 timeout_s: float = 1.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeline = timeline
        self.interval_s = interval_s
        self.targets = targets
        self.timeout_s = timeout_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._breakers: dict[str, str] = {}

    _PATHS: ClassVar[dict[str, str]] = {
        "live": "/health/live", "ready": "/health/ready", "metrics": "/metrics",
    }

    def _poll(self, client: httpx.Client, target: str) -> None:
        started = time.monotonic()
        status = 0
        text = ""
        try:
            response = client.get(self.base_url + self._PATHS[target])
            status = response.status_code
            if target == "metrics":
                text = response.text
        except httpx.HTTPError:
            status = 0
        latency_ms = (time.monotonic() - started) * 1000.0
        if target == "metrics":
            if text:
                for name, state in breaker_states(text).items():
                    if self._breakers.get(name) != state:
                        self._breakers[name] = state
                        self.timeline.emit("breaker.state", name=name, state=state)
            return
        self.timeline.emit("probe", target=target, status=status, latency_ms=latency_ms)

    def _run(self) -> None:
        # a new connection per probe: a keep-alive connection would hide "stops accepting"
        with httpx.Client(timeout=self.timeout_s, limits=httpx.Limits(max_keepalive_connections=0)
                          ) as client:
            while not self._stop.is_set():
                for target in self.targets:
                    self._poll(client, target)
                self._stop.wait(self.interval_s)

    def start(self) -> Prober:
        self._thread = threading.Thread(target=self._run, name="prober", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)

    @contextmanager
    def running(self) -> Iterator[Prober]:
        self.start()
        try:
            yield self
        finally:
            self.stop()
