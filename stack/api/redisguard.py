"""One timeout and one small circuit breaker in front of every Redis call of a request.

Why: a request touches Redis twice (the rate limiter, then the cache). When Redis *refuses*
connections both fail in microseconds, but when it *hangs* (Toxiproxy's ``timeout`` or a large
``latency`` toxic) each waits out ``REDIS_TIMEOUT_S`` — a second per request, which alone breaks
a 500 ms p95 while the API is supposedly "failing open". After three calls in a row of which at
least half failed, the guard opens for one second: Redis calls fail at once (limiter admits,
cache bypasses), then one probe call checks whether Redis is back. It shows up as
``breaker_state{name="redis"}`` next to the upstream's.

Readiness does not go through the guard: a probe must report Redis as it is, not as the guard
last saw it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from limits.errors import StorageError
from redis.exceptions import RedisError

from stack.api.breaker import CircuitBreaker, CircuitOpenError

T = TypeVar("T")

REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, StorageError, OSError, TimeoutError)


class RedisUnavailable(Exception):
    """Redis failed, timed out, or the guard is open."""


class RedisGuard:
    """Run Redis calls under a timeout and a shared breaker; see module docstring."""

    def __init__(self, timeout_s: float, breaker: CircuitBreaker) -> None:
        self.timeout_s = timeout_s
        self.breaker = breaker

    async def run(self, call: Callable[[], Awaitable[T]]) -> T:
        """Await ``call()``; raise :class:`RedisUnavailable` for any Redis trouble."""
        try:
            permit = self.breaker.acquire()
        except CircuitOpenError as exc:
            raise RedisUnavailable("redis guard open") from exc
        try:
            async with asyncio.timeout(self.timeout_s):
                result = await call()
        except asyncio.CancelledError:
            self.breaker.release(permit)
            raise
        except REDIS_ERRORS as exc:
            self.breaker.record_failure(permit)
            reason = "timeout" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
            raise RedisUnavailable(reason) from exc
        except BaseException:
            self.breaker.release(permit)
            raise
        self.breaker.record_success(permit)
        return result


def redis_breaker(on_transition: Callable[..., None] | None = None) -> CircuitBreaker:
    """The guard's breaker: 50 % failures over 5 s with at least 3 calls, open for 1 s."""
    return CircuitBreaker(
        "redis", failure_rate=0.5, window_s=5.0, min_calls=3, open_s=1.0, half_open_probes=1,
        on_transition=on_transition,
    )
