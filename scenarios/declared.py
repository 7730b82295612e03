"""A locustfile that sends the requests a contract declares — the workload of every experiment.

Loaded inside Locust (never import it from the harness). ``$GAUNTLET_TRAFFIC`` holds the
traffic section of the contract, narrowed by the experiment to the requests its claim names::

    {"requests": {"POST /v2/entries": {"method": "POST", "path": "/v2/entries",
                                       "headers": {...}, "json": {...}, "auth": true,
                                       "capture_id": "entry_id", "resend": 0.2}},
     "mix": {"POST /v2/entries": 1}, "auth": {...} | null, "client_header": "X-Forwarded-For",
     "pace_s": 0.5, "spacing": [[["POST /v2/reports"], 720.0]], "client_prefix": "g-1234",
     "timeout_s": 30}

Each simulated user is one client: its own key (``{client}``), its own address in the client
header (from 198.18.0.0/15, RFC 2544's benchmarking range — a header value, never a target),
and one auth step at start. Templates in paths, headers and JSON bodies: ``{client}``,
``{token}`` (a fresh token per request, recorded as the sample's ``token`` so an integrity
read-back can look for it) and ``{id}`` (an id a write of this client was answered with). A
share ``resend`` of requests is sent twice with the same token, as a client retrying after a lost
answer would. Users keep to ``pace_s`` between request starts, which the experiment derives from
the contract's rate limits so a limiter never masks the mechanism under test, and send the
requests of each ``spacing`` group at most once per its interval (a limit on part of the mix,
in a whole-service load), and at most ``count`` of each ``budget`` group in any window (a limit
an experiment spreads over a run shorter than its window).

When ``$GAUNTLET_REPORT_INFLIGHT`` is set, the requests each process has open are written
every 20 ms beside the samples (:mod:`gauntlet.scenarios.inflight`): an experiment times an
action, such as a shutdown signal, on requests being inside the service.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import random
import time
import uuid
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, task

from gauntlet.scenarios.auth import AuthStep
from gauntlet.scenarios.fields import dig, fill
from gauntlet.scenarios.inflight import ENV as INFLIGHT_ENV
from gauntlet.scenarios.inflight import WRITE_EVERY_S, Board
from gauntlet.scenarios.pacing import Budget, Spacing, next_wait_s

TRAFFIC: dict[str, Any] = json.loads(os.environ.get("GAUNTLET_TRAFFIC") or "{}")
REQUESTS: dict[str, dict[str, Any]] = TRAFFIC.get("requests", {})
MIX: dict[str, int] = {k: int(v) for k, v in TRAFFIC.get("mix", {}).items() if int(v) > 0}
AUTH = AuthStep.from_spec(TRAFFIC["auth"]) if TRAFFIC.get("auth") else None
_serial = itertools.count(1)
BOARD = Board() if os.environ.get(INFLIGHT_ENV) else None
_board_writer: list[gevent.Greenlet] = []


def _write_board(board: Board, directory: Path) -> None:
    while True:
        # the run dir may go away with the run: the next write says nothing new anyway
        with contextlib.suppress(OSError):
            board.write(directory)
        gevent.sleep(WRITE_EVERY_S)


def client_address() -> str:
    bits = random.getrandbits(17)
    return f"198.{18 + (bits >> 16)}.{(bits >> 8) & 0xFF}.{bits & 0xFF}"


PACE_S = float(TRAFFIC.get("pace_s", 0.1))
SPACING: list[tuple[list[str], float]] = [(list(names), float(interval))
                                          for names, interval in TRAFFIC.get("spacing", [])]
BUDGET: list[tuple[list[str], int, float]] = [(list(names), int(count), float(window))
                                              for names, count, window in
                                              TRAFFIC.get("budget", [])]


class DeclaredUser(FastHttpUser):
    network_timeout = float(TRAFFIC.get("timeout_s", 30.0))
    connection_timeout = float(TRAFFIC.get("timeout_s", 30.0))

    def on_start(self) -> None:
        prefix = TRAFFIC.get("client_prefix", "gauntlet")
        self.key = f"{prefix}-{os.getpid()}-{next(_serial)}"
        self.headers: dict[str, str] = {}
        if TRAFFIC.get("client_header"):
            self.headers[TRAFFIC["client_header"]] = client_address()
        self.ids: list[str] = []
        if BOARD is not None and not _board_writer and os.environ.get("GAUNTLET_SAMPLES_DIR"):
            directory = Path(os.environ["GAUNTLET_SAMPLES_DIR"])
            _board_writer.append(gevent.spawn(_write_board, BOARD, directory))
        self.names = list(MIX)
        self.weights = [MIX[n] for n in self.names]
        if AUTH is not None:
            self.authenticate(AUTH)
        # users spawned together would keep the same phase of their pacing and send in bursts
        # once a pace, with silence between (a short fault could fall in the gap): spread them.
        # The pace is counted from each task's own start (wait_time), so this offset stays;
        # Locust's constant_pacing counts from the spawn and took it back at the first wait.
        time.sleep(random.uniform(0.0, PACE_S))
        self.task_started = time.monotonic()
        self.spacing = Spacing(SPACING, self.task_started, random.random)
        self.budget = Budget(BUDGET)

    def wait_time(self) -> float:
        return next_wait_s(time.monotonic() - self.task_started, PACE_S, random.random())

    def authenticate(self, step: AuthStep) -> None:
        login = step.request(self.key, self.headers)
        with self.client.request(
            login.method, login.path, name=step.name, headers=login.headers,
            json=login.json_body, catch_response=True,
            context={"client": self.key, "phase": "auth"},
        ) as response:
            try:
                header, value = step.credential(response.json())
            except Exception:
                response.failure(f"auth step: no token in the answer ({response.status_code})")
                return
            self.headers[header] = value

    @task
    def send(self) -> None:
        self.task_started = now = time.monotonic()
        names, weights = self.spacing.allowed(self.names, self.weights, now)
        names, weights = self.budget.allowed(names, weights, now)
        if not names:
            return
        name = random.choices(names, weights)[0]
        spec = REQUESTS[name]
        if "{id}" in spec["path"] and not self.ids:
            writers = [n for n in names if REQUESTS[n].get("capture_id")]
            if not writers:
                return
            name = writers[0]
            spec = REQUESTS[name]
        self.spacing.sent(name, now)
        sends = 2 if random.random() < float(spec.get("resend", 0.0)) else 1
        for _ in range(sends):
            self.budget.sent(name, now)
        token = uuid.uuid4().hex
        fields = {"client": self.key, "token": token}
        if self.ids:
            fields["id"] = random.choice(self.ids)
        for _ in range(sends):
            self.request(name, spec, fields, token)

    def request(self, name: str, spec: dict[str, Any], fields: dict[str, str],
                token: str) -> None:
        headers = {**(self.headers if spec.get("auth", True) else
                      {k: v for k, v in self.headers.items()
                       if k == TRAFFIC.get("client_header")}),
                   **fill(spec.get("headers", {}), fields)}
        writes = "{token}" in json.dumps(spec.get("json")) or "{token}" in json.dumps(
            spec.get("headers", {}))
        key = BOARD.sent(name) if BOARD is not None else None
        try:
            response = self.client.request(
                spec.get("method", "GET"), fill(spec["path"], fields), name=name,
                headers=headers, json=fill(spec.get("json"), fields),
                context={"client": self.key, "token": token if writes else ""},
            )
        finally:
            if key is not None and BOARD is not None:
                BOARD.answered(key)
        capture = spec.get("capture_id")
        if capture and response.status_code in (200, 201):
            try:
                self.ids.append(str(dig(response.json(), capture)))
            except Exception:
                return
            del self.ids[:-20]
