"""PostgreSQL via PgBouncer (Quemiai): the local backend starts PgBouncer in front of the
managed PostgreSQL (``pooler = "pgbouncer"``), the link's Toxiproxy sits between the API and
PgBouncer, and the pool claim is verified through it — passing on the reference API, failing
on its variant without a pool wait bound."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gauntlet.boot.binaries import locate
from tests.e2e.experiments import ROOT, explain, needs_node, run

QUEMIAI = ROOT / "contracts" / "seeds" / "quemiai.toml"
QUEMIAI_NODE = ROOT / "contracts" / "seeds" / "quemiai-node.toml"
POOL = "pool exhaustion answers 503 quickly [postgres]"

pytestmark = pytest.mark.skipif(
    locate("pgbouncer", (Path("/usr/sbin"),)) is None and shutil.which("pgbouncer") is None,
    reason="pgbouncer is not installed (scripts/setup.sh installs it)")


def test_the_pool_claim_holds_through_pgbouncer(tmp_path: Path) -> None:
    verdicts = run(tmp_path, "slow_dependency", "postgres", contract=QUEMIAI)
    assert POOL in verdicts, explain(verdicts)
    assert all(v.passed for v in verdicts.values()), explain(verdicts)
    [log] = tmp_path.glob("*/logs/postgres-pgbouncer.log")
    assert "process up: PgBouncer" in log.read_text()  # the API's queries went through it


@pytest.mark.slow  # half a minute; the same variant fails without PgBouncer in the test command
def test_the_pool_claim_fails_through_pgbouncer_without_a_wait_bound(tmp_path: Path) -> None:
    verdicts = run(tmp_path, "slow_dependency", "postgres", contract=QUEMIAI,
                   variants=["pool_timeout"])
    assert verdicts[POOL].failed, explain(verdicts)


@pytest.mark.slow  # half a minute: the Node service's pg.Pool behind PgBouncer
@needs_node
def test_the_node_services_pool_claim_holds_through_pgbouncer(tmp_path: Path) -> None:
    verdicts = run(tmp_path, "slow_dependency", "postgres", contract=QUEMIAI_NODE)
    assert POOL in verdicts and all(v.passed for v in verdicts.values()), explain(verdicts)
