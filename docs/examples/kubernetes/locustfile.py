"""The checkout's workload (a stand-in: your own locustfile goes in the ConfigMap)."""

from locust import FastHttpUser, between, task


class Shopper(FastHttpUser):
    wait_time = between(0.5, 1.5)

    @task
    def browse(self) -> None:
        self.client.get("/items", name="GET /items")
