"""The ledger's calls to its pricing upstream: httpx, retried by tenacity, guarded by pybreaker.

Order of the layers, outermost first: the breaker (pybreaker, opens after
``LEDGER_BREAKER_FAILS`` *consecutive* failed quotes, stays open ``LEDGER_BREAKER_RESET_S``),
then the retries (tenacity: up to ``LEDGER_RETRY_ATTEMPTS`` tries, exponential backoff from
``LEDGER_RETRY_FIRST_S`` capped at ``LEDGER_RETRY_CAP_S``), then one HTTP call bounded by
``LEDGER_PRICING_TIMEOUT_S`` as a whole. So the breaker counts one failure per quote whose
retries are spent, not one per attempt.

Retried: a refused or dropped connection and a 5xx answer (all fast; pricing is a pure function,
so a repeated call is harmless). Not retried: a call that timed out (a hung upstream would
otherwise cost every attempt's full timeout).

pybreaker has no asyncio support of its own; its ``calling()`` context manager is synchronous
around the awaited call, which is enough on one event loop: the state check happens on entry,
the success or failure is recorded on exit.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pybreaker
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from tests.services.ledger.settings import Settings
from tests.services.ledger.telemetry import Telemetry

UPSTREAM = "pricing"


class PricingError(Exception):
    """The quote could not be priced; the API answers 503 with the reason."""


class PricingBreakerOpen(Exception):
    """The breaker refused the call without trying it; the API answers the degraded 502."""


class _BadStatus(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"pricing answered {status}")
        self.status = status


def _retryable(exc: BaseException) -> bool:
    # NetworkError: connect, read, write and close errors; RemoteProtocolError: the peer hung
    # up mid-answer (a proxy cutting open connections). TimeoutException is neither.
    return isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError | _BadStatus)


class _GaugeListener(pybreaker.CircuitBreakerListener):
    def __init__(self, telemetry: Telemetry) -> None:
        self._telemetry = telemetry

    def state_change(self, cb: pybreaker.CircuitBreaker,
                     old_state: pybreaker.CircuitBreakerState | None,
                     new_state: pybreaker.CircuitBreakerState) -> None:
        self._telemetry.breaker_state(new_state.name)


class PricingClient:
    def __init__(self, settings: Settings, telemetry: Telemetry,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._settings = settings
        self._telemetry = telemetry
        timeout_s = settings.pricing_timeout_s
        self._http = httpx.AsyncClient(base_url=settings.pricing_url, transport=transport,
                                       timeout=httpx.Timeout(timeout_s))
        # throw_new_error_on_trip=False: the quote whose failure trips the breaker really
        # called the upstream, so it answers as a failed call; CircuitBreakerError then only
        # ever means "refused without trying"
        self._breaker = pybreaker.CircuitBreaker(
            fail_max=settings.breaker_fails,
            reset_timeout=settings.breaker_reset_s,
            throw_new_error_on_trip=False,
            listeners=[_GaugeListener(telemetry)],
            name=UPSTREAM,
        )
        telemetry.breaker_state(pybreaker.STATE_CLOSED)
        attempts = 1 if settings.no_retry else settings.retry_attempts
        self._retrying = AsyncRetrying(
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=settings.retry_first_s, max=settings.retry_cap_s),
            retry=retry_if_exception(_retryable),
            before_sleep=self._count_retry,
            reraise=True,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def breaker_state(self) -> str:
        return str(self._breaker.current_state)

    async def quote(self, cents: int) -> dict[str, Any]:
        """The upstream's price for ``cents``; raises :class:`PricingBreakerOpen` or
        :class:`PricingError`."""
        try:
            if self._settings.no_breaker:
                return await self._retried(cents)
            with self._breaker.calling():
                return await self._retried(cents)
        except pybreaker.CircuitBreakerError as exc:
            raise PricingBreakerOpen(str(exc)) from exc
        except (httpx.HTTPError, _BadStatus, TimeoutError, ValueError) as exc:
            raise PricingError(f"pricing failed: {exc.__class__.__name__}: {exc}") from exc

    async def _retried(self, cents: int) -> dict[str, Any]:
        result: dict[str, Any] = await self._retrying(self._call_once, cents)
        return result

    async def _call_once(self, cents: int) -> dict[str, Any]:
        async with asyncio.timeout(self._settings.pricing_timeout_s):  # the call as a whole
            response = await self._http.post("/price", json={"cents": cents})
        if response.status_code >= 500:
            raise _BadStatus(response.status_code)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def _count_retry(self, state: RetryCallState) -> None:
        self._telemetry.upstream_retries.labels(upstream=UPSTREAM).inc()
