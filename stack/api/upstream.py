"""Client for the upstream "AI" service: timeout, then circuit breaker, then retries.

Order of the wrappers, outermost first: retries → breaker → timed HTTP call. Each attempt asks
the breaker for a permit, so retries are counted by the breaker like any call, and an open
circuit raises :class:`CircuitOpenError`, which is not transient — no retry is spent on a
circuit that is known to be open.

What counts as what:

=========================================  ===============  =========
outcome                                    breaker          retried
=========================================  ===============  =========
connect error / reset / protocol error     failure          yes
502, 503, 504                              failure          yes
other 5xx, malformed body                  failure          no
read/write/pool timeout                    failure          no (the budget is spent)
4xx                                        success          no (our request is wrong)
cancelled (client gone, drain cut-off)     no verdict       no
=========================================  ===============  =========

``RETRY_EVERY_STATUS=1`` (broken variant): every answer of 400 or more is retried, a 4xx too,
as a client that retries "on error" does.

Each attempt's timeout is ``UPSTREAM_TIMEOUT_S`` shortened to what is left of the request
deadline, so a hanging upstream becomes a breaker failure and a 503 fallback. With
``DISABLE_BREAKER=1`` (broken variant) calls go straight out with the full timeout: no permit,
no fast failure, no deadline awareness.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from stack.api import deadline
from stack.api.breaker import CircuitBreaker, CircuitState, Permit
from stack.api.config import Settings
from stack.api.metrics import Metrics
from stack.api.retry import RetryPolicy, call_with_retries

TRANSIENT_STATUS = frozenset({502, 503, 504})
TOO_MANY = 429  # the upstream's own rate limit: retried, after its Retry-After
TRANSIENT_TRANSPORT: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)
DEADLINE_MARGIN_S = 0.25  # left for answering the fallback after the last attempt


class UpstreamError(Exception):
    """The upstream call failed; ``transient`` says whether another attempt may succeed, and
    ``retry_after_s`` how long the upstream asked to be left alone (its ``Retry-After``, in
    seconds), which the retry policy waits at least."""

    def __init__(self, message: str, *, transient: bool, status: int | None = None,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.status = status
        self.retry_after_s = retry_after_s


def retry_after_s(response: httpx.Response) -> float | None:
    """``Retry-After`` in delay-seconds (RFC 9110), None when absent or an HTTP date (a clock
    the upstream and this process need not share)."""
    raw = response.headers.get("retry-after", "").strip()
    return float(raw) if raw.isdigit() else None


def is_transient_upstream_error(exc: BaseException) -> bool:
    return isinstance(exc, UpstreamError) and exc.transient


class UpstreamClient:
    """``generate(prompt)`` through breaker, timeout and retries; see module docstring."""

    def __init__(self, settings: Settings, breaker: CircuitBreaker, metrics: Metrics) -> None:
        self._breaker = breaker
        self._metrics = metrics
        self._use_breaker = not settings.disable_breaker
        self._timeout_s = settings.upstream_timeout_s
        self._policy = RetryPolicy.from_settings(settings)
        self._retry_every_status = settings.retry_every_status
        self._http = httpx.AsyncClient(
            base_url=settings.upstream_url,
            timeout=settings.upstream_timeout_s,
            # an idle connection is dropped before the upstream's own keep-alive timeout (5 s
            # for uvicorn): reusing one the server is closing fails with "Server disconnected"
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64,
                                keepalive_expiry=2.0),
        )

    @property
    def circuit_state(self) -> CircuitState:
        """What ``X-Circuit-State`` shows; always closed when the breaker is disabled."""
        return self._breaker.state if self._use_breaker else CircuitState.CLOSED

    async def generate(self, prompt: str) -> dict[str, Any]:
        """The upstream's ``{"text", "model"}``; raises UpstreamError or CircuitOpenError."""
        return await call_with_retries(
            lambda: self._attempt(prompt),
            self._policy,
            is_transient_upstream_error,
            lambda _: self._metrics.retries_total.labels(target="upstream").inc(),
            sleep=self._sleep_within_deadline,
        )

    async def ping(self, timeout_s: float) -> float:
        """``GET /health`` on the upstream, past the breaker (a health check reports the
        dependency as it is, not as the breaker last saw it); latency in ms. Raises on any
        answer but 2xx, or none within ``timeout_s``."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        response = await self._http.get("/health", timeout=timeout_s)
        response.raise_for_status()
        return (loop.time() - started) * 1000

    async def close(self) -> None:
        await self._http.aclose()

    async def _attempt(self, prompt: str) -> dict[str, Any]:
        timeout_s = self._timeout_s
        if self._use_breaker:
            budget_s = deadline.remaining_s() - DEADLINE_MARGIN_S
            if budget_s <= 0:
                raise UpstreamError("request deadline spent", transient=False)
            timeout_s = min(timeout_s, budget_s)
        permit = self._breaker.acquire() if self._use_breaker else None
        try:
            response = await self._http.post(
                "/generate", json={"prompt": prompt}, timeout=timeout_s
            )
        except asyncio.CancelledError:
            self._release(permit)
            raise
        except httpx.HTTPError as exc:
            self._failure(permit)
            transient = isinstance(exc, TRANSIENT_TRANSPORT)
            raise UpstreamError(f"{type(exc).__name__}: {exc}", transient=transient) from exc
        except Exception:
            self._failure(permit)
            raise
        status = response.status_code
        if status >= 500:
            self._failure(permit)
            raise UpstreamError(
                f"upstream answered {status}",
                transient=self._retry_every_status or status in TRANSIENT_STATUS, status=status,
                retry_after_s=retry_after_s(response),
            )
        if status >= 400:
            self._success(permit)  # the upstream is up: a refusal is no breaker failure
            raise UpstreamError(f"upstream refused: {status}",
                                transient=self._retry_every_status or status == TOO_MANY,
                                status=status, retry_after_s=retry_after_s(response))
        try:
            body = response.json()
            result = {"text": str(body["text"]), "model": str(body["model"])}
        except (ValueError, KeyError, TypeError) as exc:
            self._failure(permit)
            raise UpstreamError("malformed upstream answer", transient=False) from exc
        self._success(permit)
        return result

    async def _sleep_within_deadline(self, seconds: float) -> None:
        """Back off, but never past the deadline: the next attempt then gives up cleanly."""
        if self._use_breaker:
            seconds = min(seconds, max(0.0, deadline.remaining_s() - DEADLINE_MARGIN_S))
        await asyncio.sleep(seconds)

    def _success(self, permit: Permit | None) -> None:
        if permit is not None:
            self._breaker.record_success(permit)

    def _failure(self, permit: Permit | None) -> None:
        if permit is not None:
            self._breaker.record_failure(permit)

    def _release(self, permit: Permit | None) -> None:
        if permit is not None:
            self._breaker.release(permit)
