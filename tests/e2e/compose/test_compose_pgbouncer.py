"""PostgreSQL via PgBouncer on the compose backend (Quemiai): the reference stack's compose file
with stack/docker-compose.pgbouncer.yml beside it, a Toxiproxy between the API and PgBouncer.
The pool claim holds through it on the reference API and fails on the variant without a pool
wait bound, as on the local backend (tests/e2e/test_pgbouncer.py).

Slow-marked, as the other compose experiments: PgBouncer's image is built only by
``scripts/bootstrap-containers.sh --pgbouncer`` (no test of the default command needs it).
Run: ``GAUNTLET_SLOW=1 bash scripts/test.sh tests/e2e/compose/test_compose_pgbouncer.py``
after that."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.experiments import ROOT, compose_extra, explain, run

CONTRACT = ROOT / "contracts" / "quemiai-compose.toml"
POOL = "pool exhaustion answers 503 quickly [postgres]"
COMPOSE = {"backend": "compose"}

pytestmark = compose_extra("GAUNTLET_IMAGE_PGBOUNCER", "pgbouncer", "PgBouncer")


def test_the_pool_claim_holds_through_pgbouncer_on_compose(tmp_path: Path) -> None:
    verdicts = run(tmp_path, "slow_dependency", "postgres", contract=CONTRACT, stack=COMPOSE)
    assert POOL in verdicts, explain(verdicts)
    assert all(v.passed for v in verdicts.values()), explain(verdicts)
    # the API's queries went through PgBouncer: its log shows it up and serving the app's pool
    [log] = tmp_path.glob("*/logs/pgbouncer.log")
    assert "process up: PgBouncer" in log.read_text()


def test_the_pool_claim_fails_through_pgbouncer_on_compose_without_a_wait_bound(
        tmp_path: Path) -> None:
    verdicts = run(tmp_path, "slow_dependency", "postgres", contract=CONTRACT, stack=COMPOSE,
                   variants=["pool_timeout"])
    assert verdicts[POOL].failed, explain(verdicts)
