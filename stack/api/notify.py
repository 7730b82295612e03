"""Order notifications through a RabbitMQ queue, with a circuit breaker around the publisher.

Why: LangSense runs "a circuit breaker around notifications" and claims "notification queue
< 100 pending". Notifications are best-effort: an order is created whether or not its
notification could be queued. So a broker that hangs must not hold every order request for the
publish timeout: after enough failed publishes the breaker opens and a create answers at once,
marked ``X-Circuit-Open: notifications``, with the notification dropped (counted as refused).

- **Publisher**: one connection and channel with publisher confirms (aio-pika's default), so
  "published" means the broker took the message. A publish that fails or outlasts
  ``NOTIFY_PUBLISH_TIMEOUT_S`` counts as a breaker failure and drops the connection; the next
  admitted publish connects again, inside the same timeout.
- **Consumer**: its own connection, draining at most ``NOTIFY_CONSUME_PER_S`` messages a second
  (standing in for the mail or push call each notification makes); it reconnects after any
  error. ``NOTIFY_CONSUME_PER_S=0`` (broken variant) runs no consumer: the queue only grows.
- **Depth**: every ``NOTIFY_DEPTH_INTERVAL_S`` a passive declare reads the queue's ready
  messages into ``notification_queue_depth{queue}``. Until the first reading, and while the
  broker cannot be reached, the series is absent: an unknown depth is not "0 pending".

``NOTIFY_WITHOUT_BREAKER=1`` (broken variant) publishes every time, so each create waits out the
timeout while the broker hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from enum import StrEnum
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection

from stack.api.breaker import CircuitBreaker, CircuitOpenError
from stack.api.config import Settings
from stack.api.logs import log_event
from stack.api.metrics import Metrics

logger = logging.getLogger("stack.api.notify")

# how long a consumer or the depth reader waits before connecting again after an error
RECONNECT_S = 1.0
# the consumer's unacknowledged messages at a time
PREFETCH = 20
# the consumer's and the depth reader's AMQP heartbeat: a link that hangs without closing (a
# Toxiproxy timeout) is given up within a few of these, not aiormq's default minutes
HEARTBEAT_S = 5


class Outcome(StrEnum):
    PUBLISHED = "published"
    FAILED = "failed"
    REFUSED = "refused"  # the breaker was open: nothing was tried


class Notifier:
    """Publishes order notifications; see the module docstring."""

    def __init__(self, settings: Settings, metrics: Metrics,
                 breaker: CircuitBreaker | None) -> None:
        self.settings = settings
        self.metrics = metrics
        self.breaker = breaker
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._connecting = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        for outcome in Outcome:  # each outcome's series exists from the start, at 0
            metrics.notifications_total.labels(outcome=outcome.value)

    def start(self) -> None:
        if self.settings.notify_consume_per_s > 0:
            self._spawn(self._consume(), "notify-consumer")
        self._spawn(self._read_depth(), "notify-depth")

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._drop()

    async def publish(self, event: dict[str, Any]) -> Outcome:
        """Queue one notification; never raises but for a cancellation (the request's deadline,
        a shutdown), which gives the breaker's permit back unjudged: a half-open breaker's one
        probe slot must not stay taken by a call nobody will finish."""
        permit = None
        if self.breaker is not None:
            try:
                permit = self.breaker.acquire()
            except CircuitOpenError:
                self.metrics.notifications_total.labels(outcome=Outcome.REFUSED.value).inc()
                return Outcome.REFUSED
        try:
            await self._bounded(self._publish(event), self.settings.notify_publish_timeout_s)
        except Exception as exc:  # a broken or hanging broker, whatever the client raised
            if self.breaker is not None and permit is not None:
                self.breaker.record_failure(permit)
            self.metrics.notifications_total.labels(outcome=Outcome.FAILED.value).inc()
            log_event(logger, logging.WARNING, "notification_failed",
                      error=f"{type(exc).__name__}: {exc}"[:200])
            return Outcome.FAILED
        except BaseException:
            if self.breaker is not None and permit is not None:
                self.breaker.release(permit)
            raise
        if self.breaker is not None and permit is not None:
            self.breaker.record_success(permit)
        self.metrics.notifications_total.labels(outcome=Outcome.PUBLISHED.value).inc()
        return Outcome.PUBLISHED

    async def _bounded(self, call: Coroutine[Any, Any, None], timeout_s: float) -> None:
        """Await ``call`` for at most ``timeout_s``. Not ``asyncio.wait_for``: that waits for
        the cancelled call to finish, and an AMQP handshake on a hung link can take seconds to
        give up (seen: 4 s past a 0.5 s timeout), which is the wait a breaker exists to spare.
        However this returns (timeout, error, our own cancellation), a call not done is
        cancelled and kept until it ends, so it neither leaks nor logs an unread error."""
        task = asyncio.ensure_future(call)
        try:
            done, _ = await asyncio.wait({task}, timeout=timeout_s)
            if not done:
                raise TimeoutError(f"no confirm within {timeout_s:g} s")
            task.result()
        finally:
            if not task.done():
                task.cancel()
                self._tasks.add(task)
                task.add_done_callback(_quiet_done(self._tasks))

    async def _publish(self, event: dict[str, Any]) -> None:
        connection, channel = await self._publisher()
        message = aio_pika.Message(json.dumps(event).encode(), content_type="application/json")
        try:
            await channel.default_exchange.publish(message,
                                                   routing_key=self.settings.notify_queue)
        except BaseException:  # failed or cut off: this connection is suspect, not another
            self._forget(connection)
            raise

    async def _publisher(self) -> tuple[AbstractConnection, AbstractChannel]:
        async with self._connecting:
            if self._connection is None or self._channel is None or self._channel.is_closed:
                self._forget(self._connection)
                connection = await aio_pika.connect(self.settings.notify_amqp_url)
                try:
                    channel = await connection.channel()  # publisher confirms on
                    await channel.declare_queue(self.settings.notify_queue, durable=True)
                except BaseException:
                    self._spawn(_close(connection), "notify-drop")
                    raise
                self._connection, self._channel = connection, channel
            return self._connection, self._channel

    def _forget(self, connection: AbstractConnection | None) -> None:
        """Close ``connection`` in the background (closing a hung link may itself hang), and
        stop using it if it is still the current one: a late failure on an old connection
        must not drop the one another publish has just opened."""
        if connection is None:
            return
        if connection is self._connection:
            self._connection, self._channel = None, None
        self._spawn(_close(connection), "notify-drop")

    async def _drop(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            await _close(connection)

    async def _consume(self) -> None:
        pause = 1.0 / self.settings.notify_consume_per_s

        async def drain(channel: AbstractChannel) -> None:
            await channel.set_qos(prefetch_count=PREFETCH)
            queue = await channel.declare_queue(self.settings.notify_queue, durable=True)
            async with queue.iterator() as messages:
                async for message in messages:
                    await asyncio.sleep(pause)  # the notification's own delivery
                    await message.ack()

        await self._reconnecting("consumer", drain)

    async def _read_depth(self) -> None:
        depth = self.metrics.notification_queue_depth
        name = self.settings.notify_queue

        async def read(channel: AbstractChannel) -> None:
            await channel.declare_queue(name, durable=True)
            while True:
                queue = await channel.declare_queue(name, passive=True, timeout=5)
                depth.labels(queue=name).set(queue.declaration_result.message_count or 0)
                await asyncio.sleep(self.settings.notify_depth_interval_s)

        def unknown() -> None:  # the depth is unknown now: no reading rather than the last one
            with contextlib.suppress(KeyError):
                depth.remove(name)

        await self._reconnecting("depth", read, unknown)

    async def _reconnecting(self, what: str, session: Callable[[AbstractChannel], Awaitable[None]],
                            on_error: Callable[[], None] | None = None) -> None:
        """Run ``session`` on a channel of a connection of its own, for good: after any error
        (a broker gone, a link that hung past its heartbeats) connect again a second later."""
        while True:
            try:
                connection = await aio_pika.connect(self.settings.notify_amqp_url, timeout=5,
                                                    heartbeat=HEARTBEAT_S)
                async with connection:
                    await session(await connection.channel())
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if on_error is not None:
                    on_error()
                log_event(logger, logging.WARNING, f"notify_{what}_error",
                          error=f"{type(exc).__name__}: {exc}"[:200])
            await asyncio.sleep(RECONNECT_S)

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _quiet_done(tasks: set[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]], None]:
    """A done-callback that forgets the task and reads its outcome (a cancelled call's late
    error is expected, not an unretrieved exception to log)."""

    def done(task: asyncio.Task[None]) -> None:
        tasks.discard(task)
        if not task.cancelled():
            task.exception()

    return done


async def _close(connection: AbstractConnection) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(connection.close(), timeout=2.0)
