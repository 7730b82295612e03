"""A whole-service load of the declared mix under a rate limit on part of it: that part is
spaced, the rest keeps the suite's pace (scenarios/pacing.py ``Spacing``).

On the naive service, which limits nothing: whatever spacing the samples show is the clients'
own, never a limiter's 429s. The contract adds a limit on its pricing route (1 per 5 s per
user, one request in eight of the mix): each client sends it at most every 10 s (half the
limit), where pacing the whole client for it would have sent every request 1.25 s apart.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from gauntlet.config import parse_suite
from gauntlet.runner import run_suite
from gauntlet.samples import load_samples
from tests.e2e.experiments import ROOT

NAIVE = ROOT / "tests" / "services" / "naive" / "contract.toml"
PRICE = "POST /price"
SPACING_S = 5 / (1 * 0.5)  # 1 per 5 s, at half the limit


def test_a_limited_route_is_spaced_while_the_rest_keeps_the_pace(tmp_path: Path) -> None:
    contract = tmp_path / "contract.toml"
    contract.write_text(f'extends = "{NAIVE}"\nname = "naive-spaced"\n\n'
                        '[[claims.rate_limit]]\nname = "price"\n'
                        f'requests = ["{PRICE}"]\nlimit = "1/5seconds"\nkey = "auth"\n')
    suite = parse_suite({
        "name": "spaced", "contract": str(contract), "stack": {"backend": "local"},
        "load": {"scenario": "declared", "users": 10, "spawn_rate": 10, "duration_s": 25,
                 "pace_s": 0.5},
    }, base_dir=tmp_path)
    outcome = run_suite(suite, output_dir=tmp_path / "runs")
    assert outcome.error is None, outcome.error
    df = load_samples(outcome.run_dir, columns=["t_start_s", "name", "client"])
    df = df[df["client"].fillna("") != ""]
    priced = df[df["name"] == PRICE].sort_values("t_start_s")
    assert len(priced) > 0, "no client sent the limited route"
    for client, starts in priced.groupby("client")["t_start_s"]:
        gaps = [b - a for a, b in itertools.pairwise(starts)]
        assert all(g >= SPACING_S - 0.05 for g in gaps), (client, gaps)
    # the rest of the mix kept the pace (0.5 s), not the 1.25 s a paced client would keep: a
    # client's two other requests came closer than 1.25 s apart many times
    others = df[df["name"] != PRICE].sort_values("t_start_s")
    close = sum(sum(1 for a, b in itertools.pairwise(starts) if b - a < 1.0)
                for _, starts in others.groupby("client")["t_start_s"])
    assert close >= 50, close
