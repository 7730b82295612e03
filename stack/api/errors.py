"""Error responses: one JSON shape (``{"error": ...}``) for every failure the API answers.

Why one shape: the harness's checks look at status codes *and* bodies (a 503 fallback must say
``temporarily unavailable``, a busy pool ``database busy``); FastAPI's defaults
(``{"detail": ...}``, validation reports that echo the input — a password on /auth/login) are
replaced here so no handler has to remember. Dependency failures are converted at this
boundary, so routes raise domain errors and never build 503s by hand.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from stack.api.db import DatabaseBusy, DatabaseCircuitOpen, DatabaseUnavailable

# names the open circuit on a refusal by the database's breaker (LangSense: one breaker per
# component), so a client — and a contract's open_answer — can tell it from an AI fallback
CIRCUIT_OPEN_HEADER = "X-Circuit-Open"


class ApiError(Exception):
    """An answer that is not a success: status, JSON body and extra headers."""

    def __init__(
        self,
        status: int,
        error: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.body: dict[str, Any] = {"error": error, **extra}
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn exceptions into the house JSON shape."""

    async def api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return exc.response()

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return JSONResponse(
            {"error": str(exc.detail).lower()}, status_code=exc.status_code, headers=exc.headers
        )

    async def validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        # loc/msg/type only: the default also echoes "input", which may be a password
        detail = [
            {"loc": list(err.get("loc", ())), "msg": err.get("msg"), "type": err.get("type")}
            for err in exc.errors()
        ]
        return JSONResponse({"error": "invalid request", "detail": detail}, status_code=422)

    async def db_busy(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": "database busy"}, status_code=503)

    async def db_unavailable(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": "database unavailable"}, status_code=503)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(DatabaseBusy, db_busy)
    async def db_circuit_open(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DatabaseCircuitOpen)
        headers = {CIRCUIT_OPEN_HEADER: "database"}
        if exc.retry_after_s > 0:
            headers["Retry-After"] = str(max(1, round(exc.retry_after_s)))
        return JSONResponse({"error": "database unavailable", "circuit": "open"},
                            status_code=503, headers=headers)

    app.add_exception_handler(DatabaseUnavailable, db_unavailable)
    app.add_exception_handler(DatabaseCircuitOpen, db_circuit_open)
