"""A concurrent burst of distinct clients over real HTTP (httpx, asyncio), recorded as samples.

Rate-limit verdicts need per-client request sequences ("client k's first 429 came at request
n"), which a closed Locust loop blurs. This sender runs in the harness process (no gevent here),
sends the requests the contract declares — with its auth step and its client header — and
writes rows in the same schema as Locust's capture (client, phase and seq in columns of their
own, the contract's headers as ``header:*`` columns) into ``raw/samples-burst.csv``, so the run
dir has one kind of samples whatever sent them.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from pathlib import Path
from typing import IO, Any

import httpx

from gauntlet.contract import Contract, Request
from gauntlet.samples import RAW_DIR
from gauntlet.scenarios.columns import COLUMNS, header_column
from gauntlet.scenarios.fields import dig, fill

_addresses = itertools.count(1)


def client_address(n: int) -> str:
    """RFC 2544 benchmarking addresses (198.18.0.0/15), as a header value only — never a
    target."""
    return f"198.19.{(n >> 8) & 0xFF}.{n & 0xFF}"


class BurstRecorder:
    def __init__(self, run_dir: Path, headers: list[str]) -> None:
        raw = run_dir / RAW_DIR
        raw.mkdir(parents=True, exist_ok=True)
        path = raw / "samples-burst.csv"
        self.headers = [h.lower() for h in headers]
        self._fh: IO[str] = path.open("w", encoding="utf-8")
        self._fh.write(",".join((*COLUMNS, *(header_column(h) for h in self.headers))) + "\n")

    def record(self, method: str, name: str, t_start_s: float, latency_ms: float, status: int,
               error: str, size: int, *, client: str, phase: str, seq: int,
               response_headers: httpx.Headers | None) -> None:
        cells = [(response_headers.get(h, "") if response_headers is not None else "")
                 .replace(",", ";") for h in self.headers]
        extra = "".join("," + c for c in cells)
        self._fh.write(f"{t_start_s:.6f},{t_start_s:.6f},{latency_ms:.4f},{method},{name},"
                       f"{status},{error},{size},burst,{client},,{phase},{seq}{extra}\n")

    def close(self) -> None:
        self._fh.close()


class BurstClient:
    """One simulated client (its own key, its own address) whose requests are all recorded."""

    def __init__(self, http: httpx.AsyncClient, recorder: BurstRecorder, contract: Contract,
                 key: str) -> None:
        self.http = http
        self.recorder = recorder
        self.contract = contract
        self.key = key
        self.headers: dict[str, str] = {}
        header = contract.traffic.client_header
        if header:
            self.headers[header] = client_address(next(_addresses))

    async def login(self) -> None:
        """Run the contract's auth step, if it has one; a refusal is an infrastructure fault
        of the run (the burst cannot be judged without its clients)."""
        auth = self.contract.traffic.auth
        if auth is None:
            return
        fields = {"client": self.key}
        response = await self.http.request(
            auth.method, fill(auth.path, fields), json=fill(auth.json_body, fields),
            headers={**self.headers, **fill(auth.headers, fields)})
        response.raise_for_status()
        self.headers[auth.header] = f"{auth.scheme}{dig(response.json(), auth.token)}"

    async def send(self, name: str, request: Request, *, phase: str, seq: int
                   ) -> httpx.Response | None:
        fields = {"client": self.key, "token": uuid.uuid4().hex}
        if "{id}" in request.path:
            return None  # a burst sends no request that needs an earlier write's id
        headers = dict(self.headers)
        if not request.auth and self.contract.traffic.auth:
            headers.pop(self.contract.traffic.auth.header, None)
        headers.update(fill(request.headers, fields))
        body = fill(request.json_body, fields)
        return await self._record(request.method, fill(request.path, fields), name, phase, seq,
                                  headers, body)

    async def get(self, path: str, *, phase: str, seq: int) -> httpx.Response | None:
        return await self._record("GET", path, f"GET {path}", phase, seq, self.headers, None)

    async def _record(self, method: str, path: str, name: str, phase: str, seq: int,
                      headers: dict[str, str], body: Any) -> httpx.Response | None:
        started = time.time()
        t0 = time.perf_counter()
        status, error, size = 0, "", 0
        response: httpx.Response | None = None
        try:
            content = None if body is None else json.dumps(body).encode()
            sent_headers = headers if body is None else {**headers,
                                                         "content-type": "application/json"}
            response = await self.http.request(method, path, headers=sent_headers,
                                               content=content)
            status, size = response.status_code, len(response.content)
            error = "http" if status >= 400 else ""
        except httpx.ConnectError:
            error = "connect"
        except httpx.TimeoutException:
            error = "timeout"
        except httpx.TransportError:
            error = "reset"
        latency_ms = (time.perf_counter() - t0) * 1000.0
        self.recorder.record(method, name, started, latency_ms, status, error, size,
                             client=self.key, phase=phase, seq=seq,
                             response_headers=response.headers if response is not None else None)
        return response
