"""Staged closed-model shape, added to the locustfiles only when a suite declares ``stages``.

``GAUNTLET_STAGES`` is a JSON list of ``[duration_s, users, spawn_rate]``; the shape holds each
stage's user count until the stage ends (Locust ramps at the spawn rate), then stops the run.
"""

from __future__ import annotations

import json
import os
from typing import ClassVar

from locust import LoadTestShape

from gauntlet.scenarios.schedule import stage_at

if os.environ.get("GAUNTLET_STAGES"):

    class GauntletStages(LoadTestShape):
        stages: ClassVar[list[tuple[float, int, float]]] = [
            (float(d), int(u), float(r)) for d, u, r in json.loads(os.environ["GAUNTLET_STAGES"])
        ]

        def tick(self) -> tuple[int, float] | None:
            return stage_at(self.stages, self.get_run_time())
