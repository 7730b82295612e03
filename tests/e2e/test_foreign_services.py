"""gauntlet judges services that are not our reference stack, through their own contracts.

- ``tests/services/ledger``: another service, written in another style (Starlette, pybreaker
  counting consecutive failures, its own routes, headers, metric names, auth and table), booted
  by gauntlet's local backend and then judged **through the external backend** — as a team
  that runs its own stack would — passes every experiment its claims call for; variants of it
  without a mechanism fail the verdict that judges it.
- ``tests/services/naive``: a service with no resilience mechanism at all, under a contract
  that claims them all. No claim verdict may pass: each fails or is inconclusive, with a
  reason. (The steady-state and precondition verdicts are not claims: a healthy service passes
  them.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from gauntlet.boot import boot
from gauntlet.chaos.experiments import get_experiment
from gauntlet.config import parse_suite
from gauntlet.contract import load_contract
from gauntlet.errors import InfrastructureError
from tests.e2e.experiments import ROOT, explain, run

LEDGER = ROOT / "tests" / "services" / "ledger" / "contract.toml"
NAIVE = ROOT / "tests" / "services" / "naive" / "contract.toml"
EXPERIMENTS = ["breaker", "retries", "retry_statuses", "ratelimit", "shutdown",
               "dependency_down", "slow_dependency"]
# the naive service claims more than the ledger does (a latency threshold in its detailed
# health, a connection limit): it passes none of them either
NAIVE_EXPERIMENTS = [*EXPERIMENTS, "dependency_latency", "connection_limit"]
NOT_CLAIMS = {"steady-state", "precondition"}


@contextmanager
def external(contract_path: Path, tmp_path: Path, variants: list[str] | None = None
             ) -> Iterator[tuple[Path, dict[str, Any]]]:
    """The service booted by the local backend, handed over as an external stack: its URLs,
    its Toxiproxy, its database, and a contract whose shutdown claim signals the service
    through a PID file (the external backend starts nothing it could signal itself) and so
    claims no exit code (a PID file shows the exit, never its code)."""
    contract = load_contract(contract_path)
    main = contract.main_service
    assert main is not None
    suite = parse_suite({"name": "boot", "contract": str(contract_path),
                         "stack": {"variants": variants or []}}, needs_work=False)
    with boot(suite, logs_dir=tmp_path / "boot-logs") as stack:
        pid_file = tmp_path / f"{main}.pid"
        pid_file.write_text(str(stack.services[main].pid))  # type: ignore[attr-defined]
        derived = tmp_path / "contract.toml"
        derived.write_text(f'extends = "{contract_path}"\n'
                           + "".join(f'[[claims.shutdown]]\nname = "{c.name}"\nservice = ""\n'
                                     f'pid_file = "{pid_file}"\nexit_code = "any"\n'
                                     for c in contract.claims.shutdown))
        assert stack.toxiproxy is not None
        yield derived, {"backend": "external", "base_url": stack.base_url,
                        "toxiproxy_url": stack.toxiproxy.url,
                        "database_url": stack.database_url}


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_ledger_passes_every_experiment_through_the_external_backend(tmp_path: Path,
                                                                     name: str) -> None:
    verdicts = {}
    for claim in get_experiment(name).targets(load_contract(LEDGER)):
        with external(LEDGER, tmp_path / claim) as (contract, stack):
            verdicts.update(run(tmp_path / claim / "run", name, claim, contract=contract,
                                stack=stack))
    assert verdicts, f"the ledger's contract gave {name} nothing to verify"
    # signalled through a pid file, the claim makes no exit-code claim: every verdict passes
    assert all(v.passed for v in verdicts.values()), explain(verdicts)


# (experiment, claim, variant, verdicts that must FAIL)
LEDGER_BROKEN = [
    ("breaker", "pricing", "breaker", ["opens after the fault starts [pricing]"]),
    ("retries", "pricing", "retries", ["transient fault absorbed [pricing]"]),
    ("ratelimit", "session", "rate_limit", ["first 429 at the limit [session]"]),
    ("shutdown", "sigterm", "drain", ["served during the drain delay [sigterm]"]),
    ("dependency_down", "ledger-db", "readiness",
     ["unready while ledger-db is down [ledger-db]"]),
    ("slow_dependency", "ledger-db", "pool_timeout",
     ["pool exhaustion answers 503 quickly [ledger-db]"]),
]


@pytest.mark.parametrize(("name", "claim", "variant", "must_fail"), LEDGER_BROKEN,
                         ids=[f"{n}-{v}" for n, _, v, _ in LEDGER_BROKEN])
def test_ledger_variant_without_the_mechanism_fails_it(tmp_path: Path, name: str, claim: str,
                                                       variant: str,
                                                       must_fail: list[str]) -> None:
    with external(LEDGER, tmp_path, [variant]) as (contract, stack):
        verdicts = run(tmp_path / "run", name, claim, contract=contract, stack=stack)
    for verdict_name in must_fail:
        assert verdict_name in verdicts, explain(verdicts)
        assert verdicts[verdict_name].failed, explain(verdicts)


@pytest.mark.parametrize("name", NAIVE_EXPERIMENTS)
def test_no_claim_verdict_passes_on_a_service_without_mechanisms(tmp_path: Path,
                                                                 name: str) -> None:
    verdicts = run(tmp_path, name, contract=NAIVE)
    claims = {k: v for k, v in verdicts.items() if v.check not in NOT_CLAIMS}
    assert claims, explain(verdicts)
    passed = [v for v in claims.values() if v.passed]
    assert passed == [], explain(verdicts)
    for verdict in claims.values():
        assert verdict.reason, verdict.name


def test_a_claimed_metric_the_service_lacks_stops_before_the_first_request(tmp_path: Path
                                                                           ) -> None:
    """A contract naming a metric the service does not have is a mistake to fix, not a verdict:
    exit 3 with one line naming the metric, before any load."""
    derived = tmp_path / "contract.toml"
    derived.write_text(f'extends = "{NAIVE}"\n[[claims.retries]]\nname = "pricing"\n'
                       'metric = { name = "naive_retries_total" }\n')
    with pytest.raises(InfrastructureError, match="naive_retries_total") as caught:
        run(tmp_path / "run", "retries", "pricing", contract=derived)
    assert "\n" not in str(caught.value)
    assert not list(tmp_path.rglob("samples*.csv")), "load was sent before the check"
