"""Probes: a background poller of the service's health endpoints and claimed state metrics.

Verdicts about readiness and breakers need to know *when* things changed, at a finer grain than
load requests give. The prober polls the live and ready paths the contract names on the
service's direct address (not through its proxy, so a fault on the service does not blind it)
and writes every answer to the timeline as a ``probe`` event; it scrapes the metrics path for
the state metrics claims name and writes a ``metric.state`` event whenever one changes, and a
``metric.value`` event of each gauge a claim reads (a queue's depth) at most every
:data:`GAUGE_INTERVAL_S` — a value absent from the scrape (no sample with the claimed labels) is
recorded as ``None``, so a verdict can tell "never exported" from "never scraped", and a
mislabelled gauge never reads as 0.

A :class:`JsonProbe` polls one more path whose JSON answer carries a field a claim speaks of
(a detailed health endpoint's status of one dependency): its ``probe`` events also hold that
field's ``value`` (``None`` when the answer had no such field, or was not JSON), so a verdict
reads what the service said at each moment from the timeline alone.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from gauntlet.contract import Contract, Metric, Probes
from gauntlet.metrics import metric_state, metric_values, scrape
from gauntlet.scenarios.fields import dig
from gauntlet.timeline import Timeline

# how often a gauge's value is recorded: a queue's depth moves over seconds, and ten events a
# second of every gauge would swamp the timeline
GAUGE_INTERVAL_S = 0.5
# the least pause between two rounds of polls, however slow the last round was
MIN_REST_S = 0.02


@dataclass(frozen=True)
class JsonProbe:
    """Poll ``path`` as probe target ``target`` and record the answer's ``field`` (dotted; None:
    only the answer's status and time, for a claim on how fast the path answers).

    ``timeout_s``: how long one poll waits for its answer (the prober's own timeout when None).
    A claim that bounds the answer time needs a timeout above its bound: a poll cut off below
    it cannot say whether the answer would have come in time.
    """

    target: str
    path: str
    field: str | None
    timeout_s: float | None = None
    # more fields recorded beside it, under ``also`` (a dependency's reported latency)
    also: tuple[str, ...] = ()


def timed_probes(contract: Contract) -> list[JsonProbe]:
    """The polls the contract's claims time (:meth:`~gauntlet.contract.Claim.timed_paths`):
    their answers' status and time, no field."""
    return [JsonProbe(target, path, None, timeout_s)
            for claim in contract.claims.all()
            for target, (path, timeout_s) in claim.timed_paths().items()]


def json_field(text: str, field: str) -> str | None:
    """The scalar at ``field`` of a JSON answer, as text; ``None`` when absent or not JSON."""
    try:
        value: Any = dig(json.loads(text), field)
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    if isinstance(value, dict | list) or value is None:
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)


_NO_KEEPALIVE = httpx.Limits(max_keepalive_connections=0)


def _error_class(exc: httpx.HTTPError) -> str:
    """Why a poll got no answer: ``timeout`` (it waited its whole timeout), ``connect`` or
    ``other``."""
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "connect"
    return "other"


class Prober:
    def __init__(self, base_url: str, timeline: Timeline, probes: Probes, *,
                 states: Sequence[tuple[str, Metric]] = (),
                 gauges: Sequence[tuple[str, Metric]] = (), interval_s: float = 0.1,
                 timeout_s: float = 1.0, json_probes: Sequence[JsonProbe] = (),
                 health: bool = True) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeline = timeline
        # health: poll the live and ready paths (a load's prober polls only what claims time)
        self.paths = {t: p for t, p in (("live", probes.live), ("ready", probes.ready))
                      if p and health}
        self.metrics_path = probes.metrics if states or gauges else None
        self.states = list(states)
        self.gauges = list(gauges)
        self._gauge_read_at = -GAUGE_INTERVAL_S
        self.json_probes = list(json_probes)
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._last: dict[str, str] = {}

    def _poll(self, client: httpx.Client, target: str, path: str) -> None:
        started = time.monotonic()
        error: str | None = None
        try:
            status = client.get(self.base_url + path).status_code
        except httpx.HTTPError as exc:
            status, error = 0, _error_class(exc)
        data: dict[str, Any] = {"target": target, "status": status,
                                "latency_ms": (time.monotonic() - started) * 1000.0}
        if error:
            data.update(error=error, timeout_ms=self.timeout_s * 1000.0)
        self.timeline.emit("probe", **data)

    def _poll_json(self, client: httpx.Client, probe: JsonProbe) -> None:
        """One poll of a JSON probe; a poll with no answer records why (``error``: timeout,
        connect or other) and how long it would wait (``timeout_ms``), so a verdict can tell
        "no answer within the bound" from an answer time."""
        timeout_s = probe.timeout_s or self.timeout_s
        started = time.monotonic()
        value: str | None = None
        also: dict[str, str | None] = {}
        error: str | None = None
        try:
            response = client.get(self.base_url + probe.path, timeout=timeout_s)
            status = response.status_code
            value = json_field(response.text, probe.field) if probe.field else None
            also = {f: json_field(response.text, f) for f in probe.also}
        except httpx.HTTPError as exc:
            status, error = 0, _error_class(exc)
        data: dict[str, Any] = {"target": probe.target, "status": status,
                                "latency_ms": (time.monotonic() - started) * 1000.0,
                                "value": value, "timeout_ms": timeout_s * 1000.0}
        if probe.also:
            data["also"] = also
        if error:
            data["error"] = error
        self.timeline.emit("probe", **data)

    def _scrape(self, client: httpx.Client) -> None:
        assert self.metrics_path is not None
        scraped = scrape(self.base_url, self.metrics_path, timeout_s=self.timeout_s,
                         client=client)
        if scraped.text is None:
            return
        try:
            for claim, metric in self.states:
                state = metric_state(scraped.text, metric)
                if state is not None and self._last.get(claim) != state:
                    self._last[claim] = state
                    self.timeline.emit("metric.state", claim=claim, state=state)
            if self._gauges_due():
                self._gauge_read_at = time.monotonic()
                for target, metric in self.gauges:
                    # no sample with the claimed labels is no reading, not a reading of 0: a
                    # mislabelled depth must not read as an empty queue
                    values = metric_values(scraped.text, metric)
                    self.timeline.emit("metric.value", target=target,
                                       value=sum(values) if values else None)
        except ValueError:  # not Prometheus text: nothing to read, the probes go on
            return

    def _rest_s(self, began: float) -> float:
        """How long to wait before the next round of polls: the interval is a pace, from one
        round's start to the next, not a pause after each. A pause after each let a busy host
        thin the polls: at 60 ms an answer, 11 s of load gave 70 polls, not the 110 the
        interval promises, and a p95 needs 72. A round slower than the interval is followed by
        :data:`MIN_REST_S` only, so the prober never spins on a service that answers slowly."""
        return max(MIN_REST_S, self.interval_s - (time.monotonic() - began))

    def _gauges_due(self) -> bool:
        return bool(self.gauges) and \
            time.monotonic() - self._gauge_read_at >= GAUGE_INTERVAL_S

    def _run(self) -> None:
        # a new connection per probe: a keep-alive connection would hide "stops accepting"
        with httpx.Client(timeout=self.timeout_s, limits=_NO_KEEPALIVE) as client:
            while not self._stop.is_set():
                began = time.monotonic()
                for target, path in self.paths.items():
                    self._poll(client, target, path)
                # a scrape only when something reads it: gauges alone are read every 0.5 s,
                # not fetched at the polls' pace and mostly thrown away
                if self.metrics_path and (self.states or self._gauges_due()):
                    self._scrape(client)
                self._stop.wait(self._rest_s(began))

    def _run_json(self, probe: JsonProbe) -> None:
        """A JSON probe polls in a thread of its own: an endpoint that hangs up to its
        (longer) timeout must not slow the readiness probes beside it."""
        with httpx.Client(timeout=self.timeout_s, limits=_NO_KEEPALIVE) as client:
            while not self._stop.is_set():
                began = time.monotonic()
                self._poll_json(client, probe)
                self._stop.wait(self._rest_s(began))

    def start(self) -> Prober:
        self._threads = [threading.Thread(target=self._run, name="prober", daemon=True)]
        self._threads += [threading.Thread(target=self._run_json, args=(probe,),
                                           name=f"prober-{probe.target}", daemon=True)
                          for probe in self.json_probes]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop polling; a poll under way ends within its timeout (bounded: 5 s more than the
        longest), and a thread still out after that is left to die with the process."""
        self._stop.set()
        longest = max([self.timeout_s, *(p.timeout_s or 0.0 for p in self.json_probes)])
        deadline = time.monotonic() + longest + 5.0
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    @contextmanager
    def running(self) -> Iterator[Prober]:
        self.start()
        try:
            yield self
        finally:
            self.stop()
