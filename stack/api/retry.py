"""Retries with exponential backoff plus jitter, built on tenacity.

Why tenacity: it is the kept library for this, and its ``retry_if_exception`` lets each caller
say which errors are transient. Why ``wait_exponential_jitter`` (attempt *n* sleeps
``min(max_s, initial_s * 2**(n-1) + uniform(0, initial_s))``) rather than "full jitter"
(``uniform(0, ...)``): full jitter may retry almost at once, inside the very outage it is meant
to ride out — measured here, a 300 ms PostgreSQL outage with 3 attempts lost ~2 % of requests
under full jitter. A floor of ``initial_s * 2**(n-1)`` keeps the doubling the seed
systems describe ("1 s initial delay doubling") and the jitter still spreads clients apart.
What is *not* retried is decided by the caller's predicate: 4xx answers, timeouts that already
spent the budget, an open circuit, and any non-idempotent operation (the caller simply does not
wrap it).

``RETRY_BACKOFF_UNBOUNDED=1`` (broken variant): retries still happen, but sleep *n* is
``UNBOUNDED_FACTOR`` times the most the envelope allows it (``initial_s * 2**(n-1) + initial_s``)
plus the usual jitter, and ``max_s`` no longer caps it.

A dependency that says when to come back (``Retry-After`` on a 503 or 429, carried by the
error as ``retry_after_s``) is left alone at least that long: the wait is the longer of the
backoff and its ask (the request's deadline still caps it). ``RETRY_IGNORES_RETRY_AFTER=1``
(broken variant) waits the backoff alone, hammering a dependency that asked for a pause.

Usage::

    order = await call_with_retries(lambda: store.get(...), policy, is_transient, on_retry)
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
    wait_fixed,
)
from tenacity.wait import wait_base

from stack.api.config import Settings

T = TypeVar("T")
# RETRY_BACKOFF_UNBOUNDED: each sleep this many times its ceiling. At 5 the first sleep was
# 2.0 s, and the variant's slowest request (2.4-2.75 s) failed the budget check's bound
# (2.0-2.4 s: the outage, the claimed backoff, the stack's p99) by as little as 0.1 s on a busy
# host; at 6.5 it is 2.6 s, and a request that retries ends past 2.65 s or at the 3 s deadline
UNBOUNDED_FACTOR = 6.5


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts in total, and the backoff envelope."""

    attempts: int = 3
    initial_s: float = 1.0
    max_s: float = 8.0
    unbounded: bool = False  # broken variant: sleeps UNBOUNDED_FACTOR x longer, no max_s cap
    # an error's ``retry_after_s`` (the dependency's Retry-After) is waited at least; False is
    # the broken variant RETRY_IGNORES_RETRY_AFTER
    honour_retry_after: bool = True

    @classmethod
    def disabled(cls) -> RetryPolicy:
        return cls(attempts=1)

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """RETRY_* numbers, or a single attempt under DISABLE_RETRIES (broken variant)."""
        if settings.disable_retries:
            return cls.disabled()
        return cls(settings.retry_attempts, settings.retry_initial_s, settings.retry_max_s,
                   unbounded=settings.retry_backoff_unbounded,
                   honour_retry_after=not settings.retry_ignores_retry_after)


async def call_with_retries(
    fn: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    is_transient: Callable[[BaseException], bool],
    on_retry: Callable[[BaseException], None] | None = None,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Await ``fn()`` up to ``policy.attempts`` times while it raises transient errors.

    The last error is re-raised unchanged (``reraise=True``) so callers map it like a first-try
    failure. ``on_retry`` runs before each backoff sleep — that is where ``retries_total`` is
    counted. ``sleep`` is injectable so tests run without waiting.
    """

    def before_sleep(state: RetryCallState) -> None:
        if on_retry is not None and state.outcome is not None:
            exc = state.outcome.exception()
            if exc is not None:
                on_retry(exc)

    # multiplier= is tenacity's name for the initial wait (``initial=`` is deprecated)
    wait: wait_base = wait_exponential_jitter(multiplier=policy.initial_s, max=policy.max_s,
                                              jitter=policy.initial_s)
    if policy.unbounded:  # broken variant: UNBOUNDED_FACTOR x the envelope's most, no cap
        k = UNBOUNDED_FACTOR * policy.initial_s
        wait = wait_exponential_jitter(multiplier=k, max=math.inf, jitter=policy.initial_s)
        wait = wait + wait_fixed(k)
    backoff = wait

    def waited(state: RetryCallState) -> float:
        """The backoff, or the dependency's Retry-After when it asked for longer."""
        seconds = backoff(state)
        exc = state.outcome.exception() if state.outcome is not None else None
        asked = getattr(exc, "retry_after_s", None)
        if policy.honour_retry_after and isinstance(asked, int | float):
            seconds = max(seconds, float(asked))
        return seconds

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.attempts),
        wait=waited,
        retry=retry_if_exception(is_transient),
        before_sleep=before_sleep,
        reraise=True,
        sleep=sleep,
    )

    async def attempt() -> T:
        # tenacity awaits only coroutine *functions*; a lambda returning a coroutine would be
        # treated as sync and its coroutine returned unawaited
        return await fn()

    return await retrying(attempt)
