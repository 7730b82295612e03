"""The notification queue on the compose backend: the reference stack's compose file with
stack/docker-compose.notify.yml beside it, a Toxiproxy in the API's link to the broker. Its
breaker opens, fails fast, probes and closes, and its queue stays short under a load, as on
the local backend (tests/e2e/test_notifications.py).

Slow-marked, as the other compose experiments: the broker's image is built only by
``scripts/bootstrap-containers.sh --rabbitmq`` (no test of the default command needs it).
Run: ``GAUNTLET_SLOW=1 bash scripts/test.sh tests/e2e/compose/test_compose_notifications.py``
after that."""

from __future__ import annotations

from pathlib import Path

from gauntlet.chaos.execute import run_experiment
from gauntlet.chaos.planning import plan_experiments
from gauntlet.config import parse_suite
from gauntlet.runner import run_suite
from tests.e2e.experiments import compose_extra

CONTRACT = str(Path(__file__).resolve().parents[3] / "contracts" / "notifications-compose.toml")

pytestmark = compose_extra("GAUNTLET_IMAGE_RABBITMQ", "rabbitmq", "RabbitMQ")


def test_the_notifications_breaker_on_compose(tmp_path: Path) -> None:
    suite = parse_suite({"name": "compose-notify", "contract": CONTRACT,
                         "stack": {"backend": "compose"},
                         "experiments": [{"name": "breaker", "claim": "notifications"}]})
    [planned] = plan_experiments(suite)
    verdicts = run_experiment(suite, planned, tmp_path / "breaker").verdicts
    mine = [v for v in verdicts if v.claim == "breaker.notifications"]
    failed = [f"{v.name}: {v.reason}" for v in verdicts if not v.passed]
    assert len(mine) == 5 and not failed, failed


def test_the_queue_stays_short_on_compose(tmp_path: Path) -> None:
    suite = parse_suite({
        "name": "compose-queue", "contract": CONTRACT, "stack": {"backend": "compose"},
        "load": {"scenario": "declared", "users": 30, "spawn_rate": 30, "duration_s": 20},
    }, base_dir=tmp_path)
    outcome = run_suite(suite, output_dir=tmp_path / "runs")
    assert outcome.error is None, outcome.error
    [verdict] = [v for v in outcome.verdicts if v.claim == "queue.notifications"]
    assert verdict.passed, verdict.reason
