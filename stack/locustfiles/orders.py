"""Orders only (list, get, create), at a brisk pace: the workload of the dependency experiments.

``GAUNTLET_DOUBLE_SUBMIT`` (0..1, default 0.2) is the share of creates sent twice with the same
``Idempotency-Key`` and item, as a client retrying after a lost answer would: an API that honours
the key stores one row, one that ignores it stores two, and the integrity check sees it.
"""

from __future__ import annotations

import os
import random
import uuid

from locust import FastHttpUser, between, task

from stack.locustfiles._common import login

DOUBLE_SUBMIT = float(os.environ.get("GAUNTLET_DOUBLE_SUBMIT", "0.2"))


class OrdersUser(FastHttpUser):
    wait_time = between(0.05, 0.15)

    def on_start(self) -> None:
        self.headers = login(self, f"orders-{uuid.uuid4().hex[:12]}")
        self.order_ids: list[int] = []
        self.client.get("/api/orders", headers=self.headers, name="GET /api/orders")

    @task(3)
    def list_orders(self) -> None:
        self.client.get("/api/orders", headers=self.headers, name="GET /api/orders")

    @task(2)
    def get_order(self) -> None:
        if self.order_ids:
            self.client.get(f"/api/orders/{random.choice(self.order_ids)}", headers=self.headers,
                            name="GET /api/orders/{id}")

    @task(2)
    def create_order(self) -> None:
        token = uuid.uuid4().hex
        body = {"item": f"gauntlet-{token}", "quantity": 1}
        headers = {**self.headers, "Idempotency-Key": token}
        sends = 2 if random.random() < DOUBLE_SUBMIT else 1
        for _ in range(sends):
            with self.client.post("/api/orders", json=body, headers=headers,
                                  name="POST /api/orders", context={"token": f"gauntlet-{token}"},
                                  catch_response=True) as response:
                if response.status_code in (200, 201):
                    self.order_ids.append(int(response.json()["id"]))
                    del self.order_ids[:-20]
