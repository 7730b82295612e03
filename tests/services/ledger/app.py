"""The ledger API: plain Starlette routes on one object that owns the service's parts.

    POST /session              {"name"} -> {"session_key"}; later requests send X-Session-Key
    POST /v2/entries           {"memo", "cents"} -> 201 {"entry_id"}; X-Request-Token makes a
                               repeat answer 200 with the first entry_id
    GET  /v2/entries           the latest 20 entries
    GET  /v2/entries/{id}      200 or 404
    POST /v2/quote             {"cents"} -> the pricing upstream's price; 502 with
                               X-Degraded: pricing-breaker while the breaker is open
    GET  /pingz /readyz /stats liveness, readiness (the database; 503 while draining), metrics

Every /v2 route goes through :meth:`LedgerApi._guard`: the session (401), the per-session rate
limit (429 + Retry-After), then the whole-request deadline (504).
"""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.services.ledger.pricing_client import PricingBreakerOpen, PricingClient, PricingError
from tests.services.ledger.settings import Settings
from tests.services.ledger.store import Store, StoreError
from tests.services.ledger.telemetry import CONTENT_TYPE, Telemetry

SESSION_HEADER = "X-Session-Key"
TOKEN_HEADER = "X-Request-Token"
DEGRADED_HEADER = "X-Degraded"
DEGRADED_VALUE = "pricing-breaker"
MAX_MEMO = 200

Handler = Callable[[Request], Awaitable[Response]]


class BadInput(Exception):
    """The request body is not what the route takes (answered 400)."""


class Drain:
    """Set by the server when a shutdown signal arrives; readiness reads it."""

    def __init__(self) -> None:
        self.since_s: float | None = None  # time.monotonic() of the signal

    @property
    def draining(self) -> bool:
        return self.since_s is not None

    def begin(self) -> None:
        if self.since_s is None:
            self.since_s = time.monotonic()


class SessionLimiter:
    """``LEDGER_LIMIT`` per session key, moving window, in memory (one process, no store)."""

    def __init__(self, settings: Settings) -> None:
        self._rate = settings.rate
        self._window = MovingWindowRateLimiter(MemoryStorage())

    def retry_after_s(self, session_key: str) -> int | None:
        """None when admitted, else the whole seconds until the window has room again."""
        if self._window.hit(self._rate, session_key):
            return None
        reset_at = self._window.get_window_stats(self._rate, session_key).reset_time
        return max(1, math.ceil(reset_at - time.time()))


def _error(status: int, reason: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status, headers=headers)


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise BadInput("body is not JSON") from exc
    if not isinstance(body, dict):
        raise BadInput("body is not a JSON object")
    return body


class LedgerApi:
    """The service's parts and its endpoints (bound methods are Starlette endpoints)."""

    def __init__(self, settings: Settings, drain: Drain | None = None) -> None:
        self.settings = settings
        self.drain = drain or Drain()
        self.telemetry = Telemetry()
        self.store = Store(settings)
        self.pricing = PricingClient(settings, self.telemetry)
        self.limiter = SessionLimiter(settings)
        self.sessions: dict[str, str] = {}

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        await self.store.open()
        try:
            yield
        finally:
            await self.pricing.aclose()
            await self.store.close()

    def asgi(self) -> Starlette:
        guard = self._guard
        routes = [
            Route("/pingz", self.pingz),
            Route("/readyz", self.readyz),
            Route("/stats", self.stats),
            Route("/session", self.open_session, methods=["POST"]),
            Route("/v2/entries", guard("entries.list", self.list_entries), methods=["GET"]),
            Route("/v2/entries", guard("entries.add", self.add_entry), methods=["POST"]),
            Route("/v2/entries/{entry_id:int}", guard("entries.get", self.get_entry),
                  methods=["GET"]),
            Route("/v2/quote", guard("quote", self.quote), methods=["POST"]),
        ]
        return Starlette(routes=routes, lifespan=self.lifespan)

    # --- the guard every /v2 route passes -----------------------------------------------------

    def _guard(self, route: str, handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            response = await self._admit_and_run(handler, request)
            self.telemetry.answers.labels(route=route, code=str(response.status_code)).inc()
            return response

        guarded.__name__ = handler.__name__
        return guarded

    async def _admit_and_run(self, handler: Handler, request: Request) -> Response:
        key = request.headers.get(SESSION_HEADER, "")
        if key not in self.sessions:
            return _error(401, f"unknown session: send {SESSION_HEADER} from POST /session")
        if not self.settings.no_limit:
            wait_s = self.limiter.retry_after_s(key)
            if wait_s is not None:
                self.telemetry.limited.inc()
                return _error(429, "too many requests for this session",
                              {"Retry-After": str(wait_s)})
        try:
            if self.settings.no_deadline:
                return await handler(request)
            return await self._within_deadline(handler, request)
        except BadInput as exc:
            return _error(400, str(exc))
        except StoreError as exc:
            return _error(503, exc.reason)
        except PricingBreakerOpen:
            return JSONResponse({"degraded": True, "error": "pricing is switched off for now"},
                                status_code=502, headers={DEGRADED_HEADER: DEGRADED_VALUE})
        except PricingError as exc:
            return _error(503, str(exc))

    async def _within_deadline(self, handler: Handler, request: Request) -> Response:
        limit = asyncio.timeout(self.settings.deadline_s)
        try:
            async with limit:
                return await handler(request)
        except TimeoutError:
            if not limit.expired():
                raise
            return _error(504, f"not answered within the {self.settings.deadline_s} s deadline")

    # --- probes -------------------------------------------------------------------------------

    async def pingz(self, request: Request) -> Response:
        return JSONResponse({"alive": True})

    async def readyz(self, request: Request) -> Response:
        if self.drain.draining:
            return JSONResponse({"ready": False, "why": "draining"}, status_code=503)
        if not self.settings.no_ready_check:
            why = await self.store.unready_reason()
            if why is not None:
                return JSONResponse({"ready": False, "why": why}, status_code=503)
        return JSONResponse({"ready": True})

    async def stats(self, request: Request) -> Response:
        self.telemetry.draining.set(1.0 if self.drain.draining else 0.0)
        body = self.telemetry.render(lambda: self.store.in_use)
        return Response(body, media_type=CONTENT_TYPE)

    # --- routes -------------------------------------------------------------------------------

    async def open_session(self, request: Request) -> Response:
        try:
            body = await _json_object(request)
        except BadInput as exc:
            return _error(400, str(exc))
        name = body.get("name")
        if not isinstance(name, str) or not name:
            return _error(400, "name: a non-empty string is required")
        key = secrets.token_urlsafe(18)
        self.sessions[key] = name
        return JSONResponse({"session_key": key})

    async def add_entry(self, request: Request) -> Response:
        body = await _json_object(request)
        memo, cents = body.get("memo"), body.get("cents")
        if not isinstance(memo, str) or not memo or len(memo) > MAX_MEMO:
            raise BadInput(f"memo: a string of 1..{MAX_MEMO} characters is required")
        if not isinstance(cents, int) or isinstance(cents, bool):
            raise BadInput("cents: a whole number is required")
        token = request.headers.get(TOKEN_HEADER) or None
        entry_id, created = await self.store.add(memo, cents, token)
        return JSONResponse({"entry_id": entry_id, "replayed": not created},
                            status_code=201 if created else 200)

    async def list_entries(self, request: Request) -> Response:
        entries = await self.store.latest()
        return JSONResponse({"entries": [e.to_json() for e in entries]})

    async def get_entry(self, request: Request) -> Response:
        entry = await self.store.get(request.path_params["entry_id"])
        if entry is None:
            return _error(404, "no such entry")
        return JSONResponse(entry.to_json())

    async def quote(self, request: Request) -> Response:
        body = await _json_object(request)
        cents = body.get("cents")
        if not isinstance(cents, int) or isinstance(cents, bool) or cents < 0:
            raise BadInput("cents: a whole number >= 0 is required")
        priced = await self.pricing.quote(cents)
        return JSONResponse({"cents": cents, "quote_cents": priced.get("price_cents"),
                             "source": "pricing"})


def create_app(settings: Settings, drain: Drain | None = None) -> Starlette:
    return LedgerApi(settings, drain).asgi()
