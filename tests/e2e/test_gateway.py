"""The gateway (stack/gateway, nginx) in front of the reference API, as My-SaaS-Chat runs it:
the rate-limit experiment through the gateway passes on its per-address limits, and fails when
the gateway is rendered without limit_req."""

from __future__ import annotations

from pathlib import Path

import pytest

from stack.gateway.__main__ import nginx_binary
from tests.e2e.experiments import ROOT, explain, run

GATEWAY = ROOT / "contracts" / "gateway.toml"
FIRST = ["first 429 at the limit [api]", "first 429 at the limit [auth]"]

pytestmark = pytest.mark.skipif(nginx_binary({}) is None,
                                reason="nginx is not installed (scripts/setup.sh installs it)")


def test_gateway_limits_pass_through_the_gateway(tmp_path: Path) -> None:
    verdicts = run(tmp_path, "ratelimit", contract=GATEWAY)
    assert all(name in verdicts for name in FIRST), explain(verdicts)
    assert all(v.passed for v in verdicts.values()), explain(verdicts)


def test_gateway_without_limit_req_fails(tmp_path: Path) -> None:
    verdicts = run(tmp_path, "ratelimit", contract=GATEWAY, variants=["gateway_no_limit_req"])
    for name in FIRST:
        assert name in verdicts and verdicts[name].failed, explain(verdicts)
    # no verdict on the limit passes (the steady phase before the burst is the stack's, and
    # healthy)
    assert not any(v.passed for v in verdicts.values() if v.check != "steady-state"), \
        explain(verdicts)


LIMIT = "requests over 64 in flight refused with 503 [per-address]"
BYSTANDER = "other addresses unaffected [per-address]"


def test_gateway_connection_limit_refuses_the_connection_over_it(tmp_path: Path) -> None:
    """My-SaaS-Chat's limit_conn: 64 requests of one address held in flight, the rest 503 at
    once, another address served."""
    verdicts = run(tmp_path, "connection_limit", contract=GATEWAY)
    assert {LIMIT, BYSTANDER} <= set(verdicts), explain(verdicts)
    assert all(v.passed for v in verdicts.values()), explain(verdicts)


def test_gateway_without_limit_conn_fails(tmp_path: Path) -> None:
    verdicts = run(tmp_path, "connection_limit", contract=GATEWAY,
                   variants=["gateway_no_limit_conn"])
    assert verdicts[LIMIT].failed, explain(verdicts)
    assert "more than the limit of 64" in verdicts[LIMIT].reason


PAIR = ROOT / "contracts" / "gateway-pair.toml"
LEFT = "left alone after 3 failures [api]"
AGAIN = "tried again after 10 s [api]"


def test_gateway_leaves_a_hung_instance_alone_and_tries_it_again(tmp_path: Path) -> None:
    """My-SaaS-Chat's max_fails/fail_timeout, with the two API instances nginx needs to act on
    them: one hangs, three requests wait on it, then none until fail_timeout is up."""
    verdicts = run(tmp_path, "failover", contract=PAIR)
    assert {LEFT, AGAIN} <= set(verdicts), explain(verdicts)
    assert all(v.passed for v in verdicts.values()), explain(verdicts)


def test_gateway_without_max_fails_keeps_sending_to_the_hung_instance(tmp_path: Path) -> None:
    verdicts = run(tmp_path, "failover", contract=PAIR, variants=["gateway_no_max_fails"])
    assert verdicts[LEFT].failed, explain(verdicts)
    assert "kept sending it requests" in verdicts[LEFT].reason
