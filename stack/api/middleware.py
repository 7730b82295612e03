"""The outermost request layer: id, deadline, security headers, metrics, log line, last-resort 500.

A pure ASGI middleware rather than Starlette's ``BaseHTTPMiddleware``: that one runs the app in
a separate task, which breaks cancellation (the drain's cut-off count) and context variables
(the request id and deadline seen by handlers). Everything that must hold for *every* response
— including 429s from the limiter and 500s from a crash — is done here, once:

- ``x-request-id``: echoed when the client sent a sane one, else a fresh uuid4.
- Deadline: ``REQUEST_DEADLINE_S`` for the whole request; past it, a 504 if nothing was sent yet.
- Security headers, and ``Cache-Control: no-store`` on ``/api/*`` and ``/auth/*``.
- ``http_requests_total`` / ``http_request_duration_seconds`` labelled with the route *template*
  (``/api/orders/{order_id}``), resolved up front so even responses produced before routing
  (429, 503 from the limiter) carry it; unknown paths share the label ``unmatched``.
- One JSON log line per request; an unhandled exception is logged with its traceback and
  answered ``{"error": "internal error", "request_id": ...}`` — never a trace in the body.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping

from starlette.routing import Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stack.api import deadline
from stack.api.logs import log_event, request_id_var
from stack.api.metrics import Metrics
from stack.api.shutdown import DrainState

logger = logging.getLogger("stack.api.request")

SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"default-src 'none'"),
)
NO_STORE_PREFIXES = ("/api/", "/auth/")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
STATUS_CUT_OFF = 499  # a request cancelled by the shutdown deadline, in logs and metrics

RouteHeaders = Mapping[str, Callable[[], dict[str, str]]]


def resolve_route(router: Router, scope: Scope) -> str:
    """The path template of the route this request will hit, or ``unmatched``."""
    partial: str | None = None
    for route in router.routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return str(getattr(route, "path", "unmatched"))
        if match is Match.PARTIAL and partial is None:
            partial = str(getattr(route, "path", "unmatched"))
    return partial or "unmatched"


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = str(value.decode("latin-1"))
            if _REQUEST_ID.match(candidate):
                return candidate
            break
    return str(uuid.uuid4())


class RequestContextMiddleware:
    """See module docstring. ``route_headers`` adds per-route headers to every response."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        router: Router,
        metrics: Metrics,
        drain: DrainState,
        deadline_s: float | None,
        route_headers: RouteHeaders | None = None,
        request_id_on_errors: bool = True,
        log_with_id: bool = True,
    ) -> None:
        self.app = app
        # broken variants (REQUEST_ID_SUCCESS_ONLY, LOG_REQUEST_WITHOUT_ID): the id only on
        # answers under 400, as when a route rather than this layer sets it; the request line
        # logged after the id's context is reset, as when a logger runs outside the request
        self.request_id_on_errors = request_id_on_errors
        self.log_with_id = log_with_id
        self.router = router
        self.metrics = metrics
        self.drain = drain
        self.deadline_s = deadline_s
        self.route_headers = route_headers or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        route = resolve_route(self.router, scope)
        method = scope["method"]
        path: str = scope["path"]
        rid_token = request_id_var.set(request_id)
        deadline_token = deadline.start(self.deadline_s)
        status = 500
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message = {**message, "headers": self._headers(message, request_id, route, path)}
            await send(message)

        async def answer(code: int, body: dict[str, object]) -> None:
            payload = json.dumps(body).encode()
            await send_wrapper({
                "type": "http.response.start",
                "status": code,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode())],
            })
            await send_wrapper({"type": "http.response.body", "body": payload})

        self.drain.inflight += 1
        self.metrics.inflight_requests.inc()
        try:
            timeout = asyncio.timeout(self.deadline_s)
            try:
                async with timeout:
                    await self.app(scope, receive, send_wrapper)
            except TimeoutError:
                if not timeout.expired():
                    raise
                log_event(logger, logging.WARNING, "deadline_exceeded", route=route,
                          deadline_s=self.deadline_s, response_started=response_started)
                if not response_started:
                    await answer(504, {"error": "deadline exceeded", "request_id": request_id})
        except asyncio.CancelledError:
            if not self.drain.draining:
                raise
            # cut off by the shutdown deadline: say so (503, not uvicorn's plain-text 500), and
            # end the task normally — uvicorn does not wait on it, and re-raising would only
            # log the cancellation as an "Exception in ASGI application" traceback
            self.drain.cut_off += 1
            status = STATUS_CUT_OFF
            if not response_started:
                try:
                    await answer(503, {"error": "shutting down", "request_id": request_id})
                except Exception:
                    raise asyncio.CancelledError from None
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
        except Exception:
            logger.exception("unhandled error", extra={"gauntlet_fields": {"route": route}})
            if not response_started:
                await answer(500, {"error": "internal error", "request_id": request_id})
        finally:
            duration_s = time.perf_counter() - started
            self.drain.inflight -= 1
            self.metrics.inflight_requests.dec()
            self.metrics.http_requests_total.labels(method=method, route=route,
                                                    status=str(status)).inc()
            self.metrics.http_request_duration_seconds.labels(method=method,
                                                              route=route).observe(duration_s)
            if not self.log_with_id:
                request_id_var.reset(rid_token)
            log_event(logger, logging.INFO, "request", method=method, route=route,
                      status=status, duration_ms=round(duration_s * 1000, 3))
            deadline.reset(deadline_token)
            if self.log_with_id:
                request_id_var.reset(rid_token)

    def _headers(
        self, message: Message, request_id: str, route: str, path: str
    ) -> list[tuple[bytes, bytes]]:
        headers = list(message.get("headers", []))
        present = {name.lower() for name, _ in headers}
        extra = list(SECURITY_HEADERS)
        if self.request_id_on_errors or int(message["status"]) < 400:
            extra.append((b"x-request-id", request_id.encode()))
        if path.startswith(NO_STORE_PREFIXES):
            extra.append((b"cache-control", b"no-store"))
        hook = self.route_headers.get(route)
        if hook is not None:
            extra.extend((k.lower().encode(), v.encode()) for k, v in hook().items())
        headers.extend((name, value) for name, value in extra if name not in present)
        return headers
