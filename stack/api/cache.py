"""Read-through cache of each user's order list in Redis, with a last-known-good copy.

Two keys per user, written together in one pipeline:

- ``orders:{user}`` expires after ``CACHE_TTL_S``: the fresh copy, answered as ``X-Cache: hit``.
- ``orders:{user}:stale`` expires after ``CACHE_STALE_TTL_S`` (an hour): the copy served, with
  ``X-Cache: stale``, when PostgreSQL is down. Creating an order deletes only the fresh key —
  the stale one is by definition allowed to be behind.

Every call goes through the shared :class:`~stack.api.redisguard.RedisGuard` (timeout
``REDIS_TIMEOUT_S`` plus a fast-fail breaker) and redis-py's own retries are off: a hung Redis
must cost a request at most the timeout, not redis-py's default of 5 s times three retries.
Every Redis failure surfaces as :class:`CacheError`, so the caller decides between bypassing the
cache and failing (the broken variant).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from stack.api.config import Settings
from stack.api.redisguard import REDIS_ERRORS, RedisGuard, RedisUnavailable


class CacheError(Exception):
    """Redis failed, did not answer in time, or is being skipped by the guard."""


def redis_client(url: str, timeout_s: float) -> aioredis.Redis:
    """A redis.asyncio client that fails within ``timeout_s`` and never retries by itself."""
    return aioredis.Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )


class Cache:
    """Order-list cache; data methods raise :class:`CacheError` on any Redis trouble."""

    def __init__(self, settings: Settings, guard: RedisGuard) -> None:
        self._guard = guard
        self._timeout_s = settings.redis_timeout_s
        self._ttl_ms = max(1, int(settings.cache_ttl_s * 1000))
        self._stale_ttl_ms = max(self._ttl_ms, int(settings.cache_stale_ttl_s * 1000))
        self._redis = redis_client(settings.redis_url, settings.redis_timeout_s)

    @staticmethod
    def _key(user: str) -> str:
        return f"orders:{user}"

    async def get_fresh(self, user: str) -> list[dict[str, Any]] | None:
        return await self._get(self._key(user))

    async def get_stale(self, user: str) -> list[dict[str, Any]] | None:
        return await self._get(self._key(user) + ":stale")

    async def put(self, user: str, orders: list[dict[str, Any]]) -> None:
        payload = json.dumps(orders)

        async def write() -> None:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.set(self._key(user), payload, px=self._ttl_ms)
                pipe.set(self._key(user) + ":stale", payload, px=self._stale_ttl_ms)
                await pipe.execute()

        await self._call(write)

    async def invalidate(self, user: str) -> None:
        await self._call(lambda: self._redis.delete(self._key(user)))

    async def ping(self) -> float:
        """``PING`` within the timeout, bypassing the guard; return latency in ms.

        Raises ``TimeoutError`` or a Redis/OS error when Redis does not answer.
        """
        started = time.perf_counter()
        async with asyncio.timeout(self._timeout_s):
            await self._redis.ping()
        return (time.perf_counter() - started) * 1000

    async def close(self) -> None:
        with contextlib.suppress(*REDIS_ERRORS):
            await self._redis.aclose()

    async def _get(self, key: str) -> list[dict[str, Any]] | None:
        raw = await self._call(lambda: self._redis.get(key))
        if raw is None:
            return None
        value = json.loads(raw)
        return value if isinstance(value, list) else None

    async def _call(self, call: Callable[[], Awaitable[Any]]) -> Any:
        try:
            return await self._guard.run(call)
        except RedisUnavailable as exc:
            raise CacheError(str(exc)) from exc
