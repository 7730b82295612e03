"""The building blocks every part of a contract is made of: strict frozen models, the bounded
numbers a gate judges, rates and ``{name}`` templates.

Kept apart so each concept module of :mod:`gauntlet.contract` (how to reach the stack, its
traffic, its claims, the document) imports them without importing one another.
"""

from __future__ import annotations

import re
import string
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from gauntlet.errors import ConfigError

_RATE = re.compile(r"^\s*(\d+)\s*(?:/|per)\s*(\d*)\s*(second|minute|hour|day)s?\s*$")
_UNIT_S = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")


def _can_be_exceeded(value: float) -> float:
    if value >= 1:
        raise ValueError(f"{value:g} is a share no run can exceed (a share is at most 1), so "
                         "this gate could never fail: give a share below 1, or leave it out")
    return value


def _can_be_missed(value: float) -> float:
    if value <= 0:
        raise ValueError(f"{value:g} is a floor every run reaches (even one that sent or served "
                         "nothing), so this gate could never fail: give a positive number, or "
                         "leave it out")
    return value


# Bounds a gate judges must be able to fail: a check that cannot fail is a defect, and a user
# who writes error_rate = 1.0 to "turn the gate off" should leave the key out instead.
# (the JSON Schema says the same, so an editor flags it as it is typed)
MaxShare = Annotated[float, Field(ge=0, json_schema_extra={"exclusiveMaximum": 1}),
                     AfterValidator(_can_be_exceeded)]
"""A share (0 ≤ x < 1) that a measured share must stay within: ``error_rate = 0.01``."""
MinFloor = Annotated[float, Field(json_schema_extra={"exclusiveMinimum": 0}),
                     AfterValidator(_can_be_missed)]
"""A floor (> 0) a measured number must reach: ``min_rps = 50``."""
MinShare = Annotated[float, Field(le=1, json_schema_extra={"exclusiveMinimum": 0}),
                     AfterValidator(_can_be_missed)]
"""A share (0 < x ≤ 1) a measured share must reach: ``min_success = 0.9``."""


def parse_rate(text: str) -> tuple[int, float]:
    """``"5/15minutes"`` → ``(5, 900.0)``: the count and the window in seconds."""
    match = _RATE.match(text)
    if not match:
        raise ValueError(f"not a rate limit: {text!r} (expected e.g. '100/minute', '5/15minutes')")
    count, multiple, unit = match.groups()
    return int(count), float(int(multiple or 1) * _UNIT_S[unit])


class Strict(BaseModel):
    """Unknown keys are errors, and a validated document never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def template_fields(template: str) -> list[str]:
    """The ``{name}`` fields of a template, in order."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def fill_fields(template: str, values: dict[str, str]) -> str:
    """Fill every ``{name}`` field of ``template``; ``values`` must hold each one."""
    out = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        out.append(literal)
        if name:
            out.append(values[name])
    return "".join(out)


def fill(template: str, values: dict[str, str]) -> str:
    """Fill ``{name}`` fields from ``values``; a name it lacks is a :class:`ConfigError`."""
    missing = [n for n in template_fields(template) if n not in values]
    if missing:
        raise ConfigError(f"template {template!r}: unknown field {{{missing[0]}}} "
                          f"(known: {', '.join(sorted(values))})")
    return fill_fields(template, values)


def env_text(value: Any) -> str:
    """A claim's number as an environment variable's text (``True`` → ``1``, ``5.0`` → ``5``)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else str(value)
    return str(value)
