"""A stand-in for an "AI" HTTP service: slow on purpose, deterministic, idempotent.

``POST /generate {"prompt": str}`` answers ``{"text", "model": "stub"}`` after
``UPSTREAM_LATENCY_MS`` ± ``UPSTREAM_JITTER_MS`` (an ``asyncio.sleep``, so thousands of calls
wait concurrently without threads). The text is derived from the prompt alone, so a retried call
returns the same answer — the property that makes retrying ``generate`` safe.

Faults are injected from outside (Toxiproxy in front of this service). One knob exists for checks
that need HTTP-level failures, which Toxiproxy cannot make: ``UPSTREAM_ERROR_RATE`` (0..1, default
0) answers that share of calls with 503.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel


@dataclass(frozen=True)
class UpstreamSettings:
    latency_ms: float = 20.0
    jitter_ms: float = 5.0
    error_rate: float = 0.0


class GenerateIn(BaseModel):
    prompt: str


def answer_for(prompt: str) -> str:
    """The deterministic answer to ``prompt``."""
    digest = hashlib.sha256(prompt.encode()).hexdigest()[:16]
    return f"stub answer {digest} ({len(prompt)} chars)"


def create_app(settings: UpstreamSettings, rng: random.Random | None = None) -> FastAPI:
    rand = rng or random.Random()
    app = FastAPI(title="gauntlet upstream stub", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/generate")
    async def generate(body: GenerateIn) -> JSONResponse:
        jitter = rand.uniform(-settings.jitter_ms, settings.jitter_ms)
        await asyncio.sleep(max(0.0, settings.latency_ms + jitter) / 1000)
        if settings.error_rate > 0 and rand.random() < settings.error_rate:
            return JSONResponse({"error": "injected failure"}, status_code=503)
        return JSONResponse({"text": answer_for(body.prompt), "model": "stub"})

    return app
