"""``python -m tests.services.ledger.pricing``: the ledger's pricing upstream (a stub).

    POST /price {"cents": n} -> {"price_cents": n + fee}     GET /ok -> {"ok": true}

Variables: ``PRICING_PORT`` (required), ``PRICING_HOST``, ``PRICING_DELAY_MS`` (each answer
waits this long), ``PRICING_FAIL_RATE`` (0..1: that share of prices answers 503, for failures
Toxiproxy cannot make), ``PRICING_FEE_CENTS``.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass(frozen=True)
class PricingSettings:
    delay_ms: float = 30.0
    fail_rate: float = 0.0
    fee_cents: int = 25


def create_app(settings: PricingSettings, rng: random.Random | None = None) -> Starlette:
    rand = rng or random.Random()

    async def ok(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def price(request: Request) -> Response:
        try:
            body = await request.json()
            cents = int(body["cents"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "send {\"cents\": n}"}, status_code=400)
        await asyncio.sleep(settings.delay_ms / 1000)
        if settings.fail_rate > 0 and rand.random() < settings.fail_rate:
            return JSONResponse({"error": "injected failure"}, status_code=503)
        return JSONResponse({"price_cents": cents + settings.fee_cents})

    return Starlette(routes=[Route("/ok", ok), Route("/price", price, methods=["POST"])])


def main() -> int:
    try:
        port = int(os.environ["PRICING_PORT"])
        settings = PricingSettings(
            delay_ms=float(os.environ.get("PRICING_DELAY_MS") or 30.0),
            fail_rate=float(os.environ.get("PRICING_FAIL_RATE") or 0.0),
            fee_cents=int(os.environ.get("PRICING_FEE_CENTS") or 25),
        )
    except (KeyError, ValueError) as exc:
        print(f"pricing: configuration error: {exc!r} (PRICING_PORT is required)",
              file=sys.stderr)
        return 2
    host = os.environ.get("PRICING_HOST", "127.0.0.1")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning",
                access_log=False, server_header=False, backlog=2048)
    return 0


if __name__ == "__main__":
    sys.exit(main())
