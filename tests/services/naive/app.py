"""The naive notes service: the happy path only, written the way a first draft is.

    POST /login {"user"} -> {"ticket"}; later requests send X-Ticket
    POST /notes {"text"} -> 201 {"id"}        GET /notes (latest 20)     GET /notes/{id}
    POST /price {"cents"} -> the pricing upstream's answer, passed through
    GET /live, GET /ready, GET /health/detailed -> always 200 (and "healthy")

What it lacks, on purpose: no idempotency (a resent write is a second row), no wait bound on the
pool, no whole-request deadline, no upstream timeout, breaker or retry, no rate limit, no
metrics, a readiness that never looks at the database, and SIGTERM kills it on the spot.
"""

from __future__ import annotations

import asyncio
import secrets
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SCHEMA = """
CREATE TABLE IF NOT EXISTS naive_notes (
    id      serial PRIMARY KEY,
    body    text NOT NULL,
    written timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class NaiveSettings:
    port: int
    database_url: str
    pricing_url: str
    host: str = "127.0.0.1"
    pool_max: int = 5


async def _connect(settings: NaiveSettings) -> asyncpg.Pool:
    """Wait for PostgreSQL as a first draft does: forever, so it can boot beside its database."""
    while True:
        try:
            return await asyncpg.create_pool(settings.database_url, min_size=1,
                                             max_size=settings.pool_max)
        except (OSError, asyncpg.PostgresError):
            await asyncio.sleep(0.5)


def create_app(settings: NaiveSettings) -> Starlette:
    tickets: dict[str, str] = {}
    parts: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # uvicorn installed its graceful handlers before this runs; put the default back
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        pool = await _connect(settings)
        async with pool.acquire() as conn:
            await conn.execute(SCHEMA)
        http = httpx.AsyncClient(base_url=settings.pricing_url, timeout=None)
        parts.update(pool=pool, http=http)
        yield
        await http.aclose()
        await pool.close()

    def pool() -> asyncpg.Pool:
        return parts["pool"]

    def ticket_of(request: Request) -> str | None:
        ticket = request.headers.get("X-Ticket", "")
        return ticket if ticket in tickets else None

    async def live(request: Request) -> Response:
        return JSONResponse({"status": "up"})

    async def ready(request: Request) -> Response:
        return JSONResponse({"status": "ready"})

    async def health_detailed(request: Request) -> Response:
        # the dashboard's health page, written once and never connected to anything
        return JSONResponse({"status": "healthy", "checks": {"notes-db": {"status": "healthy"}}})

    async def login(request: Request) -> Response:
        body = await request.json()
        ticket = secrets.token_hex(12)
        tickets[ticket] = str(body["user"])
        return JSONResponse({"ticket": ticket})

    async def add_note(request: Request) -> Response:
        if ticket_of(request) is None:
            return JSONResponse({"error": "login first"}, status_code=401)
        body = await request.json()
        async with pool().acquire() as conn:
            note_id = await conn.fetchval(
                "INSERT INTO naive_notes (body) VALUES ($1) RETURNING id", str(body["text"]))
        return JSONResponse({"id": note_id}, status_code=201)

    async def list_notes(request: Request) -> Response:
        if ticket_of(request) is None:
            return JSONResponse({"error": "login first"}, status_code=401)
        async with pool().acquire() as conn:
            rows = await conn.fetch("SELECT id, body FROM naive_notes ORDER BY id DESC LIMIT 20")
        return JSONResponse({"notes": [dict(row) for row in rows]})

    async def get_note(request: Request) -> Response:
        if ticket_of(request) is None:
            return JSONResponse({"error": "login first"}, status_code=401)
        async with pool().acquire() as conn:
            row = await conn.fetchrow("SELECT id, body FROM naive_notes WHERE id = $1",
                                      request.path_params["note_id"])
        if row is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        return JSONResponse(dict(row))

    async def price(request: Request) -> Response:
        if ticket_of(request) is None:
            return JSONResponse({"error": "login first"}, status_code=401)
        body = await request.json()
        http: httpx.AsyncClient = parts["http"]
        answer = await http.post("/price", json={"cents": body["cents"]})
        return JSONResponse(answer.json(), status_code=answer.status_code)

    return Starlette(
        routes=[
            Route("/live", live),
            Route("/ready", ready),
            Route("/health/detailed", health_detailed),
            Route("/login", login, methods=["POST"]),
            Route("/notes", add_note, methods=["POST"]),
            Route("/notes", list_notes, methods=["GET"]),
            Route("/notes/{note_id:int}", get_note, methods=["GET"]),
            Route("/price", price, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
