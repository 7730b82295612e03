"""The API in-process, without PostgreSQL or Redis: what must hold before any dependency answers.

No lifespan runs, so the database is "not connected" and the limiter is switched off; these
tests pin the cross-cutting contract (headers, error shapes, auth guard, route templates).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator

import httpx
import pytest

from stack.api.app import create_app
from stack.api.config import Settings
from stack.api.logs import configure_logging
from stack.api.middleware import resolve_route
from stack.api.tokens import TokenService

SECRET = "unit-test-secret-unit-test-secret!"
ENV = {
    "API_PORT": "8080",
    "DATABASE_URL": "postgresql://u@127.0.0.1:9/db",
    "REDIS_URL": "redis://127.0.0.1:9/0",
    "UPSTREAM_URL": "http://127.0.0.1:9",
    "JWT_SECRET": SECRET,
    "DISABLE_RATE_LIMIT": "1",
}


def request(method: str, path: str, env: dict[str, str] | None = None,
            **kwargs: object) -> httpx.Response:
    app = create_app(Settings.from_env({**ENV, **(env or {})}))

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, path, **kwargs)  # type: ignore[arg-type]

    return asyncio.run(go())


def test_live_has_security_headers_and_a_request_id() -> None:
    r = request("GET", "/health/live")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["content-security-policy"] == "default-src 'none'"
    assert len(r.headers["x-request-id"]) == 36


def test_request_id_is_echoed() -> None:
    assert request("GET", "/health/live", headers={"x-request-id": "abc-1"}).headers[
        "x-request-id"
    ] == "abc-1"


@pytest.fixture
def logs_to_capsys() -> Iterator[None]:
    """The root logger as it was after each test: configure_logging binds the captured
    stdout, which is closed once the test ends."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_error_answers_carry_the_request_id_too_but_not_in_the_broken_variant() -> None:
    assert len(request("GET", "/api/orders").headers["x-request-id"]) == 36  # a 401
    broken = {"REQUEST_ID_SUCCESS_ONLY": "1"}
    assert "x-request-id" not in request("GET", "/api/orders", broken).headers
    assert "x-request-id" in request("GET", "/health/live", broken).headers


def test_the_request_line_carries_the_id_but_not_in_the_broken_variant(
        capsys: pytest.CaptureFixture[str], logs_to_capsys: None) -> None:
    configure_logging("info")
    request("GET", "/health/live", headers={"x-request-id": "abc-2"})
    request("GET", "/health/live", {"LOG_REQUEST_WITHOUT_ID": "1"},
            headers={"x-request-id": "abc-3"})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    requests = {entry.get("request_id") for entry in lines if entry["event"] == "request"}
    assert "abc-2" in requests and "abc-3" not in requests


def test_the_plain_text_variant_writes_lines_that_are_not_json(
        capsys: pytest.CaptureFixture[str], logs_to_capsys: None) -> None:
    configure_logging("info", plain=True)
    request("GET", "/health/live")
    out = capsys.readouterr().out.splitlines()
    assert out and all(not line.startswith("{") for line in out)
    assert any(" INFO stack.api.request: request" in line for line in out)


def test_api_needs_a_token() -> None:
    r = request("GET", "/api/orders")
    assert r.status_code == 401 and r.json() == {"error": "unauthorized"}
    assert r.headers["cache-control"] == "no-store"
    forged = TokenService("another-secret-another-secret-123", 60).issue("alice")
    r = request("GET", "/api/orders", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401


def test_database_down_is_a_fast_503_not_a_500() -> None:
    token = TokenService(SECRET, 60).issue("alice")
    r = request("POST", "/api/orders", json={"item": "x", "quantity": 1},
                headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 503 and r.json() == {"error": "database unavailable"}


def test_validation_errors_do_not_echo_the_input() -> None:
    r = request("POST", "/auth/login", json={"username": "", "password": "hunter2"})
    assert r.status_code == 422
    assert "hunter2" not in r.text and r.json()["error"] == "invalid request"


def test_wrong_password_is_401_and_right_one_issues_a_token() -> None:
    wrong = request("POST", "/auth/login", json={"username": "a", "password": "x"})
    assert wrong.status_code == 401 and wrong.json() == {"error": "invalid credentials"}
    r = request("POST", "/auth/login", json={"username": "a", "password": "gauntlet"})
    body = r.json()
    assert r.status_code == 200 and body["token_type"] == "bearer" and body["expires_in"] > 0
    assert TokenService(SECRET, 60).verify(body["access_token"]) == "a"


def test_generate_always_reports_the_circuit() -> None:
    r = request("POST", "/api/generate", json={"prompt": "x"})
    assert r.status_code == 401 and r.headers["x-circuit-state"] == "closed"


def test_unknown_routes_are_json_404s() -> None:
    r = request("GET", "/nope")
    assert r.status_code == 404 and json.loads(r.text) == {"error": "not found"}


def test_metrics_label_routes_by_template() -> None:
    app = create_app(Settings.from_env(ENV))

    def route(method: str, path: str) -> str:
        return resolve_route(app.router, {"type": "http", "method": method, "path": path,
                                          "root_path": ""})

    assert route("GET", "/api/orders/42") == "/api/orders/{order_id}"
    assert route("POST", "/api/orders") == "/api/orders"
    assert route("GET", "/does/not/exist") == "unmatched"

    async def scrape() -> str:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await client.get("/api/orders/42")
            return (await client.get("/metrics")).text

    text = asyncio.run(scrape())
    assert 'http_requests_total{method="GET",route="/api/orders/{order_id}",status="401"}' in text
    assert 'breaker_state{name="upstream"} 0.0' in text
    assert 'le="0.01"' in text and 'le="5.0"' in text
