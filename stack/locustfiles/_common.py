"""Pieces the reference-stack scenarios share (imported inside Locust only)."""

from __future__ import annotations

import itertools
from typing import Any

_clients = itertools.count(1)
PASSWORD = "gauntlet"


def next_client_ip() -> str:
    """A distinct client address per simulated user, from 198.18.0.0/15 (RFC 2544 benchmarking).

    Sent as ``X-Forwarded-For`` only — a header, never a target: the API sits behind a proxy and
    keys per-IP limits on it.
    """
    n = next(_clients)
    return f"198.18.{(n >> 8) & 0xFF}.{n & 0xFF}"


def login(user: Any, username: str) -> dict[str, str]:
    """Log ``user`` in; returns the headers every later request of that user carries."""
    headers = {"X-Forwarded-For": next_client_ip()}
    with user.client.post(
        "/auth/login",
        json={"username": username, "password": PASSWORD},
        headers=headers,
        name="POST /auth/login",
        catch_response=True,
    ) as response:
        if response.status_code == 200:
            headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        else:
            response.failure(f"login failed: {response.status_code}")
    return headers
