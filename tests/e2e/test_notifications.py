"""The notification queue (LangSense: "a circuit breaker around notifications", "notification
queue < 100 pending") on the reference stack with a private RabbitMQ: the breaker claim passes
and fails on the variant without a breaker; the queue claim passes under load and fails on the
variant with no consumer.

The breaker's open answer is a 201 (the order is created, its notification dropped), marked
``X-Circuit-Open: notifications``: the breaker experiment judges it like any other. The queue
claim is observed, judged over the depth gauge the prober reads during a plain load of the
declared mix (``gauntlet run``'s judge stage, as in a verify)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gauntlet.boot.rabbitmq import locate_rabbitmq
from gauntlet.checks.verdict import Verdict
from gauntlet.config import parse_suite
from gauntlet.runner import run_suite
from tests.e2e.experiments import ROOT, explain, passed_or_marginal, run

pytestmark = pytest.mark.skipif(locate_rabbitmq() is None,
                                reason="rabbitmq-server is not installed (scripts/setup.sh)")

CONTRACT = ROOT / "contracts" / "notifications.toml"
OPENS = "opens after the fault starts [notifications]"


def test_the_notifications_breaker_opens_fails_fast_probes_and_closes(tmp_path: Path) -> None:
    verdicts = run(tmp_path, "breaker", "notifications", contract=CONTRACT)
    mine = {k: v for k, v in verdicts.items() if v.claim == "breaker.notifications"}
    # a timing verdict may be marginal on a host busy with the other test worker; never failed
    assert len(mine) == 5 and all(passed_or_marginal(v) for v in mine.values()), \
        explain(verdicts)
    assert verdicts[OPENS].passed, explain(verdicts)


def test_without_a_breaker_every_create_waits_out_the_publish_timeout(tmp_path: Path) -> None:
    verdicts = run(tmp_path, "breaker", "notifications", contract=CONTRACT,
                   variants=["notify_without_breaker"])
    assert verdicts[OPENS].failed, explain(verdicts)
    assert "never opened" in verdicts[OPENS].reason


def queue_verdict(tmp_path: Path, variants: list[str]) -> Verdict:
    # 30 clients, each under the API's per-user limit (10 per 5 s), create about 170 orders in
    # 20 s: past the bound of 100 when nothing consumes them
    suite = parse_suite({
        "name": "queue", "contract": str(CONTRACT),
        "stack": {"backend": "local", "variants": variants},
        "load": {"scenario": "declared", "users": 30, "spawn_rate": 30, "duration_s": 20},
    }, base_dir=tmp_path)
    outcome = run_suite(suite, output_dir=tmp_path / "runs")
    assert outcome.error is None, outcome.error
    found = [v for v in outcome.verdicts if v.claim == "queue.notifications"]
    assert len(found) == 1, [v.name for v in outcome.verdicts]
    return found[0]


def test_the_queue_stays_short_while_its_consumer_keeps_up(tmp_path: Path) -> None:
    verdict = queue_verdict(tmp_path, [])
    assert verdict.passed, verdict.reason
    assert "notifications_total rose by" in verdict.reason


def test_with_no_consumer_the_queue_grows_past_its_bound(tmp_path: Path) -> None:
    verdict = queue_verdict(tmp_path, ["notify_no_consumer"])
    assert verdict.failed, verdict.reason
    assert verdict.observed is not None and float(verdict.observed) >= 100
