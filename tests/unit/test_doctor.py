"""doctor's judgement: only what the backend asked about needs decides the exit code, and a
contract's managed links decide whether PostgreSQL and Redis are needed."""

from __future__ import annotations

from pathlib import Path

from gauntlet.contract import load_contract
from gauntlet.doctor import Check, Report, managed_kinds
from gauntlet.outcome import ExitCode

ROOT = Path(__file__).resolve().parents[2]


def _check(name: str, required: bool, ok: bool) -> Check:
    return Check(name, "local backend", "x", required, path="/x" if ok else None,
                 version="1" if ok else None, problem=None if ok else "not found",
                 install=f"install {name}")


def test_a_missing_program_fails_only_when_required() -> None:
    optional_missing = Report("local", None, (_check("toxiproxy-server", True, True),
                                              _check("redis-server", False, False)))
    assert optional_missing.exit_code == ExitCode.PASSED
    assert optional_missing.verdict() == "local backend: ready"
    required_missing = Report("local", "svc", (_check("toxiproxy-server", True, False),
                                               _check("redis-server", True, False)))
    assert required_missing.exit_code == ExitCode.INFRASTRUCTURE == 3
    assert required_missing.verdict() == ("local backend for contract svc: missing "
                                          "toxiproxy-server, redis-server")


def test_managed_kinds_name_the_links() -> None:
    contract = load_contract(ROOT / "stack" / "contract.toml")
    kinds = managed_kinds(contract)
    assert set(kinds) <= {"postgres", "redis"}
    assert sum(map(len, kinds.values())) == sum(1 for x in contract.links.values() if x.managed)
    assert managed_kinds(None) == {}
