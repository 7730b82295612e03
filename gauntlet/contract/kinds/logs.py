"""A service's log is structured: JSON lines carrying named fields, request ids that match
the answers'."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field, field_validator

from gauntlet.contract.claim import Claim
from gauntlet.contract.registry import claim_kind

if TYPE_CHECKING:
    from gauntlet.contract.document import Contract


@claim_kind("logs", order=94)
class LogsClaim(Claim):
    """Every line ``service`` writes (stdout and stderr, as the run dir keeps them in
    ``logs/<service>.log``) is a JSON object carrying ``fields``. With ``request_id``: the
    answers' ``header`` values are found in the log under that field — for every answer, or
    for the error answers (status 500 and up) when ``logged = "errors"`` (a service that logs
    successes at debug level). That is what makes a log useful at 3 a.m.: the id a client
    reports leads to the line.

    ``service`` is the main service by default; on the compose backend, the compose service
    under test."""

    wiring: ClassVar[frozenset[str]] = frozenset({"service", "request_id", "header", "logged"})

    service: str | None = None
    fields: list[str] = Field(default_factory=lambda: ["level"])
    request_id: str | None = None
    header: str = "x-request-id"
    logged: Literal["every", "errors"] = "every"

    @field_validator("header")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()

    def problem(self, contract: Contract) -> str | None:
        if self.service is None:
            if contract.main_service is None and contract.compose is None:
                return "names no service, and the contract has no main service to default to"
            return None
        if contract.services and contract.compose is None and self.service not in \
                contract.services:
            return (f"service {self.service!r} is not one of the contract's services "
                    f"({', '.join(contract.services)})")
        return None

    def log_names(self, contract: Contract) -> list[str]:
        """The names the service's log may have in a run dir's ``logs/``, first found wins:
        the service's own, then (the main service on the compose backend) the compose
        service's."""
        name = self.service or contract.main_service
        names = [name] if name else []
        if contract.compose is not None and (self.service is None
                                             or self.service == contract.main_service):
            names.append(contract.compose_service)
        return list(dict.fromkeys(names))

    def captured_headers(self) -> list[str]:
        return [self.header] if self.request_id else []

    def observed(self) -> bool:
        return True

    def statement(self) -> str | None:
        text = "every log line is JSON" + (f" with {', '.join(self.fields)}" if self.fields
                                           else "")
        if self.request_id:
            which = "every answer's" if self.logged == "every" else "every error answer's"
            text += f"; {which} {self.header} is logged as {self.request_id}"
        return text
