"""What every claim is made of: a name, the markers that recognise a claimed answer, the
metrics a claim may name — and what the rest of the harness asks of any claim, whatever its
kind.

A kind of claim is one model (a :class:`Claim` subclass registered with
:func:`~gauntlet.contract.registry.claim_kind`); the harness never names it. What it needs to
know about an instance it asks through the hooks below, each with a default that says "nothing
of the sort": the links and requests the claim names (fields annotated :data:`LinkName`,
:data:`RequestNames`), the answers it marks, the state gauges it watches, how long its mechanism
holds after a link is back, what it asks of a client's pace, whether an experiment can verify
it here. A new kind overrides what applies to it and nothing else changes.

    class QueueClaim(Claim):
        link: LinkName
        requests: RequestNames = Field(min_length=1)
        depth: int = Field(gt=0)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, ClassVar

from pydantic import Field, field_validator, model_validator

from gauntlet.contract.basics import NAME, Strict

if TYPE_CHECKING:
    from gauntlet.contract.document import Contract


@dataclass(frozen=True)
class Names:
    """What a claim's field names, for checks and tools that treat every kind alike: a declared
    ``link``, declared ``requests``, a ``file`` or a ``program`` (an argv) relative to the
    contract's folder."""

    what: str


LINK, REQUESTS, FILE, PROGRAM = Names("link"), Names("requests"), Names("file"), Names("program")
LinkName = Annotated[str, LINK]
"""A field naming one of the contract's links (checked against ``[links]``)."""
OptionalLink = Annotated[str | None, LINK]
LinkNames = Annotated[list[str], LINK]
"""A field naming several of the contract's links."""
RequestNames = Annotated[list[str], REQUESTS]
"""A field naming declared requests (checked against ``traffic.requests``)."""
ContractFile = Annotated[str | None, FILE]
"""A path relative to the contract's folder (kept pointing there when another extends it)."""
ContractProgram = Annotated[list[str] | None, PROGRAM]
"""An argv whose program, when a relative path (``./restart.sh``), is beside the contract."""


class Marker(Strict):
    """How an answer is recognised: a status, a header (with a value, or merely present), a
    body pattern — every condition given must match (a 503 alone is also what a failing
    dependency answers)."""

    status: int | None = None
    header: str | None = None
    value: str | None = None
    body: str | None = None

    @model_validator(mode="after")
    def _something(self) -> Marker:
        if self.status is None and self.header is None and self.body is None:
            raise ValueError("a marker needs a status, a header or a body pattern")
        if self.value is not None and self.header is None:
            raise ValueError("a marker's value needs its header")
        if self.body is not None:
            re.compile(self.body)
        return self


class Metric(Strict):
    """A Prometheus metric: its family or sample name (``calls`` or ``calls_total``), a
    label filter, and for a state gauge what its values mean (``closed``, ``open``,
    ``half_open``)."""

    name: str
    labels: dict[str, str] = Field(default_factory=dict)
    states: dict[str, float] = Field(default_factory=dict)  # e.g. closed=0, open=1, half_open=2


class Claim(Strict):
    """One named instance of a claim the service makes: what its kind's experiment verifies
    and its verdicts judge, with the numbers they judge against."""

    # the kind's key under [claims] (set when the kind is registered)
    kind: ClassVar[str] = ""
    # fields that say where or how rather than a number the service states (the claims table
    # leaves them out); the fields naming links, requests, files and programs always are
    wiring: ClassVar[frozenset[str]] = frozenset()

    name: str

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError(f"not a valid claim name: {value!r}")
        return value

    @property
    def id(self) -> str:
        """``breaker.upstream``: kind and instance, as verdicts and columns name the claim."""
        return f"{self.kind}.{self.name}"

    @classmethod
    def fields_naming(cls, names: Names) -> list[str]:
        """The fields annotated as naming ``names`` (:data:`LinkName`, ...), in order."""
        return [key for key, info in cls.model_fields.items() if names in info.metadata]

    @classmethod
    def wiring_fields(cls) -> frozenset[str]:
        """Every field that is wiring: the name, what it names, and the kind's own."""
        named = [f for n in (LINK, REQUESTS, FILE, PROGRAM) for f in cls.fields_naming(n)]
        return frozenset({"name", *named, *cls.wiring})

    def links(self) -> dict[str, str]:
        """The links the claim names, by field (``{"store_link": "redis"}``)."""
        out: dict[str, str] = {}
        for key in self.fields_naming(LINK):
            value = getattr(self, key)
            if isinstance(value, list):
                out.update({f"{key}[{i}]": v for i, v in enumerate(value)})
            elif value is not None:
                out[key] = value
        return out

    def request_names(self) -> list[str]:
        """The declared requests the claim names (every :data:`RequestNames` field)."""
        return [r for key in self.fields_naming(REQUESTS) for r in getattr(self, key)]

    def problem(self, contract: Contract) -> str | None:
        """What the rest of the contract lacks for this claim (beyond its links and requests),
        in words; None when nothing."""
        return None

    def answer_markers(self) -> dict[str, Marker]:
        """The answers this claim identifies by a marker, by claim id (a breaker's open answer):
        what the capture records and what no other claim may count as its own evidence."""
        return {}

    def captured_headers(self) -> list[str]:
        """Response headers the capture must record for this claim's verdicts, beyond those of
        its markers."""
        return []

    def state_metrics(self) -> list[Metric]:
        """State gauges the prober watches during an experiment (``metric.state`` events)."""
        return []

    def gauges(self) -> dict[str, Metric]:
        """Metrics the prober reads at every scrape, by target (``metric.value`` events, at
        most every :data:`~gauntlet.chaos.probes.GAUGE_INTERVAL_S`): a queue's depth."""
        return {}

    def client_spacing(self, requests: Sequence[str], users: int,
                       share: float) -> tuple[list[str], float] | None:
        """Which of ``requests`` this claim limits, and the least time between two of them from
        one client (``users`` clients) that keeps within ``share`` of what it allows; None when
        the claim limits none of them."""
        return None

    def client_budget(self, requests: Sequence[str],
                      share: float) -> tuple[list[str], int, float] | None:
        """Which of ``requests`` this claim limits per client, how many of them one client may
        send in any window within ``share`` of the limit, and the window (seconds): what a run
        shorter than the window may spend at any pace. None for no limit on them, or a limit
        all clients share."""
        return None

    def holds_after_s(self, link: str) -> float:
        """How long after ``link`` is back this claim's mechanism may still act on the service
        (a breaker stays open); 0 for none."""
        return 0.0

    def ends_requests_within(self, link: str, requests: set[str]) -> tuple[float, str] | None:
        """The time within which this claim's mechanism ends every one of ``requests`` while
        ``link`` is slow, and in words (a breaker's call timeout); None when it does not."""
        return None

    def rides_along(self, sent: set[str]) -> tuple[bool, str] | None:
        """For a claim verified alongside whatever experiment sends its requests (acknowledged
        writes, read back after any fault) rather than by an experiment of its own: whether
        the requests ``sent`` cover it and, when they do not, why in words. None for a claim
        with an experiment of its own."""
        return None

    def timed_paths(self) -> dict[str, tuple[str, float]]:
        """Paths the prober polls for this claim, timing each answer: probe target → (path,
        the poll's timeout in s). Every experiment's prober polls them, and so does a load."""
        return {}

    def observed(self) -> bool:
        """Whether this claim is judged over everything the run recorded — every answer, every
        service log — rather than by an experiment of its own (a header on every answer): no
        experiment verifies it, the run's judge does, whatever ran."""
        return False

    def unverifiable(self) -> str | None:
        """Why no experiment can verify this claim here, when the contract says so itself."""
        return None

    def statement(self) -> str | None:
        """What the claims table shows as stated, when not the claim's numbers."""
        return None

    def stated_numbers(self) -> str:
        """The numbers this claim states, as ``key value`` pairs (wiring left out)."""
        return stated_numbers(self.model_dump(mode="json", by_alias=True), self.wiring_fields())


def stated_numbers(values: Mapping[str, object], wiring: frozenset[str]) -> str:
    """``failure_rate 0.5, open_s 60``: the scalar values of a claim instance (as its contract
    or a run dir's ``contract.json`` holds it) that are not ``wiring``."""
    parts: list[str] = []
    for key, value in values.items():
        if key in wiring or value is None or isinstance(value, dict | list):
            continue
        if isinstance(value, bool):
            parts.append(f"{key} {'yes' if value else 'no'}")
        elif isinstance(value, int | float | str):
            parts.append(f"{key} {value:g}" if isinstance(value, float) else f"{key} {value}")
    return ", ".join(parts)
