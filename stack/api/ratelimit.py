"""Rate limits on a Redis store (``limits``), failing open when the store fails.

Strategy: **moving window** (``MovingWindowRateLimiter``). The claims under test read "5 logins
per 15 minutes" and "100 requests per minute"; a fixed window admits up to twice that across a
window boundary (5 at 14:59 and 5 more at 15:00), which a black-box check would — rightly —
report as a broken limit. The moving window keeps one timestamp per admitted hit, so memory is
O(limit) per client: fine for limits in the hundreds, which is what these claims are. The cost
is two Redis round trips per check (the hit, then the window stats for the headers).

Four limits: ``api`` (every route but ``/health/*`` and ``/metrics``, keyed by JWT subject or
else client IP, checked in :class:`RateLimitMiddleware` before routing), ``login`` (per client
IP), ``generate`` and ``upload`` (per user), checked by route dependencies through
:func:`enforce` — a request of those routes counts against the ``api`` limit too.

Client IP is the first ``X-Forwarded-For`` entry when ``TRUST_PROXY_HEADERS=1`` (the API sits
behind Toxiproxy / a load balancer here, so the peer is always the proxy), else the peer.

Redis calls go through the shared :class:`~stack.api.redisguard.RedisGuard` (timeout
``REDIS_TIMEOUT_S`` plus a fast-fail breaker). When Redis errors or times out, the request is
admitted without headers and ``rate_limit_store_errors_total`` counts it;
``LIMITER_FAIL_CLOSED=1`` answers 503 instead.

Broken variants (each breaks one promise a check tests): ``RATE_LIMIT_GLOBAL_KEY=1`` counts the
``api`` limit of every authenticated client in one shared bucket (the key no longer names the
user; anonymous requests such as logins stay per IP); ``RATE_LIMIT_PROBES=1`` stops exempting
``/health/*`` and ``/metrics``; ``RATE_LIMIT_PENALTY=1`` keeps a key that was refused refused for
``PENALTY_WINDOWS`` windows (a penalty box held in the process), while ``Retry-After`` still
says one window.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from limits import RateLimitItem
from limits import parse as parse_limit
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.util import WindowStats
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stack.api.config import Settings
from stack.api.errors import ApiError
from stack.api.logs import log_event
from stack.api.metrics import Metrics
from stack.api.redisguard import REDIS_ERRORS, RedisGuard, RedisUnavailable
from stack.api.tokens import TokenService, subject_from_scope

logger = logging.getLogger("stack.api.ratelimit")

DECISIONS_KEY = "gauntlet.ratelimit"
EXEMPT_PREFIXES = ("/health/",)
EXEMPT_PATHS = frozenset({"/health", "/metrics"})
GLOBAL_KEY = "global"  # RATE_LIMIT_GLOBAL_KEY: the one bucket every user's API calls share
PENALTY_WINDOWS = 10  # RATE_LIMIT_PENALTY: a refused key stays refused this many windows


class LimiterUnavailable(Exception):
    """The store failed and the limiter is configured to fail closed."""


@dataclass(frozen=True)
class Decision:
    """The outcome of one hit on one limit, with what the client is told."""

    limit: str
    allowed: bool
    amount: int
    remaining: int
    reset_after_s: int

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.amount),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_after_s),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset_after_s)
        return headers

    def rejection(self) -> ApiError:
        return ApiError(429, "rate limited", headers=self.headers(), retryAfter=self.reset_after_s)


def client_ip(scope: Scope, trust_proxy_headers: bool) -> str:
    """First ``X-Forwarded-For`` entry when proxies are trusted, else the TCP peer."""
    if trust_proxy_headers:
        for name, value in scope.get("headers", ()):
            if name == b"x-forwarded-for":
                first = str(value.decode("latin-1")).split(",")[0].strip()
                if first:
                    return first
                break
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def with_port(url: str, default_port: int = 6379) -> str:
    """``redis://host/0`` → ``redis://host:6379/0``: limits rejects a URL without a port."""
    parts = urlsplit(url)
    if parts.port is not None or not parts.hostname:
        return url
    return urlunsplit(parts._replace(netloc=f"{parts.netloc}:{default_port}"))


def is_exempt(path: str) -> bool:
    return path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES)


class RateLimiter:
    """The named limits over one moving-window Redis store."""

    def __init__(self, settings: Settings, metrics: Metrics, guard: RedisGuard) -> None:
        self._guard = guard
        self.enabled = not settings.disable_rate_limit
        self.fail_closed = settings.limiter_fail_closed
        self.trust_proxy_headers = settings.trust_proxy_headers
        self.global_key = settings.rate_limit_global_key
        self.limit_probes = settings.rate_limit_probes
        self.penalty = settings.rate_limit_penalty
        self._penalised: dict[tuple[str, str], float] = {}  # (limit, key) → monotonic end
        self._metrics = metrics
        self._items: dict[str, RateLimitItem] = {
            "api": parse_limit(settings.rate_limit_api),
            "login": parse_limit(settings.rate_limit_login),
            "generate": parse_limit(settings.rate_limit_generate),
            "upload": parse_limit(settings.rate_limit_upload),
        }
        options: dict[str, Any] = {
            "socket_timeout": settings.redis_timeout_s,
            "socket_connect_timeout": settings.redis_timeout_s,
            "retry": Retry(NoBackoff(), 0),  # our timeout is the budget; no hidden retries
        }
        self._storage = RedisStorage(
            "async+" + with_port(settings.redis_url),
            wrap_exceptions=True,
            implementation="redispy",
            **options,
        )
        self._strategy = MovingWindowRateLimiter(self._storage)
        self._store_errors = 0

    async def hit(self, limit: str, key: str) -> Decision | None:
        """Count one request against ``limit`` for ``key``.

        Returns ``None`` when the store failed and the limiter fails open; raises
        :class:`LimiterUnavailable` when it fails closed.
        """
        item = self._items[limit]
        if self.penalty:
            refused = self._penalty_box(limit, key, item)
            if refused is not None:
                return refused

        async def check() -> tuple[bool, WindowStats]:
            allowed = await self._strategy.hit(item, limit, key)
            return allowed, await self._strategy.get_window_stats(item, limit, key)

        try:
            allowed, stats = await self._guard.run(check)
        except RedisUnavailable as exc:
            self._metrics.rate_limit_store_errors_total.inc()
            self._store_errors += 1
            if self._store_errors == 1 or self._store_errors % 100 == 0:
                log_event(logger, logging.WARNING, "rate_limit_store_error",
                          errors=self._store_errors, fail_closed=self.fail_closed,
                          error=str(exc))
            if self.fail_closed:
                raise LimiterUnavailable(str(exc)) from exc
            return None
        reset_after_s = max(1, math.ceil(stats.reset_time - time.time()))
        if not allowed:
            self._metrics.rate_limit_rejections_total.labels(limit=limit).inc()
            if self.penalty:
                self._penalise(limit, key, item)
        return Decision(limit, allowed, item.amount, max(0, stats.remaining), reset_after_s)

    def _penalty_box(self, limit: str, key: str, item: RateLimitItem) -> Decision | None:
        """Broken variant: a refusal while ``key`` sits out its penalty, else ``None``.

        ``Retry-After`` says one window — what the moving window alone would ask — so a client
        that waits as told is refused again.
        """
        until = self._penalised.get((limit, key))
        if until is None or time.monotonic() >= until:
            return None
        self._metrics.rate_limit_rejections_total.labels(limit=limit).inc()
        return Decision(limit, False, item.amount, 0, item.get_expiry())

    def _penalise(self, limit: str, key: str, item: RateLimitItem) -> None:
        now = time.monotonic()
        if self._penalised.get((limit, key), 0.0) > now:
            return
        self._penalised = {k: t for k, t in self._penalised.items() if t > now}
        self._penalised[(limit, key)] = now + PENALTY_WINDOWS * item.get_expiry()

    async def close(self) -> None:
        client = getattr(getattr(self._storage, "bridge", None), "storage", None)
        if client is not None:
            with contextlib.suppress(*REDIS_ERRORS):
                await client.aclose()


async def enforce(request: Request, limiter: RateLimiter, limit: str, key: str) -> None:
    """Route-level check (login, generate): raise a 429 :class:`ApiError` when over the limit."""
    if not limiter.enabled:
        return
    try:
        decision = await limiter.hit(limit, key)
    except LimiterUnavailable as exc:
        raise ApiError(503, "rate limiter unavailable") from exc
    if decision is None:
        return
    request.scope.setdefault(DECISIONS_KEY, []).append(decision)
    if not decision.allowed:
        raise decision.rejection()


class RateLimitMiddleware:
    """Applies the ``api`` limit to every non-exempt request and adds ``RateLimit-*`` headers.

    The headers shown on an admitted response are those of the tightest limit the request hit
    (lowest remaining), so a generate call shows its hourly budget rather than the API's.
    """

    def __init__(self, app: ASGIApp, *, limiter: RateLimiter, tokens: TokenService) -> None:
        self.app = app
        self.limiter = limiter
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.limiter.enabled or (
            is_exempt(scope["path"]) and not self.limiter.limit_probes  # broken variant
        ):
            await self.app(scope, receive, send)
            return
        subject = subject_from_scope(scope, self.tokens)
        if subject and self.limiter.global_key:  # broken variant: one bucket for every user
            key = GLOBAL_KEY
        elif subject:
            key = f"user:{subject}"
        else:
            key = f"ip:{client_ip(scope, self.limiter.trust_proxy_headers)}"
        decisions: list[Decision] = scope.setdefault(DECISIONS_KEY, [])
        try:
            decision = await self.limiter.hit("api", key)
        except LimiterUnavailable:
            await JSONResponse({"error": "rate limiter unavailable"}, status_code=503)(
                scope, receive, send
            )
            return
        if decision is not None:
            decisions.append(decision)
            if not decision.allowed:
                await decision.rejection().response()(scope, receive, send)
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and decisions:
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"ratelimit-limit" for name, _ in headers):
                    tightest = min(decisions, key=lambda d: d.remaining)
                    for name, value in tightest.headers().items():
                        if name != "Retry-After":
                            headers.append((name.lower().encode(), value.encode()))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
