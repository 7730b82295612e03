"""The generator benchmarks' locustfile: one static file as fast as one user can ask for it.

Plain Locust (``python -m locust -f benchmarks/locust_static.py``) and gauntlet's capture
(``python -m gauntlet.scenarios._locust_main -f ...``) run this same file, so their rates compare;
``_probe`` notes the CPU time of the load phase of both.
"""

from __future__ import annotations

import _probe  # noqa: F401  (the load phase's CPU time, bare and captured alike)
from locust import FastHttpUser, constant, task


class StaticUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def hello(self) -> None:
        self.client.get("/hello.txt", name="GET /hello.txt")
