"""Serving the ledger and stopping it: SIGTERM drains, then the process exits 0 in a deadline.

The sequence, from the signal (the handler only sets an event; the serving coroutine acts):

1. readiness answers 503 ``draining`` at once (:class:`~tests.services.ledger.app.Drain`);
2. for ``LEDGER_DRAIN_S`` the server keeps serving and accepting, so clients that have not yet
   seen the failed readiness are still answered;
3. then uvicorn closes its listeners and waits for in-flight requests for what is left of
   ``LEDGER_STOP_DEADLINE_S``, cancels the rest, runs the lifespan's shutdown (pool, HTTP
   client); a second signal skips the waiting.

uvicorn's own signal handling is switched off (it would re-raise SIGTERM after a clean stop and
turn exit 0 into 143). ``LEDGER_NO_DRAIN=1`` installs nothing: SIGTERM keeps its default action
and the process dies on the spot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import signal
import time
from collections.abc import Iterator

import uvicorn

from tests.services.ledger.app import Drain, create_app
from tests.services.ledger.settings import Settings

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
LISTENER_CLOSE_MARGIN_S = 0.5  # what the lifespan shutdown may take after in-flight requests


def say(event: str, **fields: object) -> None:
    print(json.dumps({"service": "ledger", "event": event, **fields}), flush=True)


class _UvicornWithoutSignals(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class _Stop:
    """What the signal handler records: the first signal, and whether a second one came."""

    def __init__(self) -> None:
        self.requested = asyncio.Event()
        self.signal_name: str | None = None
        self.forced = False

    def on_signal(self, signum: int, server: uvicorn.Server) -> None:
        if self.requested.is_set():
            self.forced = True
            server.should_exit = server.force_exit = True
            return
        self.signal_name = signal.Signals(signum).name
        self.requested.set()


async def serve(settings: Settings) -> int:
    drain = Drain()
    config = uvicorn.Config(
        create_app(settings, drain), host=settings.host, port=settings.port, lifespan="on",
        log_level="warning", access_log=False, server_header=False, timeout_keep_alive=5,
        timeout_graceful_shutdown=int(settings.stop_deadline_s) or 1, backlog=2048,
    )
    server = _UvicornWithoutSignals(config)
    stop = _Stop()
    loop = asyncio.get_running_loop()
    if not settings.no_drain:
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, stop.on_signal, sig, server)

    serving = asyncio.create_task(server.serve(), name="uvicorn")
    asked = asyncio.create_task(stop.requested.wait(), name="stop-signal")
    await asyncio.wait({serving, asked}, return_when=asyncio.FIRST_COMPLETED)
    if serving.done():
        asked.cancel()
        serving.result()
        return 0 if server.started else 3

    started_s = time.monotonic()
    drain.begin()
    say("draining", signal=stop.signal_name, drain_s=settings.drain_s,
        deadline_s=settings.stop_deadline_s)
    await asyncio.wait({serving}, timeout=settings.drain_s)  # still serving and accepting
    left_s = max(0.0, settings.stop_deadline_s - (time.monotonic() - started_s)
                 - LISTENER_CLOSE_MARGIN_S)
    config.timeout_graceful_shutdown = max(1, math.floor(left_s))
    server.should_exit = True
    done, _ = await asyncio.wait({serving}, timeout=left_s + LISTENER_CLOSE_MARGIN_S)
    if not done:
        stop.forced = True
        server.force_exit = True
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
    say("stopped", signal=stop.signal_name, forced=stop.forced,
        after_s=round(time.monotonic() - started_s, 3))
    return 0
