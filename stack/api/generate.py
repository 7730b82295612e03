"""``POST /api/generate``: the upstream call, degraded to a 503 fallback instead of hanging.

The answer always says what the breaker is doing (``X-Circuit-State``, added for every response
of this route by the request middleware), and a fallback says why (``X-Fallback: circuit-open``
when refused without calling, ``upstream-error`` when the call failed after its retries).
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from stack.api.auth import CurrentUser
from stack.api.breaker import CircuitOpenError
from stack.api.logs import log_event
from stack.api.ratelimit import enforce
from stack.api.services import Services, ServicesDep
from stack.api.upstream import UpstreamError

logger = logging.getLogger("stack.api.generate")

FALLBACK_BODY = {"error": "temporarily unavailable", "fallback": True}


class GenerateIn(BaseModel):
    prompt: str = Field(min_length=1, max_length=4000)


async def generate_limit(request: Request, user: CurrentUser, services: ServicesDep) -> None:
    await enforce(request, services.limiter, "generate", f"user:{user}")


async def generate(
    body: GenerateIn,
    services: ServicesDep,
    _: Annotated[None, Depends(generate_limit)],
) -> JSONResponse:
    try:
        result = await services.upstream.generate(body.prompt)
    except CircuitOpenError as exc:
        return _fallback(services, "circuit-open", retry_after_s=exc.retry_after_s)
    except UpstreamError as exc:
        log_event(logger, logging.WARNING, "upstream_failed", error=str(exc), status=exc.status)
        return _fallback(services, "upstream-error")
    return JSONResponse(result, headers=_circuit(services))


def _fallback(services: Services, reason: str, retry_after_s: float | None = None) -> JSONResponse:
    services.metrics.fallbacks_total.labels(reason=reason.replace("-", "_")).inc()
    headers = {"X-Fallback": reason, **_circuit(services)}
    if retry_after_s is not None and retry_after_s > 0:
        headers["Retry-After"] = str(max(1, round(retry_after_s)))
    return JSONResponse(FALLBACK_BODY, status_code=503, headers=headers)


def _circuit(services: Services) -> dict[str, str]:
    return {"X-Circuit-State": services.upstream.circuit_state.value}


def register(app: FastAPI) -> None:
    app.add_api_route("/api/generate", generate, methods=["POST"])
