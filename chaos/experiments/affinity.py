"""Affinity: sessions through a balancer stay on the instance that began them
(:mod:`gauntlet.checks.affinity`).

No fault: the balancer's choice is what is tested, under the contract's realtime load. Each
simulated client opens one short session after another (a handshake, then ``messages``
acknowledged messages, then it closes), so a run of seconds holds hundreds of sessions, each of
several requests that a balancer without affinity spreads over the instances. The harness's own
Toxiproxy counts the bytes of requests each instance received over the load (its
``-proxy-metrics`` counters, read before and after): the evidence that the balancer spread the
sessions at all. Requests, not answers: the prober's scrapes of the service's metrics come
through the balancer from one address, and their answers outweighed a run's sessions (93 % of
the bytes on one instance, where the requests were spread evenly).
Nothing here knows the service's paths or frames: they are the contract's.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from gauntlet.boot import Stack
from gauntlet.chaos.context import Context
from gauntlet.chaos.experiments.base import Experiment, Params, Record
from gauntlet.checks.affinity import affinity_verdicts
from gauntlet.checks.verdict import Verdict
from gauntlet.contract import AffinityClaim, Contract


class AffinityParams(Params):
    users: int = Field(20, ge=2)
    duration_s: float = Field(10.0, gt=0)
    # acknowledged messages per session before it closes: a short session, so many of them
    messages: int = Field(1, ge=1)


class AffinityExperiment(Experiment):
    name = "affinity"
    description = ("sessions through the balancer: each stays on the instance that began it, "
                   "every instance serving some")
    claims = (AffinityClaim,)
    params_model = AffinityParams
    steady_latency = False

    def requests(self, target: Any) -> list[str]:
        return []  # realtime samples, not declared requests: the check picks them by kind

    def links(self, target: Any) -> list[str]:
        claim: AffinityClaim = target
        return list(claim.instances)

    def fault_start(self, record: Record, target: Any) -> float | None:
        return None  # no fault: no steady phase before one

    def recovered_by(self, record: Record, target: Any) -> float | None:
        return None

    def unverifiable(self, target: Any, stack: Stack) -> str | None:
        if stack.toxiproxy is None:
            return ("this stack has no Toxiproxy on the instances' links: what each instance "
                    "served cannot be counted")
        return None

    def run(self, ctx: Context) -> None:
        p: AffinityParams = ctx.params
        claim: AffinityClaim = ctx.claim
        assert ctx.stack.toxiproxy is not None  # unverifiable() said so otherwise
        before = ctx.stack.toxiproxy.bytes_sent_upstream()
        load = ctx.realtime_load(users=p.users, duration_s=p.duration_s, messages=p.messages)
        with ctx.prober().running(), load as run:
            run.wait(on_tick=ctx.on_tick)
        after = ctx.stack.toxiproxy.bytes_sent_upstream()
        if before is None or after is None:
            ctx.facts["affinity"] = {
                "unseen": f"the Toxiproxy at {ctx.stack.toxiproxy.url} keeps no byte counts "
                          "(start it with -proxy-metrics; 2.6 or later)"}
            return
        proxies = {link: ctx.stack.proxies.get(link, link) for link in claim.instances}
        ctx.facts["affinity"] = {"carried": {
            link: after.get(proxy, 0) - before.get(proxy, 0) for link, proxy in proxies.items()}}

    def judge(self, record: Record, target: Any, params: Any, contract: Contract
              ) -> list[Verdict]:
        claim: AffinityClaim = target
        return affinity_verdicts(record.samples, record.facts.get("affinity"), claim)
