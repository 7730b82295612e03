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
