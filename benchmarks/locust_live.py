"""The accuracy and coordinated-omission benchmarks' locustfile: ``GET /health/live`` on the
open model (a fixed arrival rate, each request stamped with its intended start).

Liveness does no I/O and is never rate limited, so what it measures is the path: Locust,
Toxiproxy's ``api`` proxy, uvicorn.
"""

from __future__ import annotations

from locust import task

from gauntlet.scenarios.openmodel import OpenModelUser


class LiveUser(OpenModelUser):
    network_timeout = 60.0
    connection_timeout = 60.0

    @task
    def live(self) -> None:
        self.client.get("/health/live", name="GET /health/live")
