"""Graceful shutdown: on a signal, readiness flips first, in-flight requests drain, the
process exits in time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from gauntlet.contract.claim import (
    Claim,
    ContractFile,
    ContractProgram,
    OptionalLink,
    RequestNames,
)
from gauntlet.contract.registry import claim_kind

if TYPE_CHECKING:
    from gauntlet.contract.document import Contract


@claim_kind("shutdown", order=40)
class ShutdownClaim(Claim):
    """How to signal the service and what it promises: readiness flips first, requests keep
    being served for the drain delay, the process exits within the deadline — with
    ``exit_code`` (0 unless stated), or with any code when the claim says ``"any"``.

    The handle is ``service`` (gauntlet started it and reads its exit status), ``pid_file``
    (a process gauntlet did not start: it sees the exit, never the code) or ``command`` (it
    sees neither). ``wait`` is a command that returns once the service has exited and prints
    its exit code (``docker wait api``): with it, a ``pid_file`` or ``command`` handle can
    claim a code; without it, a claimed code could never be verified, so the contract is
    refused. ``restart`` is a command that starts the service again once the experiment is
    over, where no backend boots a fresh stack per experiment (external, ``--stack up``).
    """

    wiring: ClassVar[frozenset[str]] = frozenset({"service", "inflight_ms"})

    signal: Literal["SIGTERM", "SIGINT"] = "SIGTERM"
    service: str | None = None
    pid_file: ContractFile = None
    command: ContractProgram = Field(None, min_length=1)
    wait: ContractProgram = Field(None, min_length=1)
    restart: ContractProgram = Field(None, min_length=1)
    requests: RequestNames = Field(min_length=1)
    drain_delay_s: float = Field(0.0, ge=0)
    deadline_s: float = Field(gt=0)
    ready_flips_first: bool = True
    ready_within_s: float = Field(1.0, gt=0)
    exit_code: int | Literal["any"] = 0
    # a link the claim's requests wait on: slowed (Toxiproxy latency) around the signal, so
    # requests are inside the service when it lands — drain is only shown on requests in flight
    inflight_link: OptionalLink = None
    inflight_ms: float = Field(500.0, gt=0)

    @field_validator("exit_code", mode="before")
    @classmethod
    def _unclaimed(cls, value: Any) -> Any:
        if value is None:
            return "any"  # a run dir written before "any" existed
        if isinstance(value, bool) or (not isinstance(value, int) and value != "any"):
            raise ValueError(f"exit_code is a number, or \"any\" for no code claimed (got "
                             f"{value!r})")
        return value

    @model_validator(mode="after")
    def _one_handle(self) -> ShutdownClaim:
        handles = [h for h in (self.service, self.pid_file, self.command) if h]
        if len(handles) != 1:
            raise ValueError("give exactly one of service, pid_file or command to signal")
        if self.command is not None and self.wait is None:
            raise ValueError(
                "a command handle needs wait = [...]: a command that returns once the service "
                "has exited and prints its exit code (e.g. docker wait NAME); without it the "
                "exit is never seen")
        if self.claimed_exit_code is not None and self.pid_file and self.wait is None:
            handle = "a pid_file"
            raise ValueError(
                f"exit_code {self.exit_code} can never be verified through {handle}: gauntlet "
                "sees the exit code only of a process it started. Give wait = [...] (a command "
                "that prints it, e.g. docker wait NAME), or exit_code = \"any\" (0 is claimed "
                "unless stated)")
        return self

    @property
    def claimed_exit_code(self) -> int | None:
        """The exit code claimed, or None when any code will do."""
        return self.exit_code if isinstance(self.exit_code, int) else None

    def problem(self, contract: Contract) -> str | None:
        if self.service and contract.services and self.service not in contract.services:
            return f"service {self.service!r} is not declared"
        return None
