"""Graceful shutdown: SIGTERM to the API under steady load; it must drain, not drop."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any, ClassVar

from chaos.experiments.base import Context, Experiment, Params, Record
from checks.shutdown import shutdown_verdicts
from checks.verdict import Verdict
from gauntlet.config import LoadConfig
from gauntlet.policy import Policy
from scenarios.runner import LoadRun


class ShutdownParams(Params):
    users: int = 20
    steady_s: float = 4.0
    after_exit_s: float = 1.0


class ShutdownExperiment(Experiment):
    name = "shutdown"
    description = "SIGTERM under load: readiness 503 at once, drain, exit 0, nothing lost"
    params_model = ShutdownParams
    broken_variant = "drain"
    policy: ClassVar[dict[str, Any]] = {
        "drain_delay_s": 2.0,
        "shutdown_deadline_s": 10.0,
        "upstream_latency_ms": 300.0,
        "rate_limit_generate": "1000000/hour",
        "rate_limit_api": "1000000/minute",
    }

    def run(self, ctx: Context) -> None:
        p: ShutdownParams = ctx.params
        api = ctx.stack.service("api")
        bound_s = ctx.policy.drain_delay_s + ctx.policy.shutdown_deadline_s + 5.0
        load = LoadConfig(scenario="slow_mix", users=p.users, spawn_rate=p.users,
                          duration_s=p.steady_s + bound_s + 2.0)

        def signal_and_watch(run: LoadRun, t0: float) -> None:
            ctx.sleep_until(t0, p.steady_s)
            sent = time.monotonic()
            ctx.timeline.emit("signal.sent", service="api", signal="SIGTERM")
            api.send_signal(signal.SIGTERM)
            done = threading.Event()

            def watch() -> None:
                code = api.wait(bound_s)
                if code is not None:
                    ctx.timeline.emit("process.exit", service="api", code=code,
                                      after_s=time.monotonic() - sent)
                done.set()

            threading.Thread(target=watch, name="exit-watch", daemon=True).start()
            done.wait(bound_s + 1.0)
            time.sleep(p.after_exit_s)
            run.stop()

        ctx.drive(load, during=signal_and_watch, probe_interval_s=0.05)

    def judge(self, record: Record, policy: Policy, params: Any) -> list[Verdict]:
        return shutdown_verdicts(record.samples, record.events, policy)
