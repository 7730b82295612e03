"""The contract document: what a stack claims (its claims, by kind, and its SLOs) and how to
reach it, checked as a whole (every name a claim uses is declared)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import (
    Field,
    SerializeAsAny,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from gauntlet.contract.basics import MaxShare, Strict, env_text, fill_fields, template_fields
from gauntlet.contract.claim import Marker, Metric
from gauntlet.contract.reach import Compose, Link, Probes, Service
from gauntlet.contract.registry import Claims, claims_model, empty_claims
from gauntlet.contract.traffic import Request, Traffic


class Slo(Strict):
    """SLOs the stack claims; a suite that names this contract is gated on them unless it
    says otherwise."""

    p50_ms: float | None = Field(None, gt=0)
    p95_ms: float | None = Field(None, gt=0)
    p99_ms: float | None = Field(None, gt=0)
    max_ms: float | None = Field(None, gt=0)
    error_rate: MaxShare | None = None


class Contract(Strict):
    name: str
    description: str = ""
    probes: Probes = Field(default_factory=Probes)
    links: dict[str, Link] = Field(default_factory=dict)
    services: dict[str, Service] = Field(default_factory=dict)
    traffic: Traffic = Field(default_factory=Traffic)
    # the registered kinds' model (gauntlet.contract.registry); dumped as what it holds
    claims: SerializeAsAny[Claims] = Field(default_factory=empty_claims)
    slo: Slo = Field(default_factory=Slo)
    # Named variants (env additions to the main service), e.g. a mechanism switched off: how a
    # reference service shows that every verdict can fail.
    variants: dict[str, dict[str, str]] = Field(default_factory=dict)
    compose: Compose | None = None
    # where the document came from: relative paths (cwd, locustfile) resolve against it
    base_dir: Path = Field(default=Path("."), exclude=True)

    @field_validator("claims", mode="wrap")
    @classmethod
    def _registered_kinds(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Claims:
        """``[claims]`` is validated as the kinds registered now describe it."""
        if isinstance(value, Claims):
            return value
        return claims_model().model_validate(value)

    @model_validator(mode="after")
    def _consistent(self) -> Contract:
        for name, link in self.links.items():
            if link.service and link.service not in self.services:
                raise ValueError(f"links.{name}: no service {link.service!r}")
        if self.compose is not None:
            if self.compose.service is None and self.main_service is None:
                raise ValueError("compose.service: name the compose service under test (no "
                                 "service of [services] is main = true to default to)")
            for name in self.compose.links:
                if name not in self.links:
                    raise ValueError(f"compose.links.{name}: not a declared link "
                                     f"(links: {', '.join(sorted(self.links)) or 'none'})")
        mains = [n for n, s in self.services.items() if s.main]
        if self.services and len(mains) != 1:
            raise ValueError("services: exactly one service must be main = true "
                             f"(found {mains or 'none'})")
        known = set(self.traffic.requests)
        for kind, claim in self.claims.instances():
            where = f"claims.{kind}.{claim.name}"
            for field_name, named in claim.links().items():
                if named not in self.links:
                    raise ValueError(f"{where}: {field_name} {named!r} is not a declared link "
                                     f"(links: {', '.join(sorted(self.links)) or 'none'})")
            if self.traffic.locustfile is None:
                for request in claim.request_names():
                    if request not in known:
                        raise ValueError(
                            f"{where}: request {request!r} is not declared in traffic.requests "
                            f"(declared: {', '.join(sorted(known)) or 'none'})")
            problem = claim.problem(self)
            if problem is not None:
                raise ValueError(f"{where}: {problem}")
        for kind in type(self.claims).model_fields:
            names = [c.name for c in self.claims.of_kind(kind)]
            dupes = {n for n in names if names.count(n) > 1}
            if dupes:
                raise ValueError(f"claims.{kind}: instance names repeat: {sorted(dupes)}")
        for name, service in self.services.items():
            for key, template in service.env.items():
                for field_ref in template_fields(template):
                    try:
                        self.claim_value(field_ref)
                    except (KeyError, AttributeError, ValueError) as exc:
                        raise ValueError(
                            f"services.{name}.env.{key}: {{{field_ref}}} names no claim "
                            "number (kind.instance.field)") from exc
        return self

    @property
    def main_service(self) -> str | None:
        return next((n for n, s in self.services.items() if s.main), None)

    @property
    def compose_service(self) -> str:
        """The compose service under test: ``[compose] service``, else the main service's name
        (the validator made sure one of them is given)."""
        if self.compose is None:
            raise ValueError("the contract has no [compose] section")
        name = self.compose.service or self.main_service
        assert name is not None  # _consistent
        return name

    def claim_value(self, ref: str) -> Any:
        """``"breaker.ai.open_s"`` → that claim's number."""
        kind, name, *path = ref.split(".")
        if not path:
            raise ValueError(ref)
        value: Any = self.claims.find(kind, name)
        for part in path:
            value = getattr(value, part)
        return value

    def render_env(self, service: str) -> dict[str, str]:
        """The service's ``env`` with every claim reference filled in."""
        out: dict[str, str] = {}
        for key, template in self.services[service].env.items():
            values = {ref: env_text(self.claim_value(ref)) for ref in template_fields(template)}
            out[key] = fill_fields(template, values)
        return out

    def resolve(self, path: str) -> Path:
        candidate = Path(path)
        return candidate if candidate.is_absolute() else (self.base_dir / candidate).resolve()

    def requests_of(self, names: list[str]) -> dict[str, Request]:
        return {n: self.traffic.requests[n] for n in names if n in self.traffic.requests}

    def marker_headers(self) -> list[str]:
        """Response headers the capture records as columns of their own (lower case)."""
        headers: set[str] = set()
        for marker in self.answer_markers().values():
            if marker.header:
                headers.add(marker.header.lower())
        for claim in self.claims.all():
            headers.update(h.lower() for h in claim.captured_headers())
        return sorted(headers)

    def answer_markers(self) -> dict[str, Marker]:
        """Every answer a claim identifies by a marker, by claim (``breaker.upstream``: its
        open answer, ``pool.postgres``: its exhausted answer): what the capture records and
        what no other claim may count as its own evidence."""
        out: dict[str, Marker] = {}
        for claim in self.claims.all():
            out.update(claim.answer_markers())
        return out

    def state_metrics(self) -> list[tuple[str, Metric]]:
        """Every state gauge a claim watches, with the claim's id (what the prober polls)."""
        return [(claim.id, metric) for claim in self.claims.all()
                for metric in claim.state_metrics()]

    def gauges(self) -> list[tuple[str, Metric]]:
        """Every metric a claim reads at each scrape, by prober target."""
        return [(target, metric) for claim in self.claims.all()
                for target, metric in claim.gauges().items()]

    def holds_after_s(self, link: str) -> float:
        """How long after ``link`` is back the claims on it may still act on the service (a
        breaker open its open duration): the longest of them, 0 without one."""
        return max((claim.holds_after_s(link) for claim in self.claims.all()), default=0.0)

    def body_markers(self) -> dict[str, str]:
        """Body patterns the capture tests each answer against: column name → regex."""
        return {claim: marker.body for claim, marker in self.answer_markers().items()
                if marker.body}
