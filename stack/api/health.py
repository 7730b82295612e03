"""The endpoints probes poll: ``/health/live``, ``/health/ready``, ``/health/detailed`` and
``/metrics``.

Liveness says only "the process runs": restarting the API cannot fix PostgreSQL, so a
dependency outage must never fail it. Readiness says "send me traffic": both dependencies
answer and no drain is under way. Each dependency check runs concurrently under
``HEALTH_TIMEOUT_S`` (0.5 s), so readiness answers within ~0.5 s even when a dependency hangs
instead of refusing (Toxiproxy's ``timeout`` toxic). None of these is rate limited.

``/health/detailed`` is for people and dashboards (My-SaaS-Chat, LangSense): each dependency's
status — ``healthy``, ``degraded`` (answered, slower than ``HEALTH_DEGRADED_MS``; LangSense: the
database under 100 ms) or ``unhealthy`` (no answer) — with its latency in ms, every circuit
breaker's state (``CLOSED``/``OPEN``/``HALF_OPEN``), and an overall status: unhealthy (503)
when the database is, degraded when anything is not healthy, else healthy. Its checks run
concurrently within half of ``HEALTH_DETAILED_BUDGET_MS``, so it answers within its budget
even while a dependency hangs.

Broken variants: ``LIVENESS_CHECKS_DEPENDENCIES=1`` makes liveness run readiness's dependency
checks (503 while PostgreSQL or Redis is down: the mistake that restarts pods for a dependency
outage); ``READINESS_LATCHES=1`` keeps readiness at 503 from its first dependency failure until
the process restarts; ``HEALTH_DETAILED_STATIC=1`` makes ``/health/detailed`` say healthy
without checking anything (the endpoint that is green through every outage);
``READINESS_DEEP_CHECK=1`` makes readiness call the upstream for a real generation on every
probe (the "deep" health check: as slow as the slowest dependency, and a cost per probe).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response

from stack.api.metrics import CONTENT_TYPE
from stack.api.services import Services, ServicesDep


async def live(services: ServicesDep) -> JSONResponse:
    if services.settings.liveness_checks_dependencies:  # broken variant: live = dependencies up
        checks = await _dependency_checks(services)
        if any(check["status"] == "down" for check in checks.values()):
            return JSONResponse({"status": "unavailable", "checks": checks}, status_code=503)
    return JSONResponse({"status": "ok"})


async def ready(services: ServicesDep) -> JSONResponse:
    s = services.settings
    if s.disable_readiness_checks:  # broken variant: always ready, even while draining
        return JSONResponse({"status": "ready", "checks": {}})
    if services.drain.draining:
        return JSONResponse({"status": "draining", "checks": {}}, status_code=503)
    if services.readiness_latched is not None:  # broken variant READINESS_LATCHES
        return JSONResponse({"status": "unavailable", "latched": True,
                             "checks": services.readiness_latched}, status_code=503)
    checks = await _dependency_checks(services)
    if s.readiness_deep_check:  # broken variant: a real generation call on every probe
        checks["upstream"] = await _check(lambda: _generation_ms(services), s.upstream_timeout_s)
    ok = all(check["status"] == "up" for check in checks.values())
    if s.readiness_latches and any(check["status"] == "down" for check in checks.values()):
        services.readiness_latched = checks
    return JSONResponse(
        {"status": "ready" if ok else "unavailable", "checks": checks},
        status_code=200 if ok else 503,
    )


async def detailed(services: ServicesDep) -> JSONResponse:
    s = services.settings
    names = ("database", "redis", "upstream")
    if s.health_detailed_static:  # broken variant: green whatever happens
        checks = {name: {"status": "healthy", "latency_ms": 0.0} for name in names}
        return JSONResponse({"status": "healthy", "checks": checks, "breakers": {}})
    timeout_s = s.health_detailed_budget_ms / 2000.0
    raw = await asyncio.gather(
        _check(lambda: services.db.ping(timeout_s), timeout_s),
        _check(services.cache.ping, timeout_s),
        _check(lambda: services.upstream.ping(timeout_s), timeout_s),
    )
    checks = {name: _graded(check, s.health_degraded_ms)
              for name, check in zip(names, raw, strict=True)}
    if checks["database"]["status"] == "healthy" and not services.db.ready:
        checks["database"] = {**checks["database"], "status": "degraded",
                              "error": "pool or schema not ready yet"}
    breakers = {name: breaker.state.name for name, breaker in services.breakers.items()}
    if s.disable_breaker:
        breakers["upstream"] = "DISABLED"
    if checks["database"]["status"] == "unhealthy":
        overall = "unhealthy"
    elif any(c["status"] != "healthy" for c in checks.values()) or any(
            state not in ("CLOSED", "DISABLED") for state in breakers.values()):
        overall = "degraded"
    else:
        overall = "healthy"
    return JSONResponse({"status": overall, "checks": checks, "breakers": breakers},
                        status_code=503 if overall == "unhealthy" else 200)


def _graded(check: dict[str, Any], degraded_ms: float) -> dict[str, Any]:
    """A readiness check in detailed health's words: no answer is unhealthy, a slow one
    degraded."""
    if check["status"] == "down":
        return {**check, "status": "unhealthy"}
    slow = check["latency_ms"] > degraded_ms
    return {**check, "status": "degraded" if slow else "healthy"}


async def _dependency_checks(services: Services) -> dict[str, dict[str, Any]]:
    """PostgreSQL and Redis checked concurrently, each within ``HEALTH_TIMEOUT_S``."""
    timeout_s = services.settings.health_timeout_s
    database, redis = await asyncio.gather(
        _check(lambda: services.db.ping(timeout_s), timeout_s),
        _check(services.cache.ping, timeout_s),
    )
    if database["status"] == "up" and not services.db.ready:
        database = {**database, "status": "starting", "error": "pool or schema not ready yet"}
    return {"database": database, "redis": redis}


async def _generation_ms(services: Services) -> float:
    loop = asyncio.get_running_loop()
    started = loop.time()
    await services.upstream.generate("readiness")
    return (loop.time() - started) * 1000


async def _check(probe: Callable[[], Awaitable[float]], timeout_s: float) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        async with asyncio.timeout(timeout_s):
            latency_ms = await probe()
    except Exception as exc:
        elapsed_ms = (loop.time() - started) * 1000
        timed_out = isinstance(exc, TimeoutError) or isinstance(exc.__cause__, TimeoutError)
        reason = "timeout" if timed_out else f"{type(exc).__name__}: {str(exc)[:120]}"
        return {"status": "down", "latency_ms": round(elapsed_ms, 3), "error": reason}
    return {"status": "up", "latency_ms": round(latency_ms, 3)}


async def metrics(services: ServicesDep) -> Response:
    return Response(services.metrics.render(), media_type=CONTENT_TYPE)


def register(app: FastAPI) -> None:
    app.add_api_route("/health/live", live, methods=["GET"])
    app.add_api_route("/health/ready", ready, methods=["GET"])
    app.add_api_route("/health/detailed", detailed, methods=["GET"])
    app.add_api_route("/metrics", metrics, methods=["GET"])
