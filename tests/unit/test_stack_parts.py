"""The stack parts the seeds run: a link's PgBouncer (only in front of a managed PostgreSQL,
transaction pooling to it; tests/e2e/test_pgbouncer.py runs it) and a service's second
instance (``copy_of``; tests/e2e/test_gateway.py balances two)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from gauntlet.contract import parse_contract
from gauntlet.errors import ConfigError

REFERENCE = Path(__file__).resolve().parents[2] / "stack" / "contract.toml"


def test_a_pooler_pools_a_managed_postgres_only() -> None:
    data = tomllib.loads(REFERENCE.read_text())
    data["links"]["redis"]["pooler"] = "pgbouncer"
    with pytest.raises(ConfigError, match="pools a managed PostgreSQL"):
        parse_contract(data, base_dir=REFERENCE.parent)


def test_the_pgbouncer_config_pools_transactions_to_the_managed_postgres(tmp_path: Path) -> None:
    from gauntlet.boot.pgbouncer import render

    text = render(6432, 5432, 7, tmp_path / "users.txt")
    assert "* = host=127.0.0.1 port=5432" in text and "listen_port = 6432" in text
    assert "pool_mode = transaction" in text and "default_pool_size = 7" in text


def test_a_service_copy_is_the_other_service_less_main_with_its_own_keys() -> None:
    data = tomllib.loads(REFERENCE.read_text())
    data["services"]["api2"] = {"copy_of": "api", "env": {"EXTRA": "1"}}
    contract = parse_contract(data, base_dir=REFERENCE.parent)
    assert contract.services["api2"].command == contract.services["api"].command
    assert not contract.services["api2"].main and contract.main_service == "api"
    assert contract.services["api2"].env["EXTRA"] == "1"
    assert contract.services["api2"].env["DB_POOL_MIN"] == "5"  # the copied env, merged
    data["services"]["api3"] = {"copy_of": "nothing"}
    with pytest.raises(ConfigError, match="copy_of names 'nothing'"):
        parse_contract(data, base_dir=REFERENCE.parent)


def test_a_resolved_contract_reads_back_with_its_copies_written_out() -> None:
    """A run dir keeps the resolved contract (contract.json): every service says copy_of =
    null there, and a rebuild reads it back."""
    data = tomllib.loads(REFERENCE.read_text())
    data["services"]["api2"] = {"copy_of": "api"}
    contract = parse_contract(data, base_dir=REFERENCE.parent)
    dumped = contract.model_dump(mode="json", by_alias=True)
    assert dumped["services"]["api"]["copy_of"] is None
    again = parse_contract(dumped, base_dir=REFERENCE.parent)
    assert again.services["api2"].command == contract.services["api"].command
