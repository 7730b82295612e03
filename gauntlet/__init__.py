"""gauntlet: prove that a service's resilience mechanisms work under load.

The public surface, for suites written in Python or pytest (see ``gauntlet.pytest_plugin``)::

    from gauntlet import boot, load_suite, run_suite
    suite = load_suite(Path("suites/default.toml"))
    outcome = run_suite(suite)
"""

from __future__ import annotations

from chaos.faults import Fault, FaultInjector
from chaos.plan import FaultPlan, TimedFault
from checks.verdict import Verdict
from gauntlet.boot import Stack, boot
from gauntlet.config import Suite, load_suite, parse_suite
from gauntlet.errors import (
    BootError,
    ConfigError,
    GauntletError,
    InfrastructureError,
    Interrupted,
    ToxiproxyError,
)
from gauntlet.outcome import ExitCode, exit_code
from gauntlet.policy import Policy
from gauntlet.runner import RunOutcome, run_suite

__all__ = [
    "BootError",
    "ConfigError",
    "ExitCode",
    "Fault",
    "FaultInjector",
    "FaultPlan",
    "GauntletError",
    "InfrastructureError",
    "Interrupted",
    "Policy",
    "RunOutcome",
    "Stack",
    "Suite",
    "TimedFault",
    "ToxiproxyError",
    "Verdict",
    "boot",
    "exit_code",
    "load_suite",
    "parse_suite",
    "run_suite",
]
