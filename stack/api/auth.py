"""Login and the bearer-token guard of ``/api/*``.

There are no user records: any username logs in with ``STACK_PASSWORD``, because load tests need
many distinct users (each with its own rate-limit budget) without seeding a table. What is
real is everything a check can observe: the login limit per client IP, 401 on a wrong password
or a missing/forged/expired token, and HS256 tokens with ``sub`` = username.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel, Field

from stack.api.errors import ApiError
from stack.api.ratelimit import client_ip, enforce
from stack.api.services import ServicesDep
from stack.api.tokens import subject_from_scope


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=128)
    password: str = Field(max_length=256)


async def current_user(request: Request, services: ServicesDep) -> str:
    """The verified token subject, or 401."""
    subject = subject_from_scope(request.scope, services.tokens)
    if subject is None:
        raise ApiError(401, "unauthorized", headers={"WWW-Authenticate": "Bearer"})
    return subject


CurrentUser = Annotated[str, Depends(current_user)]


async def login_limit(request: Request, services: ServicesDep) -> None:
    ip = client_ip(request.scope, services.settings.trust_proxy_headers)
    await enforce(request, services.limiter, "login", f"ip:{ip}")


async def login(body: LoginIn, services: ServicesDep) -> dict[str, object]:
    expected = services.settings.stack_password.encode()
    if not hmac.compare_digest(body.password.encode(), expected):
        raise ApiError(401, "invalid credentials")
    return {
        "access_token": services.tokens.issue(body.username),
        "token_type": "bearer",
        "expires_in": services.tokens.ttl_s,
    }


def register(app: FastAPI) -> None:
    app.add_api_route("/auth/login", login, methods=["POST"], dependencies=[Depends(login_limit)])
