"""gauntlet: prove that a service's resilience mechanisms work under load.

The public surface, for suites written in Python or pytest (see ``gauntlet.pytest_plugin``)::

    from gauntlet import load_suite, run_suite
    suite = load_suite(Path("suites/default.toml"))
    outcome = run_suite(suite)

Names are imported on first use (PEP 562): ``gauntlet`` is also the package of the harness'
lowest layer (errors, the contract, the timeline), which ``chaos``, ``checks`` and ``scenarios``
import; importing the top layer (boot, runner) here eagerly would make every one of those
imports go round a cycle.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gauntlet.boot import Stack, boot
    from gauntlet.chaos.faults import Fault, FaultInjector
    from gauntlet.chaos.plan import FaultPlan, TimedFault
    from gauntlet.checks.verdict import Verdict
    from gauntlet.config import Suite, load_suite, parse_suite
    from gauntlet.contract import Contract, load_contract, parse_contract
    from gauntlet.errors import (
        BootError,
        ConfigError,
        GauntletError,
        InfrastructureError,
        Interrupted,
        JudgeError,
        ToxiproxyError,
    )
    from gauntlet.judge import RunOutcome
    from gauntlet.outcome import ExitCode, exit_code
    from gauntlet.runner import run_suite

_WHERE = {
    "Fault": "gauntlet.chaos.faults", "FaultInjector": "gauntlet.chaos.faults",
    "FaultPlan": "gauntlet.chaos.plan", "TimedFault": "gauntlet.chaos.plan",
    "Verdict": "gauntlet.checks.verdict",
    "Stack": "gauntlet.boot", "boot": "gauntlet.boot",
    "Suite": "gauntlet.config", "load_suite": "gauntlet.config", "parse_suite": "gauntlet.config",
    "Contract": "gauntlet.contract", "load_contract": "gauntlet.contract",
    "parse_contract": "gauntlet.contract",
    "BootError": "gauntlet.errors", "ConfigError": "gauntlet.errors",
    "GauntletError": "gauntlet.errors", "InfrastructureError": "gauntlet.errors",
    "Interrupted": "gauntlet.errors", "JudgeError": "gauntlet.errors",
    "ToxiproxyError": "gauntlet.errors",
    "ExitCode": "gauntlet.outcome", "exit_code": "gauntlet.outcome",
    "RunOutcome": "gauntlet.judge", "run_suite": "gauntlet.runner",
}

__all__ = [
    "BootError",
    "ConfigError",
    "Contract",
    "ExitCode",
    "Fault",
    "FaultInjector",
    "FaultPlan",
    "GauntletError",
    "InfrastructureError",
    "Interrupted",
    "JudgeError",
    "RunOutcome",
    "Stack",
    "Suite",
    "TimedFault",
    "ToxiproxyError",
    "Verdict",
    "boot",
    "exit_code",
    "load_contract",
    "load_suite",
    "parse_contract",
    "parse_suite",
    "run_suite",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'gauntlet' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
