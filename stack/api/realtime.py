"""``/ws/chat``: a WebSocket chat whose acknowledgement means "durably published".

The protocol (JSON text frames)::

    GET /ws/chat?token=<JWT from /auth/login>       each user joins its own room (its subject)
    → {"type": "message", "id": "<client id>", "body": "..."}
    ← {"type": "ack", "ack": "<client id>"}          only once the message is in Redis
    ← {"type": "error", "error": "unavailable", "id": "<client id>"}   Redis stayed away for
                                                     PUBLISH_WAIT_S: not stored, send again
    ← {"type": "message", "message": {"id": ..., "body": ..., "from": ...}}   delivered, to
                                                     every connection of the room, the sender's too

Why a Redis stream and not PUBLISH alone: an acknowledgement is a promise the message will be
delivered, and a PUBLISH sent while the subscriber's connection is down is gone. Each message is
``XADD``-ed to its room's stream (``rt:room:<room>``) and acknowledged only after Redis answered;
one reader task per process follows every joined room's stream with a blocking ``XREAD`` from
the room's cursor — the id of the last entry it delivered. When the Redis link drops (Toxiproxy
``down``/``reset_peer``) the read fails, the reader backs off and reads again from the same
cursors, so everything acknowledged meanwhile is delivered once Redis answers. The cursor is
also kept in Redis (``rt:room:<room>:delivered``): a room joined again — by a client that
reconnected, or after this process restarted — starts where the previous delivery stopped, so a
message acknowledged just before a connection dropped is re-sent, not lost. (A client may see a
message twice after a reconnect; it never misses one it was acknowledged.)

Every Redis call goes through ``REDIS_URL`` (the Toxiproxy'd link on gauntlet's stacks) with its
own timeout, and not through the request path's :class:`~stack.api.redisguard.RedisGuard`: a chat
outage must not open the breaker that the rate limiter and the cache share.

Broken variants (each makes the reconnect experiment fail):

- ``REALTIME_NO_RESUBSCRIBE=1``: the reader gives up at its first Redis error and is never
  started again — messages are still acknowledged, and never delivered.
- ``REALTIME_ACK_BEFORE_PUBLISH=1``: acknowledges on receipt and publishes afterwards, dropping
  what Redis refused — messages acknowledged during an outage are lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from stack.api.cache import redis_client
from stack.api.config import Settings
from stack.api.logs import log_event
from stack.api.redisguard import REDIS_ERRORS
from stack.api.services import Services

logger = logging.getLogger("stack.api.realtime")

PATH = "/ws/chat"
CLOSE_UNAUTHORIZED = 4401  # application close code: no valid token
STREAM_MAXLEN = 10_000  # entries kept per room (approximate trim)
CURSOR_TTL_S = 3600
BLOCK_MS = 200  # one XREAD waits at most this long, so a newly joined room is read soon
BATCH = 200
BACKOFF_S = (0.05, 0.5)  # the reader's first and longest wait between failed reads
PUBLISH_WAIT_S = 5.0  # how long a message waits for Redis before the client is told to resend
PUBLISH_RETRY_S = 0.1


def stream_key(room: str) -> str:
    return f"rt:room:{room}"


def cursor_key(room: str) -> str:
    return f"rt:room:{room}:delivered"


@dataclass
class Room:
    """The connections of one room in this process, and where its delivery stands."""

    sockets: set[WebSocket] = field(default_factory=set)
    cursor: str | None = None  # None: read from Redis (or the join time) before the next read
    joined_ms: int = 0
    saved: str | None = None  # the cursor last written to Redis


class Hub:
    """Rooms, the one reader task that delivers their streams, and the publishing side."""

    def __init__(self, settings: Settings) -> None:
        self._timeout_s = settings.redis_timeout_s
        self._redis = redis_client(settings.redis_url, settings.redis_timeout_s)
        # the reader's socket must outwait one blocking read
        self._reader_redis = redis_client(settings.redis_url,
                                          settings.redis_timeout_s + BLOCK_MS / 1000)
        self.no_resubscribe = settings.realtime_no_resubscribe
        self.ack_before_publish = settings.realtime_ack_before_publish
        self._rooms: dict[str, Room] = {}
        self._reader: asyncio.Task[None] | None = None
        self._gave_up = False
        self._closing = False

    # -- connections -----------------------------------------------------------------------
    def join(self, room: str, ws: WebSocket) -> None:
        entry = self._rooms.get(room)
        if entry is None:
            entry = self._rooms[room] = Room(joined_ms=int(time.time() * 1000))
        entry.sockets.add(ws)
        self._ensure_reader()

    def leave(self, room: str, ws: WebSocket) -> None:
        entry = self._rooms.get(room)
        if entry is None:
            return
        entry.sockets.discard(ws)
        if not entry.sockets:
            del self._rooms[room]

    # -- publishing ------------------------------------------------------------------------
    async def publish(self, room: str, sender: str, message_id: str, body: str, *,
                      wait_s: float = PUBLISH_WAIT_S) -> None:
        """``XADD``, tried again every ``PUBLISH_RETRY_S`` for up to ``wait_s`` while Redis
        fails: a short outage delays the ack instead of failing the message. Raises the last
        Redis/OS error (or ``TimeoutError``) when Redis stayed away."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                async with asyncio.timeout(self._timeout_s):
                    await self._redis.xadd(stream_key(room),
                                           {"id": message_id, "body": body, "from": sender},
                                           maxlen=STREAM_MAXLEN, approximate=True)
                return
            except REDIS_ERRORS:
                if time.monotonic() + PUBLISH_RETRY_S > deadline:
                    raise
                await asyncio.sleep(PUBLISH_RETRY_S)

    # -- delivery --------------------------------------------------------------------------
    def _ensure_reader(self) -> None:
        if self._closing or (self._reader is not None and not self._reader.done()):
            return
        if self._gave_up:  # REALTIME_NO_RESUBSCRIBE: the subscription is never re-established
            return
        self._reader = asyncio.create_task(self._read_loop(), name="realtime-reader")

    async def _read_loop(self) -> None:
        backoff_s = BACKOFF_S[0]
        while self._rooms and not self._closing:
            try:
                await self._read_once()
                backoff_s = BACKOFF_S[0]
            except REDIS_ERRORS as exc:
                reason = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
                if self.no_resubscribe:
                    self._gave_up = True
                    log_event(logger, logging.WARNING, "realtime_subscription_lost",
                              error=reason, resubscribe=False)
                    return
                log_event(logger, logging.WARNING, "realtime_read_failed", error=reason,
                          retry_in_s=backoff_s)
                await asyncio.sleep(backoff_s)
                backoff_s = min(BACKOFF_S[1], backoff_s * 2)

    async def _read_once(self) -> None:
        await self._resolve_cursors()
        rooms = {r: e for r, e in self._rooms.items() if e.cursor is not None}
        if not rooms:
            return
        streams: dict[Any, Any] = {stream_key(r): e.cursor for r, e in rooms.items()}
        answer: Any = await self._reader_redis.xread(streams, count=BATCH, block=BLOCK_MS)
        for key, entries in answer or []:
            room = _text(key).removeprefix("rt:room:")
            entry = self._rooms.get(room)
            if entry is None:
                continue
            for entry_id, fields in entries:
                if not await _deliver(entry, fields):
                    break  # nobody left to deliver to: the cursor stays, a later join re-sends
                entry.cursor = _text(entry_id)
        await self._save_cursors()

    async def _resolve_cursors(self) -> None:
        """Rooms joined since the last read start where the room's delivery last stopped (kept
        in Redis), or just before the first join when nothing was ever delivered."""
        fresh = [r for r, e in self._rooms.items() if e.cursor is None]
        if not fresh:
            return
        async with asyncio.timeout(self._timeout_s):
            saved = await self._redis.mget([cursor_key(r) for r in fresh])
        for room, value in zip(fresh, saved, strict=True):
            entry = self._rooms.get(room)
            if entry is not None and entry.cursor is None:
                entry.cursor = _text(value) if value else f"{entry.joined_ms - 1}-0"
                entry.saved = entry.cursor

    async def _save_cursors(self) -> None:
        moved = {r: e.cursor for r, e in self._rooms.items()
                 if e.cursor is not None and e.cursor != e.saved}
        if not moved:
            return
        async with asyncio.timeout(self._timeout_s):
            async with self._redis.pipeline(transaction=False) as pipe:
                for room, cursor in moved.items():
                    pipe.set(cursor_key(room), cursor, ex=CURSOR_TTL_S)
                await pipe.execute()
        for room, cursor in moved.items():
            if room in self._rooms:
                self._rooms[room].saved = cursor

    async def close(self) -> None:
        self._closing = True
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, *REDIS_ERRORS):
                await self._reader
        for client in (self._redis, self._reader_redis):
            with contextlib.suppress(*REDIS_ERRORS):
                await client.aclose()


async def _deliver(room: Room, fields: dict[Any, Any]) -> bool:
    """Send one stream entry to every connection of the room; True if any took it."""
    message = {_text(k): _text(v) for k, v in fields.items()}
    frame = json.dumps({"type": "message", "message": message})
    delivered = False
    for ws in list(room.sockets):
        try:
            await ws.send_text(frame)
            delivered = True
        except (WebSocketDisconnect, RuntimeError, OSError):
            room.sockets.discard(ws)
    return delivered


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def chat(ws: WebSocket) -> None:
    """One client's connection: authenticate, join its room, then publish what it sends."""
    services: Services = ws.app.state.services
    hub: Hub = ws.app.state.realtime
    subject = services.tokens.verify(ws.query_params.get("token", ""))
    if subject is None:
        await ws.close(code=CLOSE_UNAUTHORIZED)
        return
    await ws.accept()
    hub.join(subject, ws)
    try:
        while True:
            try:
                frame = json.loads(await ws.receive_text())
                message_id = str(frame["id"])
                body = str(frame.get("body", ""))
                if frame.get("type", "message") != "message":
                    raise ValueError(frame.get("type"))
            except (ValueError, KeyError, TypeError):
                await ws.send_json({"type": "error", "error": "bad message"})
                continue
            if hub.ack_before_publish:
                await ws.send_json({"type": "ack", "ack": message_id})
            try:
                # acked first, the message has no reason to wait for Redis: one attempt
                await hub.publish(subject, subject, message_id, body,
                                  wait_s=0.0 if hub.ack_before_publish else PUBLISH_WAIT_S)
            except REDIS_ERRORS as exc:
                if hub.ack_before_publish:
                    log_event(logger, logging.WARNING, "realtime_acked_message_lost",
                              error=type(exc).__name__)
                else:
                    await ws.send_json({"type": "error", "error": "unavailable",
                                        "id": message_id})
                continue
            if not hub.ack_before_publish:
                await ws.send_json({"type": "ack", "ack": message_id})
    except WebSocketDisconnect:
        pass
    finally:
        hub.leave(subject, ws)


def register(app: FastAPI, settings: Settings) -> Hub:
    """Add the route; the returned hub is closed by the app's lifespan."""
    hub = Hub(settings)
    app.state.realtime = hub
    app.add_api_websocket_route(PATH, chat)
    return hub
