"""A concurrent burst of distinct clients over real HTTP (httpx, asyncio), recorded as samples.

Rate-limit verdicts need per-client request sequences ("client k's first 429 came at request
n"), which a closed Locust loop blurs. This sender runs in the harness process (no gevent here),
sends the requests the contract declares — with its auth step and its client header — and
writes rows in the same schema as Locust's capture (client, phase and seq in columns of their
own, the contract's headers as ``header:*`` columns) into ``raw/samples-burst.csv``, so the run
dir has one kind of samples whatever sent them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import ssl
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import h11
import httpx

from gauntlet.contract import Contract, Request
from gauntlet.samples import RAW_DIR
from gauntlet.scenarios.auth import AuthStep
from gauntlet.scenarios.columns import COLUMNS, header_column
from gauntlet.scenarios.fields import fill

_addresses = itertools.count(1)


def client_address(n: int) -> str:
    """RFC 2544 benchmarking addresses (198.18.0.0/15), as a header value only — never a
    target."""
    return f"198.19.{(n >> 8) & 0xFF}.{n & 0xFF}"


@dataclass(frozen=True)
class _Prepared:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None


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
        step = AuthStep.from_spec(auth.model_dump(by_alias=True))
        login = step.request(self.key, self.headers)
        response = await self.http.request(login.method, login.path, json=login.json_body,
                                           headers=login.headers)
        response.raise_for_status()
        header, value = step.credential(response.json())
        self.headers[header] = value

    def prepare(self, request: Request) -> _Prepared | None:
        """The request as this client sends it (templates filled, its headers); None for a
        request that needs an earlier write's id, which a burst never sends."""
        fields = {"client": self.key, "token": uuid.uuid4().hex}
        if "{id}" in request.path:
            return None
        headers = dict(self.headers)
        if not request.auth and self.contract.traffic.auth:
            headers.pop(self.contract.traffic.auth.header, None)
        headers.update(fill(request.headers, fields))
        body = fill(request.json_body, fields)
        return _Prepared(request.method, fill(request.path, fields), headers,
                         None if body is None else json.dumps(body).encode())

    async def send(self, name: str, request: Request, *, phase: str, seq: int
                   ) -> httpx.Response | None:
        prepared = self.prepare(request)
        if prepared is None:
            return None
        return await self._record(prepared.method, prepared.path, name, phase, seq,
                                  prepared.headers, prepared.body)

    async def send_at_once(self, name: str, request: Request, *, phase: str, count: int,
                           timeout_s: float = 10.0) -> list[int]:
        """``count`` copies of the request arriving together: a connection each is opened
        first, then every request is written in one pass with nothing awaited in between, and
        each sample starts when its bytes were handed to the socket — so the samples say when
        the requests left, not when a busy client got round to them. Returns the statuses (0:
        no answer)."""
        prepared = [self.prepare(request) for _ in range(count)]
        if any(p is None for p in prepared):
            return []
        url = urlsplit(str(self.http.base_url))
        tls = ssl.create_default_context() if url.scheme == "https" else None
        port = url.port or (443 if tls else 80)
        opened = await asyncio.gather(
            *(asyncio.wait_for(asyncio.open_connection(url.hostname, port, ssl=tls),
                               timeout_s) for _ in prepared),
            return_exceptions=True)
        host = url.netloc
        base = url.path.rstrip("/")
        wire: list[tuple[h11.Connection, float, float] | None] = []
        for p, conn in zip(prepared, opened, strict=True):
            assert p is not None
            if isinstance(conn, BaseException):
                wire.append(None)
                continue
            machine = h11.Connection(h11.CLIENT)
            fields = [("Host", host), ("Connection", "close"), *p.headers.items()]
            if p.body is not None:
                fields += [("Content-Type", "application/json"),
                           ("Content-Length", str(len(p.body)))]
            data = machine.send(h11.Request(method=p.method, target=base + p.path,
                                            headers=fields))
            if p.body is not None:
                data += machine.send(h11.Data(data=p.body))
            data += machine.send(h11.EndOfMessage())
            conn[1].write(data)  # the transport sends at once: no await between writes
            wire.append((machine, time.time(), time.perf_counter()))
        answers = await asyncio.gather(
            *(self._answer(w, c, timeout_s) for w, c in zip(wire, opened, strict=True)))
        statuses: list[int] = []
        for seq, (p, sent, (status, error, size, headers, done)) in enumerate(
                zip(prepared, wire, answers, strict=True), start=1):
            assert p is not None
            t_start = sent[1] if sent else time.time()
            latency_ms = (done - sent[2]) * 1000.0 if sent else 0.0
            self.recorder.record(p.method, name, t_start, latency_ms, status, error, size,
                                 client=self.key, phase=phase, seq=seq,
                                 response_headers=headers)
            statuses.append(status)
        return statuses

    @staticmethod
    async def _answer(sent: tuple[h11.Connection, float, float] | None,
                      conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | BaseException,
                      timeout_s: float) -> tuple[int, str, int, httpx.Headers | None, float]:
        """Read one answer: status, error class, body size, headers, when it was complete."""
        if sent is None or isinstance(conn, BaseException):
            return 0, "connect", 0, None, time.perf_counter()
        machine = sent[0]
        reader, writer = conn
        status, size, headers, error = 0, 0, None, ""
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    event = machine.next_event()
                    if event is h11.NEED_DATA:
                        machine.receive_data(await reader.read(65536))
                    elif isinstance(event, h11.Response):
                        status = event.status_code
                        headers = httpx.Headers([(k.decode("latin-1"), v.decode("latin-1"))
                                                 for k, v in event.headers])
                    elif isinstance(event, h11.Data):
                        size += len(event.data)
                    elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                        break
        except TimeoutError:
            error = "timeout"
        except (h11.ProtocolError, OSError):
            error = "reset"
        done = time.perf_counter()
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        if status and not error:
            error = "http" if status >= 400 else ""
        elif error:
            status = 0
        return status, error, size, headers, done

    async def get(self, path: str, *, phase: str, seq: int) -> httpx.Response | None:
        return await self._record("GET", path, f"GET {path}", phase, seq, self.headers, None)

    async def _record(self, method: str, path: str, name: str, phase: str, seq: int,
                      headers: dict[str, str], content: bytes | None
                      ) -> httpx.Response | None:
        started = time.time()
        t0 = time.perf_counter()
        status, error, size = 0, "", 0
        response: httpx.Response | None = None
        try:
            sent_headers = headers if content is None else {**headers,
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
