"""Graceful shutdown: SIGTERM/SIGINT start a drain, the server stops within a bound, exit 0.

The sequence, measured from the signal (the uvicorn pattern — the handler only sets a flag):

1. ``t = 0``: the handler records the time in :class:`DrainState`. ``/health/ready`` reads that
   state and answers 503 ``draining`` from this instant, so a load balancer stops routing here.
2. ``0 .. DRAIN_DELAY_S``: the server keeps serving *and accepting* — clients that have not yet
   seen the failed readiness probe must not get connection refused.
3. ``DRAIN_DELAY_S``: the server tick sets ``should_exit``; uvicorn closes the listeners, asks
   idle keep-alive connections to close and waits for in-flight requests with
   ``timeout_graceful_shutdown`` set to whatever is left of ``SHUTDOWN_DEADLINE_S``.
4. At the deadline uvicorn cancels what is left; the request middleware counts those as cut off.
   The app's lifespan then closes the DB pool, Redis and the HTTP client, and ``__main__`` logs
   how many requests were cut off and returns 0.

Unlike ``uvicorn.Server`` we do not re-raise the captured signal after shutdown: that would turn
a clean drain into death-by-SIGTERM (exit status 143). A second SIGINT forces an immediate exit,
as in uvicorn. ``DISABLE_DRAIN=1`` (broken variant) leaves SIGTERM/SIGINT at their default
action, so the process dies at once with in-flight requests lost.

The drain timer lives in ``on_tick``, which uvicorn already runs every 100 ms to poll
``should_exit``: the step after the delay is taken from the event loop, never from the handler.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType

import uvicorn

from stack.api.logs import log_event

logger = logging.getLogger("stack.api.shutdown")

HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass
class DrainState:
    """Shared between the server (which starts the drain) and the app (which reports it)."""

    started_at_s: float | None = None  # time.monotonic() of the first signal
    signal_name: str | None = None
    inflight: int = 0  # maintained by the request middleware
    cut_off: int = 0  # requests cancelled by the shutdown deadline

    @property
    def draining(self) -> bool:
        return self.started_at_s is not None

    def begin(self, signum: int) -> bool:
        """Start draining; return False if a drain was already under way."""
        if self.started_at_s is not None:
            return False
        self.started_at_s = time.monotonic()
        self.signal_name = signal.Signals(signum).name
        return True


class GracefulServer(uvicorn.Server):
    """``uvicorn.Server`` with a drain delay before shutdown and a deadline from the signal."""

    def __init__(
        self,
        config: uvicorn.Config,
        *,
        drain: DrainState,
        drain_delay_s: float,
        deadline_s: float,
        drain_enabled: bool = True,
    ) -> None:
        super().__init__(config)
        self.drain = drain
        self.drain_delay_s = drain_delay_s
        self.deadline_s = deadline_s
        self.drain_enabled = drain_enabled
        self._announced = False
        # bound the in-flight wait even for a shutdown not caused by a signal
        config.timeout_graceful_shutdown = deadline_s  # type: ignore[assignment]

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Install our handlers (or the default action, when draining is disabled)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handler = self.handle_exit if self.drain_enabled else signal.SIG_DFL
        previous = {sig: signal.signal(sig, handler) for sig in HANDLED_SIGNALS}
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Signal handler: record the drain start; nothing else happens here."""
        if not self.drain.begin(sig) and sig == signal.SIGINT:
            self.force_exit = True
            self.should_exit = True

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            port = self.config.port
            for server in getattr(self, "servers", []):
                for sock in server.sockets or []:
                    port = sock.getsockname()[1]
            log_event(logger, logging.INFO, "listening", host=self.config.host, port=port,
                      drain=self.drain_enabled)

    async def on_tick(self, counter: int) -> bool:
        self._advance_drain()
        return await super().on_tick(counter)

    def _advance_drain(self) -> None:
        started = self.drain.started_at_s
        if started is None or self.should_exit:
            return
        elapsed = time.monotonic() - started
        if not self._announced:
            self._announced = True
            log_event(logger, logging.INFO, "drain_started", signal=self.drain.signal_name,
                      drain_delay_s=self.drain_delay_s, deadline_s=self.deadline_s,
                      inflight=self.drain.inflight)
        if elapsed >= self.drain_delay_s:
            grace_s = max(0.0, self.deadline_s - elapsed)
            self.config.timeout_graceful_shutdown = grace_s  # type: ignore[assignment]
            log_event(logger, logging.INFO, "listeners_closing", inflight=self.drain.inflight,
                      grace_s=round(grace_s, 3))
            self.should_exit = True
