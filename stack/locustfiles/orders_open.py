"""Orders reads at a fixed arrival rate (open model): the scenario for schedule-driven runs.

Every task is a single request, so each request starts at its own slot of the schedule and
keeps that slot as its intended start (see ``scenarios/openmodel.py``).
"""

from __future__ import annotations

import uuid

from locust import task

from gauntlet.scenarios.openmodel import OpenModelUser
from stack.locustfiles._common import login


class OrdersOpenUser(OpenModelUser):
    def on_start(self) -> None:
        self.headers = login(self, f"open-{uuid.uuid4().hex[:12]}")
        super().on_start()

    @task
    def list_orders(self) -> None:
        self.client.get("/api/orders", headers=self.headers, name="GET /api/orders")
