"""HS256 access tokens (PyJWT): issue on login, verify on every ``/api/*`` request.

The signing key is ``JWT_SECRET`` itself when it is at least 32 bytes (RFC 7518 §3.2's minimum
for HS256, which PyJWT enforces with a warning per call), and its SHA-256 digest otherwise — so
a short secret from a harness still yields a full-size key without a warning on every login.

The bearer token is read straight from the ASGI scope so the rate-limit middleware (which runs
before routing) and the route dependency share one verification per request.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import jwt
from starlette.types import Scope

MIN_KEY_BYTES = 32
_SUBJECT_KEY = "gauntlet.subject"
_UNSET = object()


def signing_key(secret: str) -> bytes:
    raw = secret.encode()
    return raw if len(raw) >= MIN_KEY_BYTES else hashlib.sha256(raw).digest()


class TokenService:
    """Mint and check access tokens; ``verify`` never raises."""

    algorithm = "HS256"

    def __init__(self, secret: str, ttl_s: int) -> None:
        self._key = signing_key(secret)
        self.ttl_s = ttl_s

    def issue(self, subject: str) -> str:
        now = int(time.time())
        claims = {"sub": subject, "iat": now, "exp": now + self.ttl_s}
        return jwt.encode(claims, self._key, algorithm=self.algorithm)

    def verify(self, token: str) -> str | None:
        """The token's subject, or ``None`` when it is malformed, forged or expired."""
        try:
            claims = jwt.decode(
                token, self._key, algorithms=[self.algorithm],
                options={"require": ["exp", "sub"]},
            )
        except jwt.PyJWTError:
            return None
        subject: Any = claims.get("sub")
        return str(subject) if isinstance(subject, str) and subject else None


def bearer_token(scope: Scope) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if any."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = str(value.decode("latin-1")).partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    return None


def subject_from_scope(scope: Scope, tokens: TokenService) -> str | None:
    """Verified subject of the request's bearer token; verified once, cached in the scope."""
    cached = scope.get(_SUBJECT_KEY, _UNSET)
    if cached is not _UNSET:
        return cached if isinstance(cached, str) else None
    token = bearer_token(scope)
    subject = tokens.verify(token) if token is not None else None
    scope[_SUBJECT_KEY] = subject
    return subject
