"""Every answer of the service carries a header: a request id, a cache policy, a version."""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import field_validator

from gauntlet.contract.basics import MinShare
from gauntlet.contract.claim import Claim
from gauntlet.contract.registry import claim_kind

# RFC 9110's field-name: a token
_FIELD_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


@claim_kind("header", order=92)
class HeaderClaim(Claim):
    """Every HTTP answer the service gives carries ``header``, its value matching ``pattern``
    whole (any non-empty value when none). Judged over every answer the run recorded — load,
    bursts, every experiment's phases, errors included — because a header set by a route
    rather than by the outermost layer is exactly the one missing from a limiter's 429 or a
    crash's 500. ``min_share`` (1 by default: every answer) is what a team claims less than
    "every" with."""

    wiring: ClassVar[frozenset[str]] = frozenset({"header", "pattern"})

    header: str
    pattern: str | None = None
    min_share: MinShare = 1.0

    @field_validator("header")
    @classmethod
    def _field_name(cls, value: str) -> str:
        if not _FIELD_NAME.match(value):
            raise ValueError(f"not an HTTP header name: {value!r}")
        return value.lower()

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"pattern {value!r} is not a regular expression: {exc}") from None
        return value

    def captured_headers(self) -> list[str]:
        return [self.header]

    def observed(self) -> bool:
        return True

    def statement(self) -> str | None:
        what = f"{self.header} matching {self.pattern}" if self.pattern else self.header
        share = "every answer" if self.min_share >= 1 else f"{self.min_share:.1%} of answers"
        return f"{share} carries {what}"
