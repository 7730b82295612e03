"""Rate limits under concurrency: many clients with distinct keys burst past their limit at
once; each must be cut at its own count, with a Retry-After, without touching anyone else."""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

import httpx

from chaos.burst import BurstClient, BurstRecorder, client_ip
from chaos.experiments.base import Context, Experiment, Params, Record
from chaos.faults import Fault
from checks.ratelimit import ratelimit_verdicts
from checks.verdict import Verdict
from gauntlet.policy import Policy, parse_rate
from gauntlet.samples import merge_raw

LIMITED = "/api/orders"


class RateLimitParams(Params):
    keys: int = 20
    extra: int = 5  # requests past the limit per key
    tolerance: int = 0
    store_down: bool = True


class RateLimitExperiment(Experiment):
    name = "ratelimit"
    description = "per-key limits under concurrency, Retry-After, exemptions, fail-open"
    params_model = RateLimitParams
    broken_variant = "rate_limit"
    checks_integrity = False
    policy: ClassVar[dict[str, Any]] = {"rate_limit_api": "10/5seconds"}

    def run(self, ctx: Context) -> None:
        asyncio.run(self._run(ctx))
        merge_raw(ctx.run_dir)

    async def _run(self, ctx: Context) -> None:
        p: RateLimitParams = ctx.params
        limit, window_s = parse_rate(ctx.policy.rate_limit_api)
        recorder = BurstRecorder(ctx.run_dir)
        limits = httpx.Limits(max_connections=p.keys * 2 + 4)
        run_tag = f"{int(time.time())}"
        try:
            async with httpx.AsyncClient(base_url=ctx.stack.base_url, timeout=10.0,
                                         limits=limits) as http:
                clients = [BurstClient(http, recorder, f"rl-{run_tag}-{i}", client_ip(i + 1))
                           for i in range(p.keys)]
                bystander = BurstClient(http, recorder, f"rl-{run_tag}-bystander",
                                        client_ip(p.keys + 1))
                await asyncio.gather(*(c.login() for c in [*clients, bystander]))
                ctx.timeline.emit("phase", name="burst")

                async def burst(c: BurstClient, phase: str) -> None:
                    for seq in range(1, limit + p.extra + 1):
                        await c.get(LIMITED, f"GET {LIMITED}",
                                    f"phase={phase};key={c.key};seq={seq}")

                async def gentle() -> None:
                    for seq in range(1, 4):
                        await bystander.get(LIMITED, f"GET {LIMITED}",
                                            f"phase=bystander;key={bystander.key};seq={seq}")
                        await asyncio.sleep(0.05)

                async def exempt() -> None:
                    c = clients[0]
                    for seq in range(1, limit + p.extra + 1):
                        await c.get("/health/live", "GET /health/live",
                                    f"phase=exempt;key={c.key};seq={seq}")
                        await c.get("/metrics", "GET /metrics",
                                    f"phase=exempt;key={c.key};seq={seq}")

                await asyncio.gather(*(burst(c, "burst") for c in clients), gentle(), exempt())
                ctx.timeline.emit("phase", name="after-window")
                await asyncio.sleep(window_s + 0.5)
                await asyncio.gather(*(c.get(LIMITED, f"GET {LIMITED}",
                                             f"phase=after;key={c.key};seq=1") for c in clients))
                if p.store_down:
                    fresh = [BurstClient(http, recorder, f"rl-{run_tag}-down-{i}",
                                         client_ip(p.keys + 10 + i)) for i in range(4)]
                    await asyncio.gather(*(c.login() for c in fresh))
                    with ctx.stack.faults(ctx.timeline).inject(Fault("redis", "down")):
                        await asyncio.sleep(0.3)
                        await asyncio.gather(*(burst(c, "store_down") for c in fresh))
        finally:
            recorder.close()

    def judge(self, record: Record, policy: Policy, params: Any) -> list[Verdict]:
        p: RateLimitParams = params
        limit, window_s = parse_rate(policy.rate_limit_api)
        return ratelimit_verdicts(record.samples, limit=limit, window_s=window_s,
                                  tolerance=p.tolerance)
