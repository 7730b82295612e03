"""The limiter without Redis: whose budget a request spends, and what the client is told."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from limits import RateLimitItem
from limits.util import WindowStats
from starlette.types import Message, Receive, Scope, Send

from stack.api.config import Settings
from stack.api.metrics import Metrics
from stack.api.ratelimit import (
    Decision,
    RateLimiter,
    RateLimitMiddleware,
    client_ip,
    is_exempt,
    with_port,
)
from stack.api.tokens import TokenService

T = TypeVar("T")


def scope(xff: str | None = None, peer: str | None = "10.0.0.9") -> dict[str, object]:
    headers = [(b"x-forwarded-for", xff.encode())] if xff is not None else []
    return {"type": "http", "headers": headers, "client": (peer, 5555) if peer else None}


def test_first_forwarded_entry_when_proxies_are_trusted() -> None:
    assert client_ip(scope("203.0.113.7, 10.1.1.1"), True) == "203.0.113.7"


def test_peer_when_proxies_are_not_trusted() -> None:
    assert client_ip(scope("203.0.113.7"), False) == "10.0.0.9"


def test_peer_when_the_header_is_empty_or_absent() -> None:
    assert client_ip(scope(" , 1.2.3.4"), True) == "10.0.0.9"
    assert client_ip(scope(None), True) == "10.0.0.9"
    assert client_ip(scope(None, peer=None), True) == "unknown"


@pytest.mark.parametrize(
    ("path", "exempt"),
    [("/health/live", True), ("/health/ready", True), ("/metrics", True),
     ("/api/orders", False), ("/auth/login", False), ("/healthz", False)],
)
def test_probes_are_never_limited(path: str, exempt: bool) -> None:
    assert is_exempt(path) is exempt


def test_rejection_carries_retry_after_and_ratelimit_headers() -> None:
    decision = Decision("login", allowed=False, amount=5, remaining=0, reset_after_s=42)
    error = decision.rejection()
    assert error.status == 429
    assert error.body == {"error": "rate limited", "retryAfter": 42}
    assert error.headers == {
        "RateLimit-Limit": "5", "RateLimit-Remaining": "0", "RateLimit-Reset": "42",
        "Retry-After": "42",
    }


def test_admitted_decision_has_no_retry_after() -> None:
    headers = Decision("api", allowed=True, amount=100, remaining=99, reset_after_s=60).headers()
    assert "Retry-After" not in headers and headers["RateLimit-Remaining"] == "99"


@pytest.mark.parametrize(
    ("url", "expected"),
    [("redis://h/0", "redis://h:6379/0"), ("redis://h:7000/1", "redis://h:7000/1"),
     ("redis://:pw@h", "redis://:pw@h:6379")],
)
def test_redis_url_gets_a_port(url: str, expected: str) -> None:
    assert with_port(url) == expected


# --- broken variants: whose budget a request spends, and the penalty box -------------------

REQUIRED = {"API_PORT": "1", "DATABASE_URL": "postgresql://x", "REDIS_URL": "redis://127.0.0.1:9/0",
            "UPSTREAM_URL": "http://x", "RATE_LIMIT_API": "3/5seconds"}


class PassGuard:
    """Runs the store call as is (the real guard adds a timeout and a breaker)."""

    async def run(self, call: Callable[[], Awaitable[T]]) -> T:
        return await call()


class CountingStrategy:
    """An in-memory fixed count per key: enough to see who is refused when."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}

    async def hit(self, item: RateLimitItem, *identifiers: str) -> bool:
        key = "/".join(identifiers)
        self.hits[key] = self.hits.get(key, 0) + 1
        return self.hits[key] <= item.amount

    async def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        used = self.hits.get("/".join(identifiers), 0)
        return WindowStats(time.time() + 2, item.amount - used)


def limiter(**switches: str) -> tuple[RateLimiter, CountingStrategy]:
    settings = Settings.from_env({**REQUIRED, **switches})
    rl = RateLimiter(settings, Metrics(), PassGuard())  # type: ignore[arg-type]
    strategy = CountingStrategy()
    rl._strategy = strategy  # type: ignore[assignment]
    return rl, strategy


def hits(rl: RateLimiter, key: str, n: int) -> list[Decision | None]:
    async def go() -> list[Decision | None]:
        return [await rl.hit("api", key) for _ in range(n)]

    return asyncio.run(go())


def test_penalty_variant_keeps_refusing_after_the_window() -> None:
    """RATE_LIMIT_PENALTY: refused for 10 windows, while Retry-After says one window."""
    for switches, refused_after in (({}, False), ({"RATE_LIMIT_PENALTY": "1"}, True)):
        rl, strategy = limiter(**switches)
        first = hits(rl, "user:a", 4)
        assert [d.allowed for d in first if d] == [True, True, True, False]
        strategy.hits.clear()  # the moving window has moved on
        again = hits(rl, "user:a", 1)[0]
        assert again is not None and again.allowed is not refused_after
        if refused_after:
            assert again.headers()["Retry-After"] == "5"  # the window, not the penalty left
        other = hits(rl, "user:b", 1)[0]
        assert other is not None and other.allowed  # other keys unaffected


def keys_spent(path: str, token: str | None = None, xff: str = "203.0.113.1",
               **switches: str) -> list[str]:
    """The ``api`` keys the middleware charges for one request to ``path``."""
    tokens = TokenService("unit-test-secret-unit-test-secret!", 60)
    rl, strategy = limiter(**switches)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def go() -> None:
        headers = [(b"x-forwarded-for", xff.encode())]
        if token is not None:
            headers.append((b"authorization", f"Bearer {tokens.issue(token)}".encode()))
        scope = {"type": "http", "path": path, "headers": headers, "client": ("10.0.0.1", 1)}

        async def receive() -> Message:
            return {"type": "http.request", "body": b""}

        async def send(_: Message) -> None:
            pass

        await RateLimitMiddleware(app, limiter=rl, tokens=tokens)(scope, receive, send)

    asyncio.run(go())
    return list(strategy.hits)


def test_api_limit_is_per_user_else_per_ip() -> None:
    assert keys_spent("/api/orders", token="alice") == ["api/user:alice"]
    assert keys_spent("/api/orders") == ["api/ip:203.0.113.1"]
    assert keys_spent("/health/live", token="alice") == []
    assert keys_spent("/metrics") == []


def test_global_key_variant_shares_one_bucket() -> None:
    """RATE_LIMIT_GLOBAL_KEY: every user spends the same budget (anonymous calls stay per IP)."""
    for token in ("alice", "bob"):
        assert keys_spent("/api/orders", token=token, RATE_LIMIT_GLOBAL_KEY="1") == [
            "api/global"]
    assert keys_spent("/auth/login", RATE_LIMIT_GLOBAL_KEY="1") == ["api/ip:203.0.113.1"]


@pytest.mark.parametrize("path", ["/health/live", "/health/ready", "/metrics"])
def test_probes_variant_limits_exempt_paths(path: str) -> None:
    """RATE_LIMIT_PROBES: /health/* and /metrics spend the api limit like any request."""
    assert keys_spent(path, token="alice", RATE_LIMIT_PROBES="1") == ["api/user:alice"]
    assert keys_spent(path, RATE_LIMIT_PROBES="1") == ["api/ip:203.0.113.1"]
