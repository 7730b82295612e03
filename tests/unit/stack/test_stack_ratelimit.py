"""Pure parts of the limiter: whose budget a request spends, and what the client is told."""

from __future__ import annotations

import pytest

from stack.api.ratelimit import Decision, client_ip, is_exempt, with_port


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
