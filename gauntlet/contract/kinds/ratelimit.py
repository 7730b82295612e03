"""A rate limit per key (a window, or nginx's leaky bucket), with exemptions and a store
that fails open or closed."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from gauntlet.contract.basics import parse_rate
from gauntlet.contract.claim import Claim, OptionalLink, RequestNames
from gauntlet.contract.registry import claim_kind


@claim_kind("rate_limit", order=30)
class RateLimitClaim(Claim):
    """``limit`` is a count per window. ``algorithm = "window"`` (the default): any window of
    that length admits at most the count, so a burst is cut at request count + 1.
    ``"leaky_bucket"`` (a token bucket; nginx ``limit_req``): the count per window is a *rate*,
    and ``burst`` is the bucket's size — the requests admitted at once, as golang.org/x/time/rate's
    ``NewLimiter(r, b)`` means ``b`` — so a burst arriving within Δ s is cut after about
    ``burst + rate·Δ`` requests, and a client at the rate is never refused. nginx's
    ``burst=N`` admits one more than its N (its excess is counted beyond the request the rate
    admits now): state it as ``burst = N + 1``."""

    wiring: ClassVar[frozenset[str]] = frozenset({"key", "key_header", "status",
                                                  "retry_after_header"})

    requests: RequestNames = Field(min_length=1)
    limit: str
    algorithm: Literal["window", "leaky_bucket"] = "window"
    burst: int = Field(0, ge=0)  # leaky_bucket: the bucket's size, admitted at once
    key: Literal["header", "auth", "none"] = "header"
    key_header: str | None = None
    exempt: list[str] = Field(default_factory=list)  # paths never limited
    store_link: OptionalLink = None
    fails_open: bool | None = None
    status: int = 429
    retry_after_header: str | None = "Retry-After"

    @field_validator("limit")
    @classmethod
    def _valid_limit(cls, value: str) -> str:
        parse_rate(value)
        return value

    @model_validator(mode="after")
    def _keyed(self) -> RateLimitClaim:
        if self.key == "header" and not self.key_header:
            raise ValueError("key = 'header' needs key_header (e.g. X-Forwarded-For)")
        if self.fails_open is not None and not self.store_link:
            raise ValueError("fails_open is a claim about the store: give store_link")
        if self.burst and self.algorithm != "leaky_bucket":
            raise ValueError("burst is a leaky bucket's: give algorithm = 'leaky_bucket'")
        if self.algorithm == "leaky_bucket" and self.burst < 1:
            raise ValueError("a leaky_bucket needs burst >= 1: the bucket's size, the requests "
                             "it admits at once (x/time/rate NewLimiter(r, b): b; nginx "
                             "limit_req burst=N: N + 1)")
        return self

    @property
    def count(self) -> int:
        return parse_rate(self.limit)[0]

    @property
    def window_s(self) -> float:
        return parse_rate(self.limit)[1]

    @property
    def rate_per_s(self) -> float:
        return self.count / self.window_s

    def captured_headers(self) -> list[str]:
        return [self.retry_after_header] if self.retry_after_header else []

    def client_spacing(self, requests: Sequence[str], users: int,
                       share: float) -> tuple[list[str], float] | None:
        """A limit keyed on nothing is every client's: each gets ``1 / users`` of it."""
        covered = self._covered(requests)
        if not covered:
            return None
        return covered, self.window_s / (self.count * share) * (users if self.key == "none"
                                                                 else 1)

    def client_budget(self, requests: Sequence[str],
                      share: float) -> tuple[list[str], int, float] | None:
        """A limit keyed per client (its user, address or header) gives each client
        ``count * share`` requests a window; one keyed on nothing has no client's budget."""
        covered = self._covered(requests)
        if not covered or self.key == "none":
            return None
        return covered, math.floor(self.count * share), self.window_s

    def _covered(self, requests: Sequence[str]) -> list[str]:
        """Which of ``requests`` this limit covers, in their order."""
        limited = set(self.requests)
        return [n for n in requests if n in limited]
