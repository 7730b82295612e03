"""The stack's optional parts without PostgreSQL, Redis or the upstream: the database's own
breaker (and its shared-breaker variant), the upload route's own limit (and the variant without
it), and /health/detailed (and its static variant)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI
from limits import RateLimitItem
from limits.util import WindowStats

from stack.api.app import create_app
from stack.api.breaker import CircuitState
from stack.api.config import Settings
from stack.api.db import Database, DatabaseCircuitOpen, DatabaseUnavailable
from stack.api.metrics import Metrics
from stack.api.services import Services
from stack.api.shutdown import DrainState
from stack.api.tokens import TokenService

T = TypeVar("T")
SECRET = "unit-test-secret-unit-test-secret!"
ENV = {
    "API_PORT": "8080",
    "DATABASE_URL": "postgresql://u@127.0.0.1:9/db",
    "REDIS_URL": "redis://127.0.0.1:9/0",
    "UPSTREAM_URL": "http://127.0.0.1:9",
    "JWT_SECRET": SECRET,
}
DB_BREAKER = {"DB_BREAKER": "1", "DB_BREAKER_MIN_CALLS": "3", "DB_BREAKER_OPEN_S": "30",
              "DB_BREAKER_CALL_TIMEOUT_S": "0.05"}


class FakeConn:
    """A connection whose queries take ``delay_s`` (long: PostgreSQL hangs)."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s

    async def fetchval(self, _query: str) -> int:
        await asyncio.sleep(self.delay_s)
        return 1

    def terminate(self) -> None:
        pass


class FakePool:
    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.acquired = 0

    async def acquire(self, timeout: float) -> FakeConn:
        self.acquired += 1
        return FakeConn(self.delay_s)

    async def release(self, conn: FakeConn, timeout: float) -> None:
        pass

    def get_size(self) -> int:
        return 1


def database(pool: FakePool, **env: str) -> tuple[Database, Services]:
    services = Services.build(Settings.from_env({**ENV, **DB_BREAKER, **env}), DrainState())
    db = services.db
    db._pool = pool
    db._schema_ready = True
    return db, services


async def query(db: Database) -> int:
    async with db.connection() as conn:
        return int(await conn.fetchval("SELECT 1"))


def outcomes(db: Database, n: int) -> list[str]:
    async def go() -> list[str]:
        seen = []
        for _ in range(n):
            try:
                await query(db)
                seen.append("ok")
            except DatabaseCircuitOpen:
                seen.append("open")
            except DatabaseUnavailable as exc:
                assert not exc.transient  # a spent call budget is not retried
                seen.append("timeout")
        return seen

    return asyncio.run(go())


def gauge(metrics: Metrics, name: str) -> float | None:
    return metrics.registry.get_sample_value("breaker_state", {"name": name})


# --- one breaker per component --------------------------------------------------------------

def test_a_hung_database_opens_its_own_breaker_and_then_fails_at_once() -> None:
    pool = FakePool(delay_s=5.0)
    db, services = database(pool)
    assert outcomes(db, 3) == ["timeout"] * 3  # each cut at the 50 ms call timeout
    assert db.breaker is not None and db.breaker.state is CircuitState.OPEN
    assert outcomes(db, 5) == ["open"] * 5
    assert pool.acquired == 3  # refused at once: nothing was tried
    services.metrics.render()
    assert gauge(services.metrics, "database") == 1.0
    assert gauge(services.metrics, "upstream") == 0.0  # the AI breaker is another component
    assert services.breaker.state is CircuitState.CLOSED


def test_a_database_that_answers_keeps_its_breaker_closed() -> None:
    # a call timeout no scheduler pause on a busy machine reaches: these calls never wait
    db, services = database(FakePool(delay_s=0.0), DB_BREAKER_CALL_TIMEOUT_S="1")
    assert outcomes(db, 10) == ["ok"] * 10
    assert db.breaker is not None and db.breaker.state is CircuitState.CLOSED
    assert set(services.breakers) == {"upstream", "redis", "database"}


def test_shared_variant_hands_the_upstream_breaker_to_the_database() -> None:
    """BREAKER_SHARED: the database fault opens the breaker AI calls ask too."""
    db, services = database(FakePool(delay_s=5.0), BREAKER_SHARED="1",
                            BREAKER_MIN_CALLS="3")
    assert db.breaker is services.breaker
    outcomes(db, 3)
    assert services.breaker.state is CircuitState.OPEN


def test_without_db_breaker_the_database_has_none() -> None:
    services = Services.build(Settings.from_env(ENV), DrainState())
    assert services.db.breaker is None and "database" not in services.breakers


def test_an_open_database_circuit_answers_503_naming_it() -> None:
    app = create_app(Settings.from_env({**ENV, **DB_BREAKER, "DISABLE_RATE_LIMIT": "1"}))
    db = app.state.services.db
    db._pool, db._schema_ready = FakePool(delay_s=5.0), True
    outcomes(db, 3)
    answer = call(app, "GET", "/api/orders/1", user="alice")
    assert answer.status_code == 503
    assert answer.headers["X-Circuit-Open"] == "database"
    assert int(answer.headers["Retry-After"]) >= 1
    assert answer.json() == {"error": "database unavailable", "circuit": "open"}


# --- the upload route's own limit -----------------------------------------------------------

class PassGuard:
    async def run(self, call: Callable[[], Awaitable[T]]) -> T:
        return await call()


class CountingStrategy:
    def __init__(self) -> None:
        self.hits: dict[str, int] = {}

    async def hit(self, item: RateLimitItem, *identifiers: str) -> bool:
        key = "/".join(identifiers)
        self.hits[key] = self.hits.get(key, 0) + 1
        return self.hits[key] <= item.amount

    async def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        return WindowStats(time.time() + 2, item.amount - self.hits.get("/".join(identifiers), 0))


def call(app: FastAPI, method: str, path: str, *, user: str | None = None,
         times: int = 1, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {TokenService(SECRET, 60).issue(user)}"} if user else {}

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for _ in range(times):
                answer = await client.request(method, path, headers=headers, **kwargs)
            return answer

    return asyncio.run(go())


def upload_app(**env: str) -> tuple[FastAPI, CountingStrategy]:
    app = create_app(Settings.from_env({**ENV, "RATE_LIMIT_API": "10/5seconds",
                                        "RATE_LIMIT_UPLOAD": "3/5seconds", **env}))
    limiter = app.state.services.limiter
    strategy = CountingStrategy()
    limiter._guard, limiter._strategy = PassGuard(), strategy
    return app, strategy


BODY = {"filename": "a.txt", "content": "hello"}


@pytest.mark.parametrize(("env", "statuses"), [
    ({}, [201, 201, 201, 429]),
    ({"DISABLE_UPLOAD_LIMIT": "1"}, [201, 201, 201, 201]),  # the api limit (10) only
])
def test_uploads_have_a_limit_of_their_own(env: dict[str, str], statuses: list[int]) -> None:
    app, strategy = upload_app(**env)
    seen = [call(app, "POST", "/api/uploads", user="alice", json=BODY).status_code
            for _ in statuses]
    assert seen == statuses
    assert strategy.hits["api/user:alice"] == 4  # every upload spends the api limit too
    assert ("upload/user:alice" in strategy.hits) is not bool(env)


def test_an_upload_is_measured_and_discarded() -> None:
    app, _ = upload_app()
    answer = call(app, "POST", "/api/uploads", user="bob", json=BODY)
    assert answer.status_code == 201
    got = answer.json()
    assert (got["bytes"], got["filename"], got["user"], got["stored"]) == (5, "a.txt", "bob",
                                                                          False)
    assert call(app, "POST", "/api/uploads", json=BODY).status_code == 401
    too_big = {"filename": "b.txt", "content": "x" * (64 * 1024 + 1)}
    assert call(app, "POST", "/api/uploads", user="bob", json=too_big).status_code == 422


# --- /health/detailed -----------------------------------------------------------------------

class Deps:
    """Switchable stand-ins for the three dependency checks."""

    def __init__(self, app: FastAPI) -> None:
        self.down: set[str] = set()
        self.latency_ms = {"database": 2.0, "redis": 1.0, "upstream": 3.0}
        services = app.state.services
        services.db.ping = lambda timeout_s: self.ping("database")
        services.cache.ping = lambda: self.ping("redis")
        services.upstream.ping = lambda timeout_s: self.ping("upstream")

    async def ping(self, name: str) -> float:
        if name in self.down:
            raise ConnectionRefusedError("connection refused")
        return self.latency_ms[name]


@pytest.fixture
def pool_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Database, "ready", property(lambda self: True))


def detailed_app(**env: str) -> tuple[FastAPI, Deps]:
    app = create_app(Settings.from_env({**ENV, "DISABLE_RATE_LIMIT": "1", **env}))
    return app, Deps(app)


@pytest.mark.usefixtures("pool_ready")
def test_detailed_health_shows_each_dependency_and_breaker() -> None:
    app, deps = detailed_app(**DB_BREAKER)
    healthy = call(app, "GET", "/health/detailed")
    assert healthy.status_code == 200
    body = healthy.json()
    assert body["status"] == "healthy"
    assert {k: v["status"] for k, v in body["checks"].items()} == {
        "database": "healthy", "redis": "healthy", "upstream": "healthy"}
    assert body["checks"]["upstream"]["latency_ms"] == 3.0
    assert body["breakers"] == {"upstream": "CLOSED", "redis": "CLOSED", "database": "CLOSED"}

    deps.latency_ms["database"] = 150.0  # LangSense: above 100 ms the database is degraded
    slow = call(app, "GET", "/health/detailed").json()
    assert (slow["status"], slow["checks"]["database"]["status"]) == ("degraded", "degraded")

    deps.down = {"redis"}  # the API fails open without Redis: degraded, not unhealthy
    assert call(app, "GET", "/health/detailed").json()["checks"]["redis"]["status"] == \
        "unhealthy"
    deps.down = {"database"}
    down = call(app, "GET", "/health/detailed")
    assert down.status_code == 503
    assert down.json()["status"] == "unhealthy"
    assert down.json()["checks"]["database"]["status"] == "unhealthy"


@pytest.mark.usefixtures("pool_ready")
def test_detailed_health_static_variant_stays_green() -> None:
    """HEALTH_DETAILED_STATIC: healthy while the database is down."""
    app, deps = detailed_app(HEALTH_DETAILED_STATIC="1")
    deps.down = {"database", "redis", "upstream"}
    answer = call(app, "GET", "/health/detailed")
    assert answer.status_code == 200
    assert answer.json()["checks"]["database"]["status"] == "healthy"


def test_detailed_health_is_never_rate_limited() -> None:
    app, strategy = upload_app()
    call(app, "GET", "/health/detailed", times=3)
    assert strategy.hits == {}
