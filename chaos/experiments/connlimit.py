"""Connections in flight per client address (:mod:`gauntlet.checks.connlimit`): what happens to
connection N+1.

A limit on connections counts requests being processed, so the experiment must hold requests in
flight: it adds a latency toxic (:data:`HOLD_MS`) on the claim's link — between the limiter and
the service behind it — then one client address opens ``limit`` + :func:`extra` connections and
writes the claim's request on each at once (:meth:`~gauntlet.chaos.burst.BurstClient.send_at_once`:
arrivals, not answers, set the pace). While they are held, another address sends a few of the
same request. Before all of it, a steady phase of paced requests from clients of their own,
judged like every experiment's.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import httpx
from pydantic import Field

from gauntlet.chaos.burst import BurstClient, BurstRecorder
from gauntlet.chaos.context import Context
from gauntlet.chaos.experiments.base import Experiment, Params, Record
from gauntlet.chaos.faults import Fault
from gauntlet.checks.connlimit import BYSTANDER, OVER, connlimit_verdicts
from gauntlet.checks.verdict import Verdict
from gauntlet.contract import ConnectionLimitClaim, Contract
from gauntlet.samples import merge_raw

HOLD_MS = 2000
STEADY_CLIENTS = 4
STEADY_EACH = 10
STEADY_S = 3.0


def extra(limit: int) -> int:
    """Connections past the limit: enough that "refused" is not one stray answer."""
    return max(5, limit // 4)


class ConnectionLimitParams(Params):
    hold_ms: int = Field(HOLD_MS, ge=200, le=10000)


class ConnectionLimitExperiment(Experiment):
    name = "connection_limit"
    description = "one address over its limit of connections in flight: the rest refused at once"
    claims = (ConnectionLimitClaim,)
    params_model = ConnectionLimitParams
    steady_latency = False  # its verdicts count answers; the held ones are slow by design

    def requests(self, target: Any) -> list[str]:
        claim: ConnectionLimitClaim = target
        return claim.requests[:1]

    def fault_start(self, record: Record, target: Any) -> float | None:
        held = next((e for e in record.events
                     if e.kind == "phase" and e.data.get("name") == OVER), None)
        return held.at_s if held is not None else None

    def links(self, target: Any) -> list[str]:
        claim: ConnectionLimitClaim = target
        return [claim.link, *claim.also_links]

    def recovered_by(self, record: Record, target: Any) -> float | None:
        return None  # the held phase ends the run: nothing follows it to judge

    def run(self, ctx: Context) -> None:
        asyncio.run(self._run(ctx))
        merge_raw(ctx.run_dir)

    async def _run(self, ctx: Context) -> None:
        p: ConnectionLimitParams = ctx.params
        claim: ConnectionLimitClaim = ctx.claim
        ctx.facts["hold_ms"] = p.hold_ms
        name = claim.requests[0]
        request = ctx.contract.traffic.requests[name]
        recorder = BurstRecorder(ctx.run_dir, ctx.contract.marker_headers())
        count = claim.limit + extra(claim.limit)
        tag = f"cl{int(time.time()) % 100000}"
        try:
            async with httpx.AsyncClient(base_url=ctx.stack.base_url, timeout=30.0,
                                         limits=httpx.Limits(max_connections=32)) as http:
                holder = BurstClient(http, recorder, ctx.contract, f"{tag}-holder")
                bystander = BurstClient(http, recorder, ctx.contract, f"{tag}-bystander")
                calm = [BurstClient(http, recorder, ctx.contract, f"{tag}-steady-{i}")
                        for i in range(STEADY_CLIENTS)]
                if request.auth:
                    await asyncio.gather(*(c.login() for c in [holder, bystander, *calm]))
                ctx.timeline.emit("phase", name="steady")
                start = time.monotonic()
                sends = [(c, seq) for seq in range(1, STEADY_EACH + 1) for c in calm]
                gap_s = STEADY_S / len(sends)

                async def at(i: int, c: BurstClient, seq: int) -> None:
                    await asyncio.sleep(max(0.0, start + i * gap_s - time.monotonic()))
                    await c.send(name, request, phase="steady", seq=seq)

                await asyncio.gather(*(at(i, c, s) for i, (c, s) in enumerate(sends)))
                injector = ctx.stack.faults(ctx.timeline)
                with contextlib.ExitStack() as held:
                    for link in [claim.link, *claim.also_links]:  # every instance behind it
                        held.enter_context(injector.inject(
                            Fault(link, "latency", {"latency": p.hold_ms})))
                    await asyncio.sleep(0.3)  # the toxic is on before the first byte
                    ctx.timeline.emit("phase", name=OVER)

                    async def aside() -> None:
                        await asyncio.sleep(min(0.3, p.hold_ms / 4000))
                        await asyncio.gather(*(bystander.send(name, request, phase=BYSTANDER,
                                                              seq=seq) for seq in range(1, 4)))

                    await asyncio.gather(
                        holder.send_at_once(name, request, phase=OVER, count=count,
                                            timeout_s=p.hold_ms / 1000 + 10.0),
                        aside())
        finally:
            recorder.close()

    def judge(self, record: Record, target: Any, params: Any, contract: Contract
              ) -> list[Verdict]:
        p: ConnectionLimitParams = params
        return connlimit_verdicts(record.samples, target, float(p.hold_ms))
