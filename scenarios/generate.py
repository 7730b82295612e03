"""``POST /api/generate`` only: the workload of the circuit-breaker and upstream-retry experiments.

Each sample's ``ref`` records the API's own account of the answer,
``<X-Fallback>|<X-Circuit-State>`` (e.g. ``circuit-open|open``, ``|closed``), so the breaker
verdicts can tell a fast fallback from a fast real answer without trusting timing alone.
"""

from __future__ import annotations

import random
import uuid

from locust import FastHttpUser, constant, task

from scenarios._common import login, set_ref


class GenerateUser(FastHttpUser):
    wait_time = constant(0.1)
    network_timeout = 60.0
    connection_timeout = 60.0

    def on_start(self) -> None:
        self.headers = login(self, f"gen-{uuid.uuid4().hex[:12]}")

    @task
    def generate(self) -> None:
        with self.client.post("/api/generate",
                              json={"prompt": f"summarise order {random.randint(1, 1000)}"},
                              headers=self.headers, name="POST /api/generate",
                              catch_response=True) as response:
            headers = response.headers or {}
            set_ref(response, f"{headers.get('x-fallback', '')}|"
                              f"{headers.get('x-circuit-state', '')}")
