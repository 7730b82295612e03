"""The upstream stub: deterministic answers (what makes retrying generate safe)."""

from __future__ import annotations

import asyncio
import random

import httpx

from stack.upstream.app import UpstreamSettings, answer_for, create_app


def call(app: object, prompt: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post("/generate", json={"prompt": prompt})

    return asyncio.run(go())


def test_same_prompt_same_answer() -> None:
    app = create_app(UpstreamSettings(latency_ms=0, jitter_ms=0))
    first, second = call(app, "hello"), call(app, "hello")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() == {"text": answer_for("hello"), "model": "stub"}
    assert answer_for("hello") != answer_for("hello!")


def test_error_rate_answers_503() -> None:
    app = create_app(UpstreamSettings(latency_ms=0, jitter_ms=0, error_rate=1.0),
                     rng=random.Random(1))
    assert call(app, "x").status_code == 503
