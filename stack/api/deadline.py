"""The current request's deadline, readable by any code the request runs.

Why a context variable: the whole-request deadline (``REQUEST_DEADLINE_S``) is enforced by the
request middleware, but a dependency call deep inside must *know* it too — the upstream client
shortens its own timeout to what is left, so a slow upstream is seen by the breaker as a failure
and answered with the 503 fallback instead of being cut off as a bare 504 the breaker never saw.
"""

from __future__ import annotations

import contextvars
import math
import time

_deadline_at: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "request_deadline_at", default=None
)


def start(deadline_s: float | None) -> contextvars.Token[float | None]:
    """Set the deadline ``deadline_s`` from now (``None``: no deadline) for this context."""
    at = None if deadline_s is None else time.monotonic() + deadline_s
    return _deadline_at.set(at)


def reset(token: contextvars.Token[float | None]) -> None:
    _deadline_at.reset(token)


def remaining_s() -> float:
    """Seconds left before the deadline; ``inf`` when there is none."""
    at = _deadline_at.get()
    return math.inf if at is None else at - time.monotonic()
