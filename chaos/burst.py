"""A concurrent burst of distinct clients over real HTTP (httpx, asyncio), recorded as samples.

Rate-limit verdicts need per-client request sequences ("key k's first 429 came at request n"),
which a closed Locust loop blurs. This sender runs in the harness process (no gevent here) and
writes rows in the same schema as Locust's capture, into ``raw/samples-burst.csv``, so the
run dir has one kind of samples whatever sent them.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import IO

import httpx

from gauntlet.samples import RAW_DIR
from scenarios.columns import COLUMNS


class BurstRecorder:
    def __init__(self, run_dir: Path) -> None:
        raw = run_dir / RAW_DIR
        raw.mkdir(parents=True, exist_ok=True)
        path = raw / "samples-burst.csv"
        new = not path.exists()
        self._fh: IO[str] = path.open("a", encoding="utf-8")
        if new:
            self._fh.write(",".join(COLUMNS) + "\n")

    def record(self, method: str, name: str, t_start_s: float, latency_ms: float, status: int,
               error: str, size: int, ref: str) -> None:
        self._fh.write(f"{t_start_s:.6f},{t_start_s:.6f},{latency_ms:.4f},{method},{name},"
                       f"{status},{error},{size},burst,{ref}\n")

    def close(self) -> None:
        self._fh.close()


class BurstClient:
    """One simulated client (own user, own address) whose requests are all recorded."""

    def __init__(self, http: httpx.AsyncClient, recorder: BurstRecorder, key: str,
                 client_ip: str) -> None:
        self.http = http
        self.recorder = recorder
        self.key = key
        self.headers = {"X-Forwarded-For": client_ip}

    async def login(self, password: str = "gauntlet") -> None:
        response = await self.http.post("/auth/login",
                                        json={"username": self.key, "password": password},
                                        headers=self.headers)
        response.raise_for_status()
        self.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    async def get(self, path: str, name: str, ref: str) -> httpx.Response | None:
        started = time.time()
        t0 = time.perf_counter()
        status, error, size, retry_after = 0, "", 0, ""
        response: httpx.Response | None = None
        try:
            response = await self.http.get(path, headers=self.headers)
            status, size = response.status_code, len(response.content)
            retry_after = response.headers.get("retry-after", "")
            error = "http" if status >= 400 else ""
        except httpx.ConnectError:
            error = "connect"
        except httpx.TimeoutException:
            error = "timeout"
        except httpx.TransportError:
            error = "reset"
        latency_ms = (time.perf_counter() - t0) * 1000.0
        self.recorder.record("GET", name, started, latency_ms, status, error, size,
                             f"{ref};retry_after={retry_after}")
        return response


def client_ip(n: int) -> str:
    """RFC 2544 benchmarking addresses, as ``X-Forwarded-For`` only (see scenarios/_common)."""
    return f"198.19.{(n >> 8) & 0xFF}.{n & 0xFF}"


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]
