"""A small load on one static file: the target of the remote-worker tests (any HTTP server)."""

from __future__ import annotations

from locust import FastHttpUser, between, task


class HelloUser(FastHttpUser):
    wait_time = between(0.02, 0.05)

    @task
    def hello(self) -> None:
        self.client.get("/hello.txt", name="GET /hello.txt")
