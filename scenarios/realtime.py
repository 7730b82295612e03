"""WebSocket and Socket.IO users: the realtime traffic a contract declares, as Locust users.

Loaded inside Locust (``[load] scenario = "realtime"``; never import it from the harness). The
harness passes the contract's ``[traffic.realtime]`` (with its auth step and client header) in
``$GAUNTLET_REALTIME``; nothing here names a route or an event of any service.

One task is one **connection**: connect, send ``messages`` messages (``think_s`` apart), wait for
their deliveries, close. In the open model (``load.model = "open"``) each connection starts at a
slot of the arrival schedule — ``rate`` is new connections per second — and its ``connect``
sample carries the slot as ``t_intended_s``, so a slow handshake or a pool too small for the
rate is charged to the connect latency (coordinated omission). In the closed model each user
opens connection after connection.

Samples (through ``events.request``, so the capture listener writes them like HTTP requests),
``request_type`` "WS" or "SIO", names from :mod:`gauntlet.scenarios.realtime_spec`:

* ``connect`` / ``reconnect`` — the handshake (upgrade, Socket.IO namespace and auth);
* ``message`` — send → ack, with the message's ``token`` and ``seq``;
* ``deliver`` — send → the pushed message naming the same token (when ``deliver`` is declared),
  one per acknowledged message (with its ``seq``), failed when it never came within
  ``timeout_s``;
* ``dropped`` — one per connection the server closed or reset while the client expected it
  open (latency 0: an event, not a wait), error class ``dropped``; a message awaiting its ack
  then fails with the same class.

Libraries: ``websocket-client`` for raw WebSocket; ``python-socketio``'s sync ``Client`` (which
rides on websocket-client and requests, already a Locust dependency) for Socket.IO. Both are
plain blocking code that gevent's monkey-patching makes cooperative; the Socket.IO client is
built with ``handle_sigint=False`` (its SIGINT handler would swallow the signal the harness stops
Locust with) and ``reconnection=False`` (reconnects are ours, timed and recorded).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import os
import time
import uuid
from typing import Any

import gevent
import socketio
import websocket
from gevent.event import AsyncResult, Event
from locust import task

from gauntlet.scenarios.auth import AuthStep
from gauntlet.scenarios.declared import client_address
from gauntlet.scenarios.fields import fill
from gauntlet.scenarios.openmodel import OpenModelUser
from gauntlet.scenarios.realtime_spec import (
    CONNECT,
    DELIVER,
    DROPPED,
    ENV,
    MESSAGE,
    RECONNECT,
    REQUEST_TYPES,
    AckMismatch,
    Book,
    ConnectionDropped,
    backoff_delay,
    lookup,
    with_query,
    ws_url,
)

SPEC: dict[str, Any] = json.loads(os.environ.get(ENV) or "{}")
RT: dict[str, Any] = SPEC.get("realtime") or {}
AUTH = AuthStep.from_spec(SPEC["auth"]) if SPEC.get("auth") else None
if not RT:
    raise SystemExit(f"scenario 'realtime': ${ENV} is empty — the harness sets it from the "
                     "contract's [traffic.realtime]; declare that table")
PROTOCOL: str = RT["protocol"]
KIND = REQUEST_TYPES[PROTOCOL]
TIMEOUT_S = float(RT.get("timeout_s", 10.0))
MESSAGES = int(RT.get("messages", 1))
THINK_S = float(RT.get("think_s", 1.0))
ACK: str | None = RT.get("ack")
DELIVER_PATH: str | None = RT.get("deliver")
OPEN_MODEL = bool(os.environ.get("GAUNTLET_RATE_STAGES"))
_serial = itertools.count(1)


class Link:
    """One connection: the acks it awaits and how a drop is noticed.

    Subclasses speak the protocol; the reader side (a greenlet of theirs) calls
    :meth:`on_frame`, :meth:`on_ack` and :meth:`on_lost`, the user's greenlet the rest. The
    book of awaited deliveries is the client's, not the connection's: a message acknowledged
    before a drop may still be pushed on the connection that replaces it.
    """

    def __init__(self, user: RealtimeUser) -> None:
        self.user = user
        self.book = user.book
        self.waiters: dict[str, AsyncResult] = {}
        self.dropped = Event()  # set once, when the server drops the connection
        self.progress = Event()  # a delivery arrived: the final wait looks again
        self.closing = False

    def open(self, query: dict[str, str], headers: dict[str, str],
             auth: dict[str, str] | None) -> None:
        raise NotImplementedError

    def emit(self, token: str, payload: Any) -> None:
        raise NotImplementedError

    def shutdown(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Close from our side (a close the client asked for is never a drop)."""
        self.closing = True
        # bounded: a server that never answers the close must not hold the user; an exception
        # means the socket is already gone and nothing is left to close
        with gevent.Timeout(TIMEOUT_S, False), contextlib.suppress(Exception):
            self.shutdown()

    # --- reader side ----------------------------------------------------------------------

    def on_frame(self, data: Any) -> None:
        """A pushed message (WebSocket: every frame): an ack and/or a delivery of a token."""
        perf = time.perf_counter()
        if PROTOCOL == "websocket" and ACK is not None:
            self.on_ack(lookup(data, ACK), perf, None)
        if DELIVER_PATH is not None:
            token = lookup(data, DELIVER_PATH)
            entry = self.book.pending.get(str(token)) if token is not None else None
            latency = self.book.delivered(token, perf)
            if latency is not None and entry is not None:
                self.user.fire(DELIVER, entry.sent_at, latency, token=entry.token,
                               seq=entry.seq)
                self.progress.set()

    def on_ack(self, token: Any, perf: float, error: Exception | None) -> None:
        latency = self.book.acked(token, perf)
        waiter = self.waiters.pop(str(token), None)
        if latency is not None and waiter is not None:
            waiter.set((latency, error))

    def on_lost(self, reason: str) -> None:
        """The connection ended; a drop unless we were closing it."""
        if self.closing or self.dropped.is_set():
            return
        self.dropped.set()
        self.user.fire(DROPPED, time.time(), 0.0,
                       exception=ConnectionDropped(f"server ended the connection: {reason}"))
        for token, waiter in list(self.waiters.items()):
            # never acknowledged: its message sample fails in the user's greenlet, and no
            # delivery is awaited for it (acknowledged ones stay awaited, see the class)
            self.book.pending.pop(token, None)
            waiter.set_exception(ConnectionDropped(f"dropped before the ack: {reason}"))
        self.waiters.clear()
        self.progress.set()

    # --- user side ------------------------------------------------------------------------

    def send(self, seq: int) -> None:
        """One message: send, wait for the ack, record the ``message`` sample."""
        token = uuid.uuid4().hex
        payload = fill(RT.get("send"), {"client": self.user.key, "token": token})
        waiter: AsyncResult = AsyncResult()
        self.waiters[token] = waiter
        entry = self.book.sent(token, deliver=DELIVER_PATH is not None, seq=seq)
        try:
            self.emit(token, payload)
            latency, error = waiter.get(timeout=TIMEOUT_S)
        except gevent.Timeout:
            self.waiters.pop(token, None)
            self.book.acked(token)  # a late ack is no longer a match
            latency = (time.perf_counter() - entry.sent_perf) * 1000.0
            error = TimeoutError(f"no ack within {TIMEOUT_S:g} s")
        except Exception as exc:  # dropped before the ack, or the send itself failed
            self.waiters.pop(token, None)
            self.book.pending.pop(token, None)
            latency = (time.perf_counter() - entry.sent_perf) * 1000.0
            error = exc
        self.user.fire(MESSAGE, entry.sent_at, latency, token=token, seq=seq, exception=error,
                       length=len(json.dumps(payload)))

    def await_deliveries(self, final: bool) -> None:
        """Record deliveries that did not come within ``timeout_s`` of their send; with
        ``final``, wait for the rest first (the connection is about to close), or fail them at
        once when it was dropped (nothing can arrive any more)."""
        while True:
            now = time.perf_counter()
            waiting = [e for e in self.book.pending.values() if e.awaiting_delivery]
            if final and self.dropped.is_set():
                for entry in waiting:
                    self.book.delivered(entry.token)
                    self.user.fire(DELIVER, entry.sent_at, (now - entry.sent_perf) * 1000.0,
                                   token=entry.token, seq=entry.seq, exception=ConnectionDropped(
                                       "the connection dropped before the delivery"))
                return
            late = [e for e in waiting if now - e.sent_perf >= TIMEOUT_S]
            for entry in late:
                self.book.delivered(entry.token)
                self.user.fire(DELIVER, entry.sent_at, (now - entry.sent_perf) * 1000.0,
                               token=entry.token, seq=entry.seq,
                               exception=TimeoutError(f"not delivered within {TIMEOUT_S:g} s"))
            if not final or len(late) == len(waiting):
                return
            first_due = min(e.sent_perf for e in waiting if e not in late) + TIMEOUT_S
            self.progress.clear()
            self.progress.wait(timeout=max(0.0, first_due - now))


class WsLink(Link):
    """Raw WebSocket (websocket-client): JSON text frames; a reader greenlet matches replies."""

    ws: websocket.WebSocket | None = None
    reader: gevent.Greenlet | None = None

    def open(self, query: dict[str, str], headers: dict[str, str],
             auth: dict[str, str] | None) -> None:
        url = ws_url(self.user.host or "", RT["path"], query)
        self.ws = websocket.create_connection(
            url, header=headers, timeout=TIMEOUT_S, enable_multithread=True)
        self.ws.settimeout(None)  # the reader waits as long as the connection lives
        self.reader = gevent.spawn(self._read)

    def _read(self) -> None:
        assert self.ws is not None
        while True:
            try:
                text = self.ws.recv()
            except Exception as exc:
                self.on_lost(f"{type(exc).__name__}: {exc}")
                return
            if not text and not self.ws.connected:
                self.on_lost("closed by the server")
                return
            try:
                self.on_frame(json.loads(text))
            except ValueError:
                continue  # not JSON: neither an ack nor a delivery

    def emit(self, token: str, payload: Any) -> None:
        assert self.ws is not None
        self.ws.send(json.dumps(payload))

    def shutdown(self) -> None:
        if self.ws is not None:
            self.ws.close(timeout=min(TIMEOUT_S, 1.0))
        if self.reader is not None:
            self.reader.kill(block=False)


class SioLink(Link):
    """Socket.IO (python-socketio's sync client): ``event`` emitted with an ack callback;
    pushes of ``deliver_event`` matched by ``deliver``."""

    sio: socketio.Client | None = None

    def open(self, query: dict[str, str], headers: dict[str, str],
             auth: dict[str, str] | None) -> None:
        self.rejected: Any = None
        sio = self.sio = socketio.Client(reconnection=False, handle_sigint=False,
                                         request_timeout=TIMEOUT_S)
        sio.on("disconnect", self._on_disconnect)
        sio.on("connect_error", self._on_connect_error)
        if DELIVER_PATH is not None:
            sio.on(RT.get("deliver_event") or RT.get("event", "message"), self.on_frame)
        try:
            sio.connect(with_query(self.user.host or "", query), headers=headers, auth=auth,
                        transports=list(RT.get("transports") or ["websocket"]),
                        namespaces=["/"], socketio_path=RT.get("path") or "/socket.io",
                        wait_timeout=TIMEOUT_S)
        except socketio.exceptions.ConnectionError as exc:
            if self.rejected is not None:  # the server's own words (an auth middleware's)
                raise ConnectionError(f"rejected by the server: {self.rejected}") from exc
            raise

    def _on_connect_error(self, data: Any = None) -> None:
        self.rejected = data

    def _on_disconnect(self, reason: Any = None) -> None:
        self.on_lost(str(reason or "disconnected"))

    def emit(self, token: str, payload: Any) -> None:
        assert self.sio is not None
        self.sio.emit(RT.get("event", "message"), payload,
                      callback=functools.partial(self._on_callback, token))

    def _on_callback(self, token: str, *args: Any) -> None:
        perf = time.perf_counter()
        error: Exception | None = None
        if ACK is not None:
            named = lookup(args[0] if args else None, ACK)
            if str(named) != token:
                error = AckMismatch(f"ack names {named!r}, not the token: {args!r:.200}")
        self.on_ack(token, perf, error)

    def shutdown(self) -> None:
        if self.sio is not None:
            self.sio.disconnect()


LINKS: dict[str, type[Link]] = {"websocket": WsLink, "socketio": SioLink}


class RealtimeUser(OpenModelUser):
    """One simulated client: one auth step, then connection after connection."""

    def wait_time(self) -> float:
        if OPEN_MODEL:  # the next connection starts at the next slot of the schedule
            return OpenModelUser.wait_time(self)
        return 0.0

    def context(self) -> dict[str, Any]:
        # OpenModelUser stamps every request with the current slot; here only a connect has a
        # slot (the auth step and the messages start when they start), so each sample says its
        # own intended start
        return {}

    def on_start(self) -> None:
        self.key = f"{SPEC.get('client_prefix', 'rt')}-{os.getpid()}-{next(_serial)}"
        self.headers: dict[str, str] = {}
        if SPEC.get("client_header"):
            self.headers[SPEC["client_header"]] = client_address()
        self.token: str | None = None
        self.book = Book()  # messages awaiting delivery, across this client's connections
        if AUTH is not None and RT.get("auth", True):
            self.authenticate(AUTH)
        if OPEN_MODEL:
            gevent.sleep(self.wait_time())

    def authenticate(self, step: AuthStep) -> None:
        """The contract's auth step, once per client (an HTTP sample of its own)."""
        login = step.request(self.key, self.headers)
        with self.client.request(
            login.method, login.path, name=step.name, headers=login.headers,
            json=login.json_body, catch_response=True,
            context={"client": self.key, "phase": "auth"},
        ) as response:
            try:
                self.token = step.token_of(response.json())
            except Exception:
                response.failure(f"auth step: no token in the answer ({response.status_code})")

    def credentials(self) -> tuple[dict[str, str], dict[str, str], dict[str, str] | None]:
        """(query, headers, Socket.IO auth payload) presenting the token as declared."""
        headers = dict(self.headers)
        if self.token is None:
            return {}, headers, None
        where, param = RT.get("token_location", "query"), RT.get("token_param", "token")
        if where == "header" and AUTH is not None:
            header, value = AUTH.present(self.token)
            headers[header] = value
            return {}, headers, None
        if where == "auth":
            return {}, headers, {param: self.token}
        return {param: self.token}, headers, None

    def fire(self, name: str, started_at: float, latency_ms: float, *, token: str = "",
             seq: int = -1, exception: BaseException | None = None, length: int = 0,
             intended: float | None = None, phase: str = "", response: Any = None) -> None:
        context: dict[str, Any] = {"client": self.key, "token": token, "seq": seq}
        if phase:
            context["phase"] = phase
        if intended is not None:
            context["t_intended_s"] = intended
        self.environment.events.request.fire(
            request_type=KIND, name=name, response_time=latency_ms, response_length=length,
            response=response, context=context, exception=exception, start_time=started_at)

    def connect(self, name: str, intended: float | None) -> Link | None:
        """Open a connection, recording its handshake; None when it failed."""
        link = LINKS[PROTOCOL](self)
        query, headers, auth = self.credentials()
        started_at, perf = time.time(), time.perf_counter()
        try:
            link.open(query, headers, auth)
        except Exception as exc:
            latency = (time.perf_counter() - perf) * 1000.0
            status = getattr(exc, "status_code", None)  # a refused WebSocket upgrade (401 …)
            self.fire(name, started_at, latency, exception=exc, intended=intended,
                      phase=name if name == RECONNECT else "",
                      response=_Status(int(status)) if isinstance(status, int) else None)
            link.close()
            return None
        self.fire(name, started_at, (time.perf_counter() - perf) * 1000.0, intended=intended,
                  phase=name if name == RECONNECT else "")
        return link

    def reconnect(self, old: Link) -> Link | None:
        """After a drop: the contract's backoff, then a new handshake (``reconnect``)."""
        old.close()
        backoff = RT.get("reconnect")
        if not backoff:
            return None
        attempt = 0
        while not backoff.get("attempts") or attempt < int(backoff["attempts"]):
            gevent.sleep(backoff_delay(float(backoff["initial_s"]), float(backoff["max_s"]),
                                       attempt))
            link = self.connect(RECONNECT, None)
            if link is not None:
                return link
            attempt += 1
        return None

    @task
    def connection(self) -> None:
        link = self.connect(CONNECT, self._intended if OPEN_MODEL else None)
        if link is None:
            if not OPEN_MODEL:  # a closed-loop client thinks before its next try, not spin
                gevent.sleep(THINK_S)
            return
        try:
            seq = 0
            while MESSAGES == 0 or seq < MESSAGES:
                if link.dropped.is_set():
                    replaced = self.reconnect(link)
                    if replaced is None:
                        return
                    link = replaced
                link.send(seq)
                seq += 1
                link.dropped.wait(timeout=THINK_S)  # think; a drop cuts it short
                link.await_deliveries(final=False)
            link.await_deliveries(final=True)
        finally:
            link.close()


class _Status:
    """The answer of a refused upgrade, as the capture reads one (``status_code``)."""

    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
