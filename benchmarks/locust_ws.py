"""The WebSocket generator benchmark's locustfile: each user connects once and then sends a
message and waits for its echo, as fast as one user can, one ``events.request`` per round trip.

Self-contained on purpose (``websocket-client``, Locust's own events; nothing of gauntlet's):
plain Locust (``python -m locust -f benchmarks/locust_ws.py``) and gauntlet's capture
(``python -m gauntlet.scenarios._locust_main -f ...``) run this same file, so their rates
compare, as for ``locust_static.py``. Run with ``--host ws://127.0.0.1:PORT`` (see
``benchmarks/ws_echo.py``). Under Locust's gevent patching the library's blocking socket
calls yield to the other users.
"""

from __future__ import annotations

import time

import _probe  # noqa: F401  (the load phase's CPU time, bare and captured alike)
import websocket
from locust import User, constant, task

MESSAGE = '{"op":"echo","body":"hello, bench"}'


class EchoUser(User):
    wait_time = constant(0)

    ws: websocket.WebSocket | None = None

    def on_start(self) -> None:
        self._connect()

    def on_stop(self) -> None:
        if self.ws is not None:
            self.ws.close()
            self.ws = None

    def _fire(self, name: str, started_s: float, t0: float, length: int,
              exception: BaseException | None = None) -> None:
        self.environment.events.request.fire(
            request_type="WS", name=name, response_time=(time.perf_counter() - t0) * 1000.0,
            response_length=length, response=None, context={}, exception=exception,
            start_time=started_s)

    def _connect(self) -> None:
        started_s, t0 = time.time(), time.perf_counter()
        try:
            self.ws = websocket.create_connection(f"{self.host}/echo", timeout=30)
        except (OSError, websocket.WebSocketException) as exc:
            self.ws = None
            self._fire("connect", started_s, t0, 0, exc)
        else:
            self._fire("connect", started_s, t0, 0)

    @task
    def echo(self) -> None:
        if self.ws is None:
            self._connect()
            return
        started_s, t0 = time.time(), time.perf_counter()
        try:
            self.ws.send(MESSAGE)
            reply = self.ws.recv()
        except (OSError, websocket.WebSocketException) as exc:
            self._fire("echo", started_s, t0, 0, exc)
            self.ws.close()
            self.ws = None
        else:
            self._fire("echo", started_s, t0, len(reply))
