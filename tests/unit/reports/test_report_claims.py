"""The claims table: every claim gets a row, judged or not; verdicts keep their outcome."""

from __future__ import annotations

import json
from pathlib import Path

from gauntlet.checks.verdict import Verdict
from gauntlet.contract import BreakerClaim
from gauntlet.contract.claim import stated_numbers
from gauntlet.reports.claims import (
    NOT_VERIFIED,
    attributed,
    claim_rows,
    render_markdown,
    statements,
    tally,
    write_claims_table,
)

CONTRACT = {
    "claims": {
        "breaker": [{"name": "upstream", "link": "upstream", "requests": ["POST /x"],
                     "failure_rate": 0.5, "open_s": 60.0, "window_s": 10, "min_calls": None}],
        "rate_limit": [{"name": "login", "limit": "5/15minutes", "key": "ip", "status": 429},
                       {"name": "generate", "limit": "10/hour"}],
        "pool": [{"name": "postgres", "size": 20, "acquire_timeout_s": 2}],
    },
    "slo": {"p95_ms": 500, "p99_ms": 1000, "error_rate": 0.1},
}


def verdicts() -> list[Verdict]:
    return [
        Verdict.judge("breaker", "opens", True, "opened after 1.2 s", 1.2, 10.0, "s",
                      claim="breaker.upstream"),
        Verdict.judge("breaker", "closes", False, "never closed", None, 60.0, "s",
                      claim="breaker.upstream"),
        Verdict.missing("ratelimit", "admitted after window",
                        "not verified: the 3600 s window is longer than the run may wait",
                        claim="rate_limit.generate"),
        Verdict.judge("slo", "p95 overall", True, "p95 120 ms <= 500 ms", 120.0, 500.0, "ms"),
    ]


def test_stated_numbers_leave_wiring_out() -> None:
    text = stated_numbers(CONTRACT["claims"]["breaker"][0],  # type: ignore[index]
                          BreakerClaim.wiring_fields())
    assert text == "failure_rate 0.5, open_s 60, window_s 10"


def test_every_claim_has_a_row_and_no_gap_is_silent() -> None:
    rows = claim_rows(statements(CONTRACT), verdicts())
    claims = [r.claim for r in rows]
    assert claims == ["breaker.upstream", "breaker.upstream", "rate_limit.login",
                      "rate_limit.generate", "pool.postgres", "slo"]
    by = {(r.claim, r.verdict): r for r in rows}
    assert by[("breaker.upstream", "opens")].outcome == "pass"
    assert by[("breaker.upstream", "opens")].measured == "1.2 s (bound 10 s)"
    assert by[("breaker.upstream", "closes")].outcome == "fail"
    assert by[("breaker.upstream", "closes")].reason == "never closed"
    assert by[("breaker.upstream", "opens")].reason == "opened after 1.2 s"
    # judged by nothing: still a row, saying so
    assert by[("rate_limit.login", "—")].outcome == NOT_VERIFIED
    assert by[("pool.postgres", "—")].outcome == NOT_VERIFIED
    # an experiment's own "cannot verify this" keeps its reason
    generate = by[("rate_limit.generate", "admitted after window")]
    assert generate.outcome == NOT_VERIFIED and "3600 s" in generate.reason
    assert by[("slo", "p95 overall")].outcome == "pass"
    assert tally(rows) == {"pass": 2, "fail": 1, NOT_VERIFIED: 3}


def test_names_lose_the_repeated_instance_and_ratios_read_as_percent() -> None:
    v = Verdict.judge("retries", "absorbed [upstream]", True, "ok", 0.9975, 0.995, "ratio",
                      claim="retries.upstream")
    rows = claim_rows(statements({"claims": {"retries": [{"name": "upstream"}]}}), [v])
    assert rows[0].verdict == "absorbed"
    assert rows[0].measured == "99.75 % (bound 99.5 %)"


def test_a_verdict_on_an_undeclared_claim_is_kept() -> None:
    extra = Verdict.judge("shutdown", "drains", True, "ok", claim="shutdown.sigterm")
    rows = claim_rows(statements(CONTRACT), [extra])
    assert rows[-1].claim == "shutdown.sigterm" and rows[-1].outcome == "pass"


def test_markdown_names_a_claim_once_and_escapes_pipes() -> None:
    text = render_markdown(claim_rows(statements(CONTRACT), verdicts()), heading="seed",
                           note="`cmd`")
    assert text.startswith("### seed\n\n`cmd`\n")
    assert text.count("| breaker.upstream |") == 1


def test_written_from_a_run_dir(tmp_path: Path) -> None:
    (tmp_path / "contract.json").write_text(json.dumps({"name": "seed", **CONTRACT}))
    (tmp_path / "summary.json").write_text(json.dumps({
        "contract": "seed", "command": "gauntlet run suites/seeds/x.toml",
        "started_at_s": 100.0, "finished_at_s": 400.0, "load": {"duration_scale": 0.1},
        "verdicts": [v.as_dict() for v in verdicts()]}))
    path = write_claims_table(tmp_path)
    assert path is not None
    text = path.read_text()
    assert "`gauntlet run suites/seeds/x.toml`" in text
    assert "scaled to 0.1" in text and "wall time 5.0 min" in text
    data = json.loads((tmp_path / "claims.json").read_text())
    assert data["tally"]["fail"] == 1 and len(data["rows"]) == 6


def test_no_verdicts_no_table(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text(json.dumps({"verdicts": []}))
    assert write_claims_table(tmp_path) is None


def test_a_stated_claim_is_listed_with_its_own_reason() -> None:
    contract = {"claims": {"stated": [{"name": "queue", "says": "queue < 100 pending",
                                       "reason": "no queue here"}]}}
    rows = claim_rows(statements(contract), [])
    assert [(r.claim, r.stated, r.outcome, r.reason) for r in rows] == [
        ("stated.queue", "queue < 100 pending", NOT_VERIFIED, "not verified: no queue here")]


def test_an_experiments_steady_phase_is_listed_with_the_claim_it_verified() -> None:
    steady = Verdict.judge("steady-state", "steady state before the fault", True, "54 requests")
    opens = Verdict.judge("breaker", "opens", True, "ok", claim="breaker.upstream")
    slo = Verdict.judge("slo", "p95_ms [overall]", True, "fast")
    summary = {"experiments": [{"name": "breaker", "claim": "upstream",
                                "verdicts": [steady.as_dict(), opens.as_dict()]}]}
    got = attributed([steady, opens, slo], summary)
    assert [v.claim for v in got] == ["breaker.upstream", "breaker.upstream", ""]
    rows = claim_rows(statements(CONTRACT), got)
    assert [r.verdict for r in rows if r.claim == "breaker.upstream"] == [
        "steady state before the fault", "opens"]


def test_a_damaged_experiment_entry_attributes_nothing_and_breaks_nothing() -> None:
    steady = Verdict.judge("steady-state", "steady state before the fault", True, "54 requests")
    opens = Verdict.judge("breaker", "opens", True, "ok", claim="breaker.upstream")
    summary = {"experiments": [{"claim": "no name"}, {"name": "x", "verdicts": ["not a dict"]},
                               {"name": "breaker", "claim": "upstream",
                                "verdicts": [steady.as_dict(), opens.as_dict()]}]}
    got = attributed([steady, opens], summary)  # type: ignore[arg-type]
    assert [v.claim for v in got] == ["breaker.upstream", "breaker.upstream"]
