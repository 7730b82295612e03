"""Reads, writes and slow generate calls, briskly: many requests in flight at any moment.

The graceful-shutdown experiment needs requests *in flight* when SIGTERM lands, and some that
take a while (the upstream's latency), to show whether they are finished or dropped.
"""

from __future__ import annotations

import random
import uuid

from locust import FastHttpUser, constant, task

from scenarios._common import login


class SlowMixUser(FastHttpUser):
    wait_time = constant(0.05)

    def on_start(self) -> None:
        self.headers = login(self, f"slow-{uuid.uuid4().hex[:12]}")

    @task(2)
    def generate(self) -> None:
        self.client.post("/api/generate", json={"prompt": f"p{random.randint(1, 99)}"},
                         headers=self.headers, name="POST /api/generate")

    @task(2)
    def create_order(self) -> None:
        token = uuid.uuid4().hex
        self.client.post("/api/orders", json={"item": f"gauntlet-{token}", "quantity": 1},
                         headers={**self.headers, "Idempotency-Key": token},
                         name="POST /api/orders", context={"ref": f"gauntlet-{token}"})

    @task(1)
    def list_orders(self) -> None:
        self.client.get("/api/orders", headers=self.headers, name="GET /api/orders")
