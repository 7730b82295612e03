"""The pure half of realtime load: sample names, the spec the harness hands to Locust, URLs,
reconnect backoff and the book of messages awaiting an ack or a delivery.

Stdlib only: imported inside Locust by :mod:`gauntlet.scenarios.realtime` (which adds the
sockets) and by the harness, which passes the contract's ``[traffic.realtime]`` in
``$GAUNTLET_REALTIME`` and counts connections and drops by the names defined here. Kept apart so
both sides agree on the names and the arithmetic is unit-tested without a socket or gevent.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:  # the harness' pydantic schema; never imported inside Locust
    from gauntlet.contract import Contract

ENV = "GAUNTLET_REALTIME"
# request_type of each protocol's samples: endpoint keys read "SIO connect", "WS message"
REQUEST_TYPES = {"websocket": "WS", "socketio": "SIO"}
CONNECT = "connect"      # handshake: TCP + upgrade (+ Socket.IO namespace connect, auth)
RECONNECT = "reconnect"  # a handshake after a drop, the backoff before it not included
MESSAGE = "message"      # send → ack
DELIVER = "deliver"      # send → the pushed message naming the same token
DROPPED = "dropped"      # the server closed/reset a connection the client expected open
DROPPED_CLASS = "dropped"  # the error class of a drop (capture.classify honours it)


class ConnectionDropped(ConnectionError):
    """The server closed or reset a connection while the client expected it open.

    ``error_class`` is what :func:`gauntlet.scenarios.capture.classify` records, so a drop is
    told apart from a refused connect, a timeout or a reset of a single request.
    """

    error_class = DROPPED_CLASS


class AckMismatch(Exception):
    """An acknowledgement arrived but did not name the sent token (the server acked something
    else, or answered an error)."""


def endpoint(protocol: str, name: str) -> str:
    """The sample key a suite gates on: ``endpoint("socketio", "connect") == "SIO connect"``."""
    return f"{REQUEST_TYPES[protocol]} {name}"


def connection_counts(counts: dict[str, int]) -> tuple[int, int]:
    """(connection attempts, drops) from per-endpoint sample counts, over every protocol."""
    attempts = drops = 0
    for kind in REQUEST_TYPES.values():
        attempts += counts.get(f"{kind} {CONNECT}", 0) + counts.get(f"{kind} {RECONNECT}", 0)
        drops += counts.get(f"{kind} {DROPPED}", 0)
    return attempts, drops


def ws_url(base_url: str, path: str, query: dict[str, str] | None = None) -> str:
    """The WebSocket URL of ``path`` on the stack's HTTP base URL (http → ws, https → wss),
    keeping a query the path already has."""
    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    path_part, _, existing = path.partition("?")
    prefix = parts.path.rstrip("/")
    extra = urlencode(query or {})
    full_query = "&".join(q for q in (existing, extra) if q)
    return urlunsplit((scheme, parts.netloc, prefix + path_part, full_query, ""))


def with_query(url: str, query: dict[str, str]) -> str:
    """``url`` with ``query`` appended (Socket.IO's URL: the engine path is given apart)."""
    if not query:
        return url
    parts = urlsplit(url)
    full_query = "&".join(q for q in (parts.query, urlencode(query)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, full_query, parts.fragment))


def backoff_delay(initial_s: float, max_s: float, attempt: int) -> float:
    """Delay before reconnect attempt ``attempt`` (0-based): no jitter, so runs compare."""
    return float(min(max_s, initial_s * (2 ** min(attempt, 30))))


@dataclass
class Pending:
    """One sent message: when it left, whether its ack and its delivery are still awaited."""

    token: str
    sent_at: float  # time.time() at send, the sample's start
    sent_perf: float  # time.perf_counter() at send, for the latency
    awaiting_ack: bool = True
    awaiting_delivery: bool = False
    seq: int = -1  # the message's number on its connection


@dataclass
class Book:
    """Messages of one connection awaiting their ack or delivery, by token.

    The reader side calls :meth:`acked` / :meth:`delivered` with a token found in a frame; each
    returns the latency in ms the first time the token matches (None for an unknown or already
    matched token, e.g. another client's message in a shared room), so each sample is recorded
    exactly once.
    """

    pending: dict[str, Pending] = field(default_factory=dict)

    def sent(self, token: str, *, deliver: bool, now: float | None = None,
             perf: float | None = None, seq: int = -1) -> Pending:
        entry = Pending(token, time.time() if now is None else now,
                        time.perf_counter() if perf is None else perf,
                        awaiting_ack=True, awaiting_delivery=deliver, seq=seq)
        self.pending[token] = entry
        return entry

    def acked(self, token: Any, perf: float | None = None) -> float | None:
        entry = self.pending.get(str(token)) if token is not None else None
        if entry is None or not entry.awaiting_ack:
            return None
        entry.awaiting_ack = False
        self._forget(entry)
        return ((time.perf_counter() if perf is None else perf) - entry.sent_perf) * 1000.0

    def delivered(self, token: Any, perf: float | None = None) -> float | None:
        entry = self.pending.get(str(token)) if token is not None else None
        if entry is None or not entry.awaiting_delivery:
            return None
        entry.awaiting_delivery = False
        self._forget(entry)
        return ((time.perf_counter() if perf is None else perf) - entry.sent_perf) * 1000.0

    def outstanding(self) -> list[Pending]:
        """Everything still awaited (what a drop makes fail), and forget it."""
        out = list(self.pending.values())
        self.pending.clear()
        return out

    def _forget(self, entry: Pending) -> None:
        if not entry.awaiting_ack and not entry.awaiting_delivery:
            self.pending.pop(entry.token, None)


def lookup(data: Any, dotted: str) -> Any:
    """``dig`` that answers None instead of raising: a frame without the path is not a match."""
    for part in dotted.split("."):
        try:
            data = data[int(part)] if isinstance(data, list) else data[part]
        except (KeyError, IndexError, TypeError, ValueError):
            return None
    return data


def realtime_env(contract: Contract | None, client_prefix: str = "rt", *,
                 messages: int | None = None) -> dict[str, str]:
    """The Locust environment for the contract's ``[traffic.realtime]`` (empty without one):
    the table, the auth step and the client header, as ``$GAUNTLET_REALTIME``. ``messages``
    replaces the table's count per connection (0: each client holds one connection)."""
    realtime = contract.traffic.realtime if contract is not None else None
    if contract is None or realtime is None:
        return {}
    traffic = contract.traffic
    table = realtime.model_dump(mode="json")
    if messages is not None:
        table["messages"] = messages
    spec = {
        "realtime": {**table, "token_location": realtime.token_location},
        "auth": traffic.auth.model_dump(mode="json", by_alias=True) if traffic.auth else None,
        "client_header": traffic.client_header,
        "client_prefix": client_prefix,
    }
    return {ENV: json.dumps(spec)}
