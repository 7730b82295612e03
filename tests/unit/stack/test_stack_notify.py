"""The notifier's breaker bookkeeping without a broker: a publish that hangs is abandoned at its
timeout (a breaker failure), a cancelled one gives its permit back (a half-open breaker's one
probe slot is not lost), and a late failure on an old connection does not close the current
one. The broker itself is exercised end to end (tests/e2e/test_notifications.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from stack.api.breaker import CircuitBreaker, CircuitState
from stack.api.config import Settings
from stack.api.metrics import Metrics
from stack.api.notify import Notifier, Outcome

ENV = {"API_PORT": "8080", "DATABASE_URL": "postgresql://u@127.0.0.1:9/db",
       "REDIS_URL": "redis://127.0.0.1:9/0", "UPSTREAM_URL": "http://127.0.0.1:9",
       "NOTIFY_AMQP_URL": "amqp://guest:guest@127.0.0.1:9/", "NOTIFY_PUBLISH_TIMEOUT_S": "0.05"}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def notifier(clock: Clock) -> Notifier:
    breaker = CircuitBreaker("notifications", failure_rate=0.5, window_s=10, min_calls=1,
                             open_s=5, clock=clock)
    return Notifier(Settings.from_env(ENV), Metrics(), breaker)


def test_a_hanging_publish_is_a_failure_at_its_timeout_and_opens_the_breaker() -> None:
    async def go() -> tuple[Outcome, Outcome, int]:
        n = notifier(Clock())

        async def hang(event: dict[str, Any]) -> None:
            await asyncio.shield(asyncio.sleep(1.0))  # ignores the first cancellation a while

        n._publish = hang  # type: ignore[method-assign]
        first = await n.publish({})
        second = await n.publish({})
        left = len(n._tasks)  # the abandoned call is kept until it ends, not leaked
        await n.close()
        return first, second, left

    first, second, left = asyncio.run(go())
    assert (first, second) == (Outcome.FAILED, Outcome.REFUSED)
    assert left >= 1


def test_a_cancelled_probe_gives_its_permit_back() -> None:
    """Old code: a request cancelled while its half-open probe published kept the probe slot;
    every later publish was refused and the breaker never left half-open."""
    async def go() -> list[Outcome]:
        clock = Clock()
        n = notifier(clock)
        assert n.breaker is not None

        async def fail(event: dict[str, Any]) -> None:
            raise ConnectionError("refused")

        n._publish = fail  # type: ignore[method-assign]
        assert await n.publish({}) is Outcome.FAILED  # opens (min_calls 1)
        clock.now = 6.0  # past open_s: half-open, one probe
        assert n.breaker.state is CircuitState.HALF_OPEN

        async def slow(event: dict[str, Any]) -> None:
            await asyncio.sleep(0.02)

        n._publish = slow  # type: ignore[method-assign]
        probe = asyncio.ensure_future(n.publish({}))
        await asyncio.sleep(0.005)
        probe.cancel()  # the request's deadline
        await asyncio.gather(probe, return_exceptions=True)
        outcomes = [await n.publish({})]  # the slot is free: this one probes, and closes it
        await n.close()
        return outcomes

    assert asyncio.run(go()) == [Outcome.PUBLISHED]


def test_a_late_failure_on_an_old_connection_leaves_the_current_one() -> None:
    class Conn:
        closed = False

        async def close(self) -> None:
            self.closed = True

    async def go() -> tuple[bool, bool, bool]:
        n = notifier(Clock())
        old, current = Conn(), Conn()
        n._connection, n._channel = current, object()  # type: ignore[assignment]
        n._forget(old)  # type: ignore[arg-type]
        await asyncio.sleep(0.01)
        kept = n._connection is current
        n._forget(current)  # type: ignore[arg-type]
        await asyncio.sleep(0.01)
        return kept, old.closed, current.closed and n._connection is None

    assert asyncio.run(go()) == (True, True, True)
