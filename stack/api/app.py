"""The FastAPI application: routes, error handlers, middleware, and the resources' lifespan.

Middleware order (outermost first): request context (id, deadline, headers, metrics, log,
last-resort 500) → rate limit (``api`` limit, ``RateLimit-*`` headers) → FastAPI. The context
layer is outside the limiter so a 429 is logged, measured and carries the security headers.

The OpenAPI/docs routes are off: this service is a target for load, and every extra route is
one more thing the route-template metrics and rate limits would have to account for.

Usage::

    app = create_app(Settings.from_env(os.environ))
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from stack.api import auth, generate, health, orders, realtime, uploads
from stack.api.config import Settings
from stack.api.errors import install_error_handlers
from stack.api.middleware import RequestContextMiddleware
from stack.api.ratelimit import RateLimitMiddleware
from stack.api.services import Services
from stack.api.shutdown import DrainState


def create_app(settings: Settings, drain: DrainState | None = None) -> FastAPI:
    """Build the app; no I/O happens until the ASGI lifespan starts it."""
    services = Services.build(settings, drain or DrainState())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await services.start()
        try:
            yield
        finally:
            await hub.close()
            await services.close()

    app = FastAPI(
        title="gauntlet reference stack",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.services = services
    install_error_handlers(app)
    # routes are added to the app itself, not through include_router: FastAPI nests included
    # routers, and the route template (a metrics label) is read from the app's own route list
    for module in (health, auth, orders, generate, uploads):
        module.register(app)
    hub = realtime.register(app, settings)

    app.add_middleware(RateLimitMiddleware, limiter=services.limiter, tokens=services.tokens)
    app.add_middleware(
        RequestContextMiddleware,
        router=app.router,
        metrics=services.metrics,
        drain=services.drain,
        deadline_s=None if settings.disable_deadline else settings.request_deadline_s,
        request_id_on_errors=not settings.request_id_success_only,
        log_with_id=not settings.log_request_without_id,
        route_headers={
            "/api/generate": lambda: {
                "X-Circuit-State": services.upstream.circuit_state.value
            },
        },
    )
    return app
