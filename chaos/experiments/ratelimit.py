"""Rate limits under concurrency: many clients with distinct keys burst past the claimed limit
at once; each must be cut at its own count, with a Retry-After, without touching anyone else;
exempt paths stay open; after the window the key is admitted again; with the limiter's store
down it fails open (or closed) as claimed.

A window limit is cut at a count, so each key sends its burst one request after another and the
verdict reads the position of its first refusal. A leaky bucket (nginx ``limit_req``) is cut by
arrival *rate*: a key sending one request at a time is never faster than the service behind the
limiter answers, which may well be slower than the claimed rate. So each key sends its whole
burst at once — ``burst`` (the bucket's size) plus what the rate drains while the burst is sent
and delivered — and the verdict bounds what was admitted by when each request could have
arrived.

Steady state. Before the first burst, clients of their own send a few paced requests, each
under its limit (:func:`steady_plan`); the run's steady-state verdict judges them, as every
experiment's judges the phase before its fault, so a stack already failing makes the limit's
verdicts inconclusive instead of passing or failing them — on errors alone
(:attr:`steady_latency` is False: these verdicts count refusals, they do not time answers)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from typing import Any

import httpx
from pydantic import Field

from gauntlet.chaos.burst import BurstClient, BurstRecorder
from gauntlet.chaos.context import Context
from gauntlet.chaos.experiments.base import Experiment, Params, Record
from gauntlet.chaos.faults import Fault
from gauntlet.checks.ratelimit import DELIVERY_S, ratelimit_verdicts
from gauntlet.checks.verdict import Verdict
from gauntlet.contract import Contract, RateLimitClaim, Request
from gauntlet.samples import merge_raw

BURST_REQUESTS = 300  # all keys together, so the burst fits in one window on a small machine
MAX_PER_KEY = 200
# leaky bucket: all keys' requests in flight at once; and how long sending a key's burst may take
LEAKY_BURST_REQUESTS = 240
LEAKY_SEND_S = 0.3
LEAKY_EXEMPT_ROUNDS = 10
# the steady phase: paced requests of clients of their own, each well under its limit, before
# the first burst — what tells a limiter that refuses from a stack that already fails
STEADY_S = 3.0
STEADY_REQUESTS = 24


def steady_plan(claim: RateLimitClaim) -> tuple[int, int]:
    """(clients, requests each) of the steady phase: each client stays at half its limit or
    under (one request for a leaky bucket, which admits ``burst`` at once); a limit keyed on
    nothing is one budget, so its steady phase spends at most half of it."""
    per_key = 1 if claim.algorithm == "leaky_bucket" else max(1, min(3, claim.count // 2))
    if claim.key == "none":
        return 1, per_key
    return math.ceil(STEADY_REQUESTS / per_key), per_key


def burst_size(claim: RateLimitClaim, extra: int) -> int:
    """Requests per key: past the count of a window; for a leaky bucket, past ``burst`` by
    what the rate drains while the burst is sent and delivered, so a limiter that is not there
    is seen admitting more than any bucket of the claim could."""
    if claim.algorithm == "leaky_bucket":
        return claim.burst + math.ceil(claim.rate_per_s * (LEAKY_SEND_S + DELIVERY_S)) \
            + extra
    return claim.count + extra


class RateLimitParams(Params):
    keys: int = Field(20, ge=1)
    extra: int = Field(5, ge=0)  # requests past the limit per key
    tolerance: int = Field(0, ge=0)
    store_down: bool = True
    # the longest this experiment waits out a window to see a limited key admitted again: a
    # production window of 15 minutes or an hour is stated, not waited for (that verdict then
    # says "not verified" and why)
    max_wait_s: float = Field(120.0, ge=0)


class RateLimitExperiment(Experiment):
    name = "ratelimit"
    description = "per-key limits under concurrency, Retry-After, exemptions, store failure"
    claims = (RateLimitClaim,)
    params_model = RateLimitParams
    # the limit's verdicts count refusals, they do not time answers; a steady p95 would need
    # 72+ requests of keys each under its limit (dozens of logins; for a limit keyed on nothing,
    # minutes of windows waited out): the steady phase asks whether the stack already failed
    steady_latency = False

    def requests(self, target: Any) -> list[str]:
        claim: RateLimitClaim = target
        return claim.requests[:1]  # the burst sends the claim's first request

    def links(self, target: Any) -> list[str]:
        claim: RateLimitClaim = target
        return [claim.store_link] if claim.store_link and claim.fails_open is not None else []

    def fault_start(self, record: Record, target: Any) -> float | None:
        """The steady phase ends where the first burst begins: the burst is this experiment's
        fault (its steady phase is paced traffic of clients of their own before it)."""
        burst = next((e for e in record.events
                      if e.kind == "phase" and e.data.get("name") == "burst"), None)
        return burst.at_s if burst is not None else None

    def recovered_by(self, record: Record, target: Any) -> float | None:
        return None  # the store outage is the last phase: nothing follows it to judge

    def unverifiable(self, target: Any, stack: Any) -> str | None:
        claim: RateLimitClaim = target
        if claim.algorithm == "leaky_bucket":
            size = burst_size(claim, 0)
            if size > MAX_PER_KEY:
                return (f"limit {claim.limit} with burst {claim.burst}: a burst of {size} "
                        f"requests per key is beyond this experiment (at most {MAX_PER_KEY})")
            return None
        if claim.count > MAX_PER_KEY:
            return (f"limit {claim.limit}: a burst past {claim.count} requests per key is "
                    f"beyond this experiment (at most {MAX_PER_KEY})")
        return None

    def run(self, ctx: Context) -> None:
        asyncio.run(self._run(ctx))
        merge_raw(ctx.run_dir)

    async def _run(self, ctx: Context) -> None:
        p: RateLimitParams = ctx.params
        claim: RateLimitClaim = ctx.claim
        name = claim.requests[0]
        request = ctx.contract.traffic.requests[name]
        window_s = claim.window_s
        leaky = claim.algorithm == "leaky_bucket"
        size = burst_size(claim, p.extra)
        recorder = BurstRecorder(ctx.run_dir, ctx.contract.marker_headers())
        # the whole burst must fit in one window: fewer keys for a larger limit
        keys = (1 if claim.key == "none" else
                min(p.keys, max(1, LEAKY_BURST_REQUESTS // size)) if leaky else
                min(p.keys, max(4, BURST_REQUESTS // size)))
        limits = httpx.Limits(max_connections=keys * 2 + 4)
        tag = f"rl{int(time.time()) % 100000}"
        try:
            async with httpx.AsyncClient(base_url=ctx.stack.base_url, timeout=10.0,
                                         limits=limits) as http:
                clients = [BurstClient(http, recorder, ctx.contract, f"{tag}-{i}")
                           for i in range(keys)]
                bystander = BurstClient(http, recorder, ctx.contract, f"{tag}-bystander")
                n_steady, per_key = steady_plan(claim)
                calm = [BurstClient(http, recorder, ctx.contract, f"{tag}-steady-{i}")
                        for i in range(n_steady)]
                everyone = [*clients, bystander] if claim.key != "none" else clients
                if request.auth:  # a burst of the auth step itself must not log in first
                    await asyncio.gather(*(c.login() for c in [*everyone, *calm]))
                await self._steady(ctx, calm, per_key, name, request, claim, p.max_wait_s)
                ctx.timeline.emit("phase", name="burst")

                limiting = asyncio.Event()  # a burst key has been refused: the limit is on

                async def one(c: BurstClient, phase: str, seq: int) -> None:
                    answer = await c.send(name, request, phase=phase, seq=seq)
                    if answer is not None and answer.status_code == claim.status:
                        limiting.set()

                async def burst(c: BurstClient, phase: str) -> None:
                    if leaky:  # the whole burst at once: arrivals, not answers, set the pace
                        got = await c.send_at_once(name, request, phase=phase, count=size)
                        if claim.status in got:
                            limiting.set()
                        return
                    for seq in range(1, size + 1):
                        await one(c, phase, seq)

                async def gentle() -> None:
                    # the bystander speaks while the burst keys are being refused: only then
                    # does its success say the limit is per key. It waits for the first 429,
                    # or for the burst to end without one (a missing limiter), never for the
                    # claim's window: an hourly limit held a broken variant's run an hour
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(limiting.wait(), timeout=window_s)
                    for seq in range(1, 4):
                        await bystander.send(name, request, phase="bystander", seq=seq)
                        await asyncio.sleep(0.05)

                async def exempt() -> None:
                    c = clients[0]
                    for seq in range(1, (LEAKY_EXEMPT_ROUNDS if leaky else size) + 1):
                        for path in claim.exempt:
                            await c.get(path, phase="exempt", seq=seq)

                async def bursts() -> None:
                    await asyncio.gather(*(burst(c, "burst") for c in clients))
                    limiting.set()  # ended: the bystander waits no longer

                side = [gentle()] if claim.key != "none" else []
                await asyncio.gather(bursts(), *side, exempt())
                if window_s + 0.5 <= p.max_wait_s:
                    ctx.timeline.emit("phase", name="after-window")
                    await asyncio.sleep(window_s + 0.5)
                    await asyncio.gather(*(c.send(name, request, phase="after", seq=1)
                                           for c in clients))
                if p.store_down and claim.store_link and claim.fails_open is not None:
                    fresh = [BurstClient(http, recorder, ctx.contract, f"{tag}-down-{i}")
                             for i in range(4)]
                    if request.auth:
                        await asyncio.gather(*(c.login() for c in fresh))
                    injector = ctx.stack.faults(ctx.timeline)
                    with injector.inject(Fault(claim.store_link, "down")):
                        await asyncio.sleep(0.3)
                        await asyncio.gather(*(burst(c, "store_down") for c in fresh))
        finally:
            recorder.close()

    @staticmethod
    async def _steady(ctx: Context, calm: list[BurstClient], per_key: int, name: str,
                      request: Request, claim: RateLimitClaim, max_wait_s: float) -> None:
        """The steady phase: ``per_key`` requests from each client, paced evenly over
        :data:`STEADY_S` (each sent at its moment, not after the previous answer). A limit keyed
        on nothing is one budget: the phase is waited out before the burst (a window, or the
        bucket draining) when that fits in ``max_wait_s``; else the verdict counts the steady
        requests still in the window into the budget."""
        ctx.timeline.emit("phase", name="steady")
        sends = [(c, seq) for seq in range(1, per_key + 1) for c in calm]
        gap_s = STEADY_S / max(1, len(sends))
        start = time.monotonic()

        async def at(i: int, c: BurstClient, seq: int) -> None:
            await asyncio.sleep(max(0.0, start + i * gap_s - time.monotonic()))
            await c.send(name, request, phase="steady", seq=seq)

        await asyncio.gather(*(at(i, c, seq) for i, (c, seq) in enumerate(sends)))
        if claim.key == "none":
            drain_s = (len(sends) / claim.rate_per_s if claim.algorithm == "leaky_bucket"
                       else claim.window_s) + 0.5
            if drain_s <= max_wait_s:
                await asyncio.sleep(drain_s)

    def judge(self, record: Record, target: Any, params: Any, contract: Contract
              ) -> list[Verdict]:
        p: RateLimitParams = params
        return ratelimit_verdicts(record.samples, target, tolerance=p.tolerance,
                                  max_wait_s=p.max_wait_s, store_down=p.store_down)
