"""What an experiment is: the protocol every experiment module implements.

An experiment verifies one claim instance of the contract: it takes its link, requests, markers
and numbers from the claim, derives its phase lengths from them, drives load and faults on a
booted stack (:mod:`gauntlet.chaos.context`), and records samples, events and *facts*
(measured values that are neither, such as an integrity read-back or a metric delta) into its
run dir. :meth:`Experiment.judge` is a pure function of those records and the claim; ``gauntlet
report`` re-judges from the files (the run dir keeps the contract it ran with).

Planning is :mod:`gauntlet.chaos.planning`, running one :mod:`gauntlet.chaos.execute`, judging
one from its run dir :mod:`gauntlet.chaos.judging`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from gauntlet.boot import Stack
from gauntlet.chaos.context import Context
from gauntlet.checks.verdict import Verdict
from gauntlet.checks.windows import Window, fault_windows
from gauntlet.config import ExperimentConfig
from gauntlet.contract import Claim, Contract, IntegrityClaim, Metric
from gauntlet.errors import ConfigError
from gauntlet.timeline import Event


class Params(BaseModel):
    """Base of every experiment's parameters; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Finding:
    """A contract finding: the contract's own numbers make one of its claims unreachable (a
    shorter timeout claimed on the same link ends every request first). Said once, before the
    run spends minutes on it, and the claim's verdict says it instead of a measurement."""

    claim: str  # kind.name of the claim that cannot be reached
    text: str   # both numbers, in words

    def as_dict(self) -> dict[str, str]:
        return {"claim": self.claim, "text": self.text}


@dataclass(frozen=True)
class Record:
    """An experiment's evidence as read back from its run dir: the input of ``judge``."""

    samples: pd.DataFrame
    events: list[Event]
    facts: dict[str, Any]

    def of(self, requests: list[str]) -> pd.DataFrame:
        return self.samples[self.samples["name"].astype("string").isin(requests)]


class Experiment:
    """Subclasses set ``name``, ``description``, ``claims`` (the models of the claim kinds
    they verify), ``params_model`` and the methods. One instance of the experiment runs per
    claim instance (:meth:`targets`)."""

    name: ClassVar[str]
    description: ClassVar[str]
    claims: ClassVar[tuple[type[Claim], ...]]
    params_model: ClassVar[type[Params]] = Params
    # whether the steady phase must also show the stack was not already slow (a p95, which
    # needs dozens of requests to decide): False for an experiment whose verdicts count, not
    # time, answers — its steady phase asks only whether the stack was already failing
    steady_latency: ClassVar[bool] = True
    # the experiment ends the service (a shutdown): it is planned after every other, since on
    # a stack that outlives an experiment (external, `gauntlet up`) whatever runs next would
    # find the service down unless the claim says how to restart it (restarts())
    ends_service: ClassVar[bool] = False

    @property
    def kinds(self) -> tuple[str, ...]:
        """The keys of the claim kinds it verifies (``("deadline", "pool")``)."""
        return tuple(model.kind for model in self.claims)

    def restarts(self, target: Any, backend: str) -> bool:
        """Whether the service this experiment ends is started again after it, on ``backend``
        (the claim's restart command, or a backend that restarts its own)."""
        return False

    def targets(self, contract: Contract) -> dict[str, Any]:
        """Claim instances this experiment verifies, by name."""
        out: dict[str, Any] = {}
        for model in self.claims:
            out.update({c.name: c for c in contract.claims.of(model)})
        return out

    def requests(self, target: Any) -> list[str]:
        return list(getattr(target, "requests", []))

    def links(self, target: Any) -> list[str]:
        link = getattr(target, "link", None)
        return [link] if link else []

    def metrics(self, target: Any) -> list[Metric]:
        metric = getattr(target, "metric", None)
        return [metric] if metric is not None else []

    def findings(self, target: Any, contract: Contract) -> list[Finding]:
        """Claims of this run the contract's own numbers make unreachable (pure: the
        contract alone decides, so a rebuild finds the same)."""
        return []

    def needs_run(self, target: Any, contract: Contract) -> bool:
        """False when every claim of this run is a contract finding: nothing to measure."""
        return True

    def unverifiable(self, target: Any, stack: Stack) -> str | None:
        """Why this claim cannot be verified on this stack (checked after boot), or None."""
        return None

    def check(self, target: Any, stack: Stack) -> None:
        """Raise :class:`InfrastructureError` when something the claim names is missing from
        the booted stack (beyond its links and metrics, which :func:`preflight` checks)."""

    def parse_params(self, raw: dict[str, Any]) -> Any:
        try:
            return self.params_model.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            what = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
            raise ConfigError(f"experiment {self.name!r}: {what}: '{loc}'") from exc

    def run(self, ctx: Context) -> None:
        raise NotImplementedError

    def judge(self, record: Record, target: Any, params: Any, contract: Contract
              ) -> list[Verdict]:
        raise NotImplementedError

    def fault_start(self, record: Record, target: Any) -> float | None:
        """Where the steady phase ends: the first fault on the claim's link, by default."""
        for link in self.links(target):
            windows = fault_windows(record.events, link)
            if windows:
                return windows[0].start_s
        return None

    def settle_s(self, target: Any) -> float:
        """How long after its fault is removed the stack may take to be steady again."""
        return 2.0

    def recovered_by(self, record: Record, target: Any) -> float | None:
        """When the stack must be steady again: the end of the last fault on the claim's links
        plus the settle time — the one the run recorded (``settle_s`` in its facts, which
        :meth:`Context.drive` also waits from: a breaker claimed on the link that stays open
        after it, a close the run saw sooner than its bound), else :meth:`settle_s`. None when
        the experiment has no such phase."""
        ends = [w.end_s for link in self.links(target)
                for w in fault_windows(record.events, link)]
        settle = float(record.facts.get("settle_s") or self.settle_s(target))
        return max(ends) + settle if ends else None

    def disturbed(self, record: Record, target: Any) -> list[Window]:
        """When the fault acted on the stack: each fault on the claim's links, until
        :meth:`settle_s` after its removal (the stack may still be recovering), or the settle
        time the run recorded if longer (a breaker on the link holds open its open duration
        after the link is back: the first writes after it closes are the recovery's). An
        integrity verdict needs an acknowledged write in flight in one of them."""
        settle = max(self.settle_s(target), float(record.facts.get("settle_s") or 0.0))
        return [Window(w.start_s, w.end_s + settle)
                for link in self.links(target) for w in fault_windows(record.events, link)]

    def integrity_claims(self, contract: Contract, target: Any) -> list[IntegrityClaim]:
        """Integrity claims whose writes this run sends: each owes a verdict."""
        sent = set(self.requests(target))
        return [c for c in contract.claims.of(IntegrityClaim) if set(c.requests) & sent]


@dataclass(frozen=True)
class Planned:
    """One experiment run: which experiment, which claim instance, which parameters."""

    experiment: Experiment
    claim: str
    target: Any
    params: Any
    config: ExperimentConfig
    findings: tuple[Finding, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.experiment.name}[{self.claim}]"
