"""A small load of answers and errors on any HTTP service: a path that answers 200 and a path
that answers 404 (``$GAUNTLET_TEST_PATHS``: "ok-path,missing-path"). The observed claims' e2e
target — a header or a log line owed to every answer, error answers included."""

from __future__ import annotations

import os

from locust import FastHttpUser, between, task

OK_PATH, MISSING_PATH = os.environ.get("GAUNTLET_TEST_PATHS", "/,/no-such-path").split(",")


class ProbeAndMiss(FastHttpUser):
    wait_time = between(0.02, 0.05)

    @task(3)
    def ok(self) -> None:
        self.client.get(OK_PATH, name=f"GET {OK_PATH}")

    @task(1)
    def missing(self) -> None:
        with self.client.get(MISSING_PATH, name=f"GET {MISSING_PATH}",
                             catch_response=True) as response:
            if response.status_code == 404:
                response.success()  # the answer is the point, not a failed request
