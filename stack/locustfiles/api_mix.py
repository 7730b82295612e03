"""A realistic mix against the reference API: log in once, then list, read, create and generate.

Each simulated user presents its own client address (``X-Forwarded-For``), so per-client limits
behave as they would with real clients. Creates carry an ``Idempotency-Key`` and a unique item
token, recorded as the sample's ``token`` so the integrity check can read every acknowledged write
back from PostgreSQL.

Plain Locust works too: ``locust -f scenarios/api_mix.py --host http://127.0.0.1:PORT``.
"""

from __future__ import annotations

import random
import uuid

from locust import FastHttpUser, between, task

from stack.locustfiles._common import login


class ApiUser(FastHttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.headers = login(self, f"user-{uuid.uuid4().hex[:12]}")
        self.order_ids: list[int] = []

    @task(4)
    def list_orders(self) -> None:
        self.client.get("/api/orders", headers=self.headers, name="GET /api/orders")

    @task(3)
    def get_order(self) -> None:
        if not self.order_ids:
            return self.create_order()
        order_id = random.choice(self.order_ids)
        self.client.get(f"/api/orders/{order_id}", headers=self.headers,
                        name="GET /api/orders/{id}")

    @task(2)
    def create_order(self) -> None:
        token = uuid.uuid4().hex
        with self.client.post(
            "/api/orders",
            json={"item": f"gauntlet-{token}", "quantity": random.randint(1, 5)},
            headers={**self.headers, "Idempotency-Key": token},
            name="POST /api/orders",
            context={"token": f"gauntlet-{token}"},
            catch_response=True,
        ) as response:
            if response.status_code in (200, 201):
                self.order_ids.append(int(response.json()["id"]))
                del self.order_ids[:-20]

    @task(1)
    def generate(self) -> None:
        self.client.post(
            "/api/generate",
            json={"prompt": f"summarise order {random.randint(1, 1000)}"},
            headers=self.headers,
            name="POST /api/generate",
        )
