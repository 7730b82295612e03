"""Liveness and readiness with faked dependency checks, and their broken variants."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from stack.api.app import create_app
from stack.api.config import Settings
from stack.api.db import Database

ENV = {
    "API_PORT": "8080",
    "DATABASE_URL": "postgresql://u@127.0.0.1:9/db",
    "REDIS_URL": "redis://127.0.0.1:9/0",
    "UPSTREAM_URL": "http://127.0.0.1:9",
    "JWT_SECRET": "unit-test-secret-unit-test-secret!",
    "DISABLE_RATE_LIMIT": "1",
}


class Deps:
    """Switchable stand-ins for ``SELECT 1`` and ``PING``."""

    def __init__(self, app: FastAPI) -> None:
        self.up = True
        services = app.state.services
        services.db.ping = self.db_ping
        services.cache.ping = self.redis_ping

    async def db_ping(self, timeout_s: float) -> float:
        return await self.redis_ping()

    async def redis_ping(self) -> float:
        if not self.up:
            raise ConnectionRefusedError("connection refused")
        return 1.0


@pytest.fixture(autouse=True)
def pool_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    """No lifespan runs: pretend the pool and schema are there (else readiness says starting)."""
    monkeypatch.setattr(Database, "ready", property(lambda self: True))


def app_with(**switches: str) -> tuple[FastAPI, Deps]:
    app = create_app(Settings.from_env({**ENV, **switches}))
    return app, Deps(app)


def get(app: FastAPI, path: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path)

    return asyncio.run(go())


def test_ready_follows_the_dependencies_and_live_ignores_them() -> None:
    app, deps = app_with()
    assert get(app, "/health/ready").status_code == 200
    deps.up = False
    down = get(app, "/health/ready")
    assert down.status_code == 503 and down.json()["checks"]["database"]["status"] == "down"
    assert get(app, "/health/live").status_code == 200
    deps.up = True
    assert get(app, "/health/ready").status_code == 200


def test_liveness_variant_fails_while_a_dependency_is_down() -> None:
    """LIVENESS_CHECKS_DEPENDENCIES: live answers 503 with the dependency checks."""
    app, deps = app_with(LIVENESS_CHECKS_DEPENDENCIES="1")
    assert get(app, "/health/live").json() == {"status": "ok"}
    deps.up = False
    live = get(app, "/health/live")
    assert live.status_code == 503 and live.json()["checks"]["redis"]["status"] == "down"
    deps.up = True
    assert get(app, "/health/live").status_code == 200


def test_readiness_variant_latches_on_the_first_dependency_failure() -> None:
    """READINESS_LATCHES: 503 from the first failure on, even after the dependency is back."""
    app, deps = app_with(READINESS_LATCHES="1")
    assert get(app, "/health/ready").status_code == 200
    deps.up = False
    assert get(app, "/health/ready").status_code == 503
    deps.up = True
    latched = get(app, "/health/ready")
    assert latched.status_code == 503 and latched.json()["latched"] is True
    assert latched.json()["checks"]["database"]["status"] == "down"  # the failure it kept


def test_readiness_variant_does_not_latch_while_starting(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pool still being created is not a dependency failure: the stack must still boot."""
    app, _ = app_with(READINESS_LATCHES="1")
    monkeypatch.setattr(Database, "ready", property(lambda self: False))
    starting = get(app, "/health/ready")
    assert starting.status_code == 503
    assert starting.json()["checks"]["database"]["status"] == "starting"
    monkeypatch.setattr(Database, "ready", property(lambda self: True))
    assert get(app, "/health/ready").status_code == 200


def test_deep_check_variant_makes_a_generation_on_every_probe() -> None:
    """READINESS_DEEP_CHECK: readiness waits for a real generation call, so it answers as
    slowly as the upstream does (and fails with it)."""
    app, _ = app_with(READINESS_DEEP_CHECK="1")
    calls: list[str] = []

    async def generate(prompt: str) -> dict[str, str]:
        calls.append(prompt)
        await asyncio.sleep(0.05)
        return {"text": "t", "model": "m"}

    app.state.services.upstream.generate = generate
    ready = get(app, "/health/ready")
    assert ready.status_code == 200 and calls == ["readiness"]
    assert ready.json()["checks"]["upstream"]["latency_ms"] >= 50
    plain, _ = app_with()
    assert "upstream" not in get(plain, "/health/ready").json()["checks"]
