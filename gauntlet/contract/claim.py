"""What every claim is made of: a name, the markers that recognise a claimed answer, and the
metrics a claim may name."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from gauntlet.contract.basics import NAME, Strict


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

    name: str

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError(f"not a valid claim name: {value!r}")
        return value
