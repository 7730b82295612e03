"""A link's PgBouncer: only in front of a managed PostgreSQL, configured for transaction
pooling to it (the e2e test, tests/e2e/test_pgbouncer.py, runs it)."""

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
