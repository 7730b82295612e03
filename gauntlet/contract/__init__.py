"""The contract: what a stack claims and how to reach it — the one place that knows the target.

A team describes its own service in a TOML document: the probes it answers, the dependency
links that have a Toxiproxy in front (under the team's own names), how to produce traffic for
each claimed endpoint, and its **claims**, each a list of named instances with the numbers the
verdicts judge against. gauntlet's experiments take every target from it: nothing in the harness
names a route, header, metric or table.

    contract = load_contract(Path("stack/contract.toml"))
    for claim in contract.claims.of(BreakerClaim): ...

A contract may ``extend`` another (a path relative to itself): tables merge key by key, the
extending document wins, so a seed profile is a base contract with its own numbers.

Templates. Strings in ``services.*.env`` may name a claim's number, ``{breaker.ai.open_s}``
(kind, instance name, field), so a stack whose policy comes from environment variables is
configured from the same numbers its verdicts judge. Strings in ``services.*.local_env`` may
also name addresses the local backend assigns: ``{port}``, ``{links.<name>.host}``,
``{links.<name>.port}``, ``{links.<name>.url}`` (through the link's proxy),
``{services.<name>.port}``, ``{services.<name>.url}`` (the service itself) and ``{workdir}`` (a
fresh directory of the service's own, removed with the boot). Strings in declared requests may
use ``{token}`` (unique per request: what an integrity read-back looks for), ``{client}``
(unique per simulated client) and ``{id}`` (an id an earlier write answered with).

The package is split by concept — :mod:`~gauntlet.contract.basics` (strict models, bounded
numbers, templates), :mod:`~gauntlet.contract.reach` (probes, links, services, compose),
:mod:`~gauntlet.contract.traffic`, :mod:`~gauntlet.contract.claim` (what every claim is made
of), :mod:`~gauntlet.contract.registry` (the kinds, registered by module),
:mod:`~gauntlet.contract.kinds` (one module per kind gauntlet ships),
:mod:`~gauntlet.contract.document` (the contract as a whole) and
:mod:`~gauntlet.contract.files` (reading one) — and its public names are re-exported here.
"""

from __future__ import annotations

from gauntlet.contract.basics import (
    MaxShare,
    MinFloor,
    MinShare,
    Strict,
    env_text,
    fill,
    fill_fields,
    parse_rate,
    template_fields,
)
from gauntlet.contract.claim import (
    Claim,
    ContractFile,
    ContractProgram,
    LinkName,
    LinkNames,
    Marker,
    Metric,
    OptionalLink,
    RequestNames,
)
from gauntlet.contract.document import Contract, Slo
from gauntlet.contract.files import load_contract, one_line, parse_contract, read_toml
from gauntlet.contract.kinds.affinity import AffinityClaim
from gauntlet.contract.kinds.breaker import BreakerClaim
from gauntlet.contract.kinds.connlimit import ConnectionLimitClaim
from gauntlet.contract.kinds.deadline import DeadlineClaim
from gauntlet.contract.kinds.failover import FailoverClaim
from gauntlet.contract.kinds.header import HeaderClaim
from gauntlet.contract.kinds.health import Degradation, HealthClaim, HealthDetail
from gauntlet.contract.kinds.integrity import IntegrityClaim
from gauntlet.contract.kinds.logs import LogsClaim
from gauntlet.contract.kinds.pool import PoolClaim
from gauntlet.contract.kinds.probe import ProbeClaim
from gauntlet.contract.kinds.queue import QueueClaim
from gauntlet.contract.kinds.ratelimit import RateLimitClaim
from gauntlet.contract.kinds.realtime import RealtimeClaim
from gauntlet.contract.kinds.retries import RetriesClaim
from gauntlet.contract.kinds.shutdown import ShutdownClaim
from gauntlet.contract.kinds.stated import StatedClaim
from gauntlet.contract.reach import Compose, ComposeLink, Link, Probes, RequestCounter, Service
from gauntlet.contract.registry import (
    ClaimKind,
    Claims,
    claim_kind,
    claim_kinds,
    claims_model,
    kind_of,
    registered_kinds,
)
from gauntlet.contract.traffic import Auth, Backoff, Realtime, Request, Traffic

__all__ = [
    "AffinityClaim",
    "Auth",
    "Backoff",
    "BreakerClaim",
    "Claim",
    "ClaimKind",
    "Claims",
    "Compose",
    "ComposeLink",
    "ConnectionLimitClaim",
    "Contract",
    "ContractFile",
    "ContractProgram",
    "DeadlineClaim",
    "Degradation",
    "FailoverClaim",
    "HeaderClaim",
    "HealthClaim",
    "HealthDetail",
    "IntegrityClaim",
    "Link",
    "LinkName",
    "LinkNames",
    "LogsClaim",
    "Marker",
    "MaxShare",
    "Metric",
    "MinFloor",
    "MinShare",
    "OptionalLink",
    "PoolClaim",
    "ProbeClaim",
    "Probes",
    "QueueClaim",
    "RateLimitClaim",
    "Realtime",
    "RealtimeClaim",
    "Request",
    "RequestCounter",
    "RequestNames",
    "RetriesClaim",
    "Service",
    "ShutdownClaim",
    "Slo",
    "StatedClaim",
    "Strict",
    "Traffic",
    "claim_kind",
    "claim_kinds",
    "claims_model",
    "env_text",
    "fill",
    "fill_fields",
    "kind_of",
    "load_contract",
    "one_line",
    "parse_contract",
    "parse_rate",
    "read_toml",
    "registered_kinds",
    "template_fields",
]
