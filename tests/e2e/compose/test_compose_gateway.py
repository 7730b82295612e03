"""Two API instances behind the nginx gateway on the compose backend (My-SaaS-Chat): the
reference stack's compose file with stack/docker-compose.gateway.yml beside it, a Toxiproxy in
front of each instance. One instance hangs: nginx leaves it alone after ``max_fails`` and tries
it again after ``fail_timeout``, and without ``max_fails`` it keeps sending it requests, as on
the local backend (tests/e2e/test_gateway.py).

Slow-marked, as the other compose experiments: the gateway's image is built only by
``scripts/bootstrap-containers.sh --gateway`` (no test of the default command needs it).
Run: ``GAUNTLET_SLOW=1 bash scripts/test.sh tests/e2e/compose/test_compose_gateway.py``
after that."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.experiments import ROOT, compose_extra, explain, run

CONTRACT = ROOT / "contracts" / "gateway-pair-compose.toml"
LEFT_ALONE = "left alone after 3 failures [api]"
COMPOSE = {"backend": "compose"}

pytestmark = compose_extra("GAUNTLET_IMAGE_GATEWAY", "gateway", "gateway")


def test_the_gateway_fails_over_between_two_instances_on_compose(tmp_path: Path) -> None:
    verdicts = run(tmp_path, "failover", "api", contract=CONTRACT, stack=COMPOSE)
    assert LEFT_ALONE in verdicts, explain(verdicts)
    assert all(v.passed for v in verdicts.values()), explain(verdicts)


def test_without_max_fails_the_gateway_keeps_the_hung_instance_on_compose(
        tmp_path: Path) -> None:
    verdicts = run(tmp_path, "failover", "api", contract=CONTRACT, stack=COMPOSE,
                   variants=["gateway_no_max_fails"])
    assert verdicts[LEFT_ALONE].failed, explain(verdicts)
