"""A verdict: what a check concluded, with the evidence a person needs to act on it.

Verdicts are produced by pure functions (samples, events, policy → Verdict): no I/O, no clock,
no globals, so they are tested on synthetic data and re-computed from a run dir at will.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Verdict:
    """``observed`` and ``threshold`` are what the reason speaks of, as numbers where possible."""

    check: str
    name: str
    passed: bool
    reason: str
    observed: float | str | None = None
    threshold: float | str | None = None
    unit: str = ""
    unreliable: bool = False

    @property
    def status(self) -> str:
        return "pass" if self.passed else "fail"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        data = {k: v for k, v in data.items() if k != "status"}
        return cls(**data)


def all_passed(verdicts: list[Verdict]) -> bool:
    return all(v.passed for v in verdicts)
