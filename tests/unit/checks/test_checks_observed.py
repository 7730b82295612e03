"""The observed claims: a header on every answer, a structured log — judged over every part of a
run, passing on evidence, failing on the answers and lines that lack it, inconclusive without.

The end-to-end tests boot the reference services and their broken variants
(``tests/e2e/test_observed_claims.py``); these pin the verdict logic on recorded samples.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from gauntlet.checks.answers import MIN_ANSWERS, Part, header_verdict
from gauntlet.checks.logs import LogSource, log_verdicts
from gauntlet.checks.probe import probe_verdict
from gauntlet.contract import HeaderClaim, LogsClaim, ProbeClaim
from gauntlet.timeline import Event
from tests.unit.checks.factory import LIST, T0, ask, fault, frame, run

UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def rid(i: int) -> str:
    return f"{i:08x}-0000-4000-8000-{i:012x}"


def part(rows: list[dict[str, object]], where: str = "") -> Part:
    df = frame(rows)
    return Part(where, df, frozenset(df.columns))


def answered(n: int, status: int = 200, start: int = 0, *, with_id: bool = True,
             name: str = LIST) -> list[dict[str, object]]:
    return [ask(i * 0.01, status=status, name=name,
                headers={"x-request-id": rid(start + i) if with_id else ""})
            for i in range(n)]


def header_claim(**kw: object) -> HeaderClaim:
    return HeaderClaim.model_validate({"name": "request-id", "header": "X-Request-Id", **kw})


def test_every_answer_carrying_the_header_passes_and_says_over_what() -> None:
    verdict = header_verdict(header_claim(pattern=UUID),
                             [part(answered(80) + answered(20, 503, 80))])
    assert verdict.passed, verdict.reason
    assert verdict.claim == "header.request-id"
    assert "over 100 answers (20 of them 4xx/5xx)" in verdict.reason


def test_error_answers_without_the_header_fail_with_the_share_and_statuses() -> None:
    rows = answered(90) + answered(7, 429, 90, with_id=False) + answered(3, 500, 97,
                                                                          with_id=False)
    verdict = header_verdict(header_claim(), [part(rows)])
    assert verdict.failed
    assert "10 of 100 answers (10.00%) lacked x-request-id" in verdict.reason
    assert "7 answered 429, 3 answered 500" in verdict.reason


def test_a_value_not_matching_the_pattern_counts_as_lacking() -> None:
    rows = [*answered(60), ask(1.0, headers={"x-request-id": "not-a-uuid"})]
    verdict = header_verdict(header_claim(pattern=UUID), [part(rows)])
    assert verdict.failed and "1 of 61" in verdict.reason


def test_a_claimed_share_below_every_answer_tolerates_the_rest() -> None:
    rows = answered(99) + answered(1, 500, 99, with_id=False)
    assert header_verdict(header_claim(min_share=0.99), [part(rows)]).passed
    assert header_verdict(header_claim(min_share=1.0), [part(rows)]).failed


def test_no_answer_a_connection_failure_and_a_realtime_frame_are_not_answers() -> None:
    rows = [*answered(MIN_ANSWERS), ask(2.0, status=0, headers={"x-request-id": ""})]
    realtime = frame(answered(5, 101, with_id=False))
    realtime["method"] = pd.Categorical(["WS"] * len(realtime))
    verdict = header_verdict(header_claim(), [part(rows),
                                              Part("e", realtime, frozenset(realtime.columns))])
    assert verdict.passed, verdict.reason


def test_too_few_answers_or_none_captured_is_inconclusive_never_a_pass() -> None:
    few = header_verdict(header_claim(), [part(answered(MIN_ANSWERS - 1))])
    assert few.inconclusive and f"at least {MIN_ANSWERS} needed" in few.reason
    # the capture never recorded the header: every answer would read "absent"
    df = frame(answered(200, with_id=False)).drop(columns=["header:x-request-id"])
    blind = header_verdict(header_claim(), [Part("experiments/01-x", df, frozenset(df.columns))])
    assert blind.inconclusive
    assert "did not record the header: experiments/01-x" in blind.reason


def test_parts_are_judged_together() -> None:
    verdict = header_verdict(header_claim(), [part(answered(30)),
                                              part(answered(30, 503, 30, with_id=False), "e1")])
    assert verdict.failed and "30 of 60" in verdict.reason


# --- logs ----------------------------------------------------------------------------------


def logs_claim(**kw: object) -> LogsClaim:
    return LogsClaim.model_validate({"name": "json", "fields": ["level", "ts"],
                                     "request_id": "request_id", **kw})


def write_log(path: Path, lines: list[str], *, torn: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines) + (torn or ""))
    return path


def line(i: int | None = None, **extra: object) -> str:
    entry: dict[str, object] = {"ts": "2026-12-05T10:00:00Z", "level": "info",
                                "event": "request", **extra}
    if i is not None:
        entry["request_id"] = rid(i)
    return json.dumps(entry)


def test_a_json_log_with_every_answers_id_passes_both(tmp_path: Path) -> None:
    log = write_log(tmp_path / "logs" / "api.log",
                    [line(event="listening"), *(line(i) for i in range(40))])
    verdicts = log_verdicts(logs_claim(), [LogSource(part(answered(40)), log)])
    assert [v.status for v in verdicts] == ["pass", "pass"], [v.reason for v in verdicts]
    assert "all 41 lines in 1 log are JSON objects carrying level, ts" in verdicts[0].reason


def test_a_plain_text_line_or_a_missing_field_fails_the_shape(tmp_path: Path) -> None:
    log = write_log(tmp_path / "api.log", [line(1), "Traceback (most recent call last):",
                                           json.dumps({"level": "info"}), "[1, 2]"])
    verdict = log_verdicts(logs_claim(request_id=None), [LogSource(part(answered(1)), log)])[0]
    assert verdict.failed
    assert verdict.reason.startswith("3 of 4 lines in 1 log are not JSON objects carrying "
                                     "level, ts:")
    assert "api.log:2 (not a JSON object): 'Traceback" in verdict.reason
    assert "api.log:3 (no ts)" in verdict.reason


def test_a_torn_last_line_is_left_out_and_said(tmp_path: Path) -> None:
    log = write_log(tmp_path / "api.log", [line(1), line(2)], torn='{"level": "inf')
    verdict = log_verdicts(logs_claim(request_id=None), [LogSource(part([]), log)])[0]
    assert verdict.passed
    assert "1 torn last line left out" in verdict.reason


def test_answers_whose_id_no_line_carries_fail_the_ids(tmp_path: Path) -> None:
    log = write_log(tmp_path / "api.log", [line(i) for i in range(30)])
    verdicts = log_verdicts(logs_claim(), [LogSource(part(answered(40)), log)])
    assert verdicts[0].passed
    assert verdicts[1].failed
    assert "10 of 40 answers' x-request-id are not any line's request_id" in verdicts[1].reason


def test_each_part_is_matched_with_its_own_log(tmp_path: Path) -> None:
    # the same ids logged by another boot are not this answer's log line
    first = write_log(tmp_path / "a" / "api.log", [line(i) for i in range(40)])
    second = write_log(tmp_path / "b" / "api.log", [line(event="listening")])
    verdicts = log_verdicts(logs_claim(), [LogSource(part(answered(40)), first),
                                           LogSource(part(answered(40), "e1"), second)])
    assert verdicts[1].failed and "40 of 80" in verdicts[1].reason


def test_logged_errors_looks_up_only_the_error_answers(tmp_path: Path) -> None:
    log = write_log(tmp_path / "api.log", [line(i) for i in range(100, 130)])
    rows = answered(200) + answered(30, 503, 100)
    verdicts = log_verdicts(logs_claim(logged="errors"), [LogSource(part(rows), log)])
    assert verdicts[1].passed, verdicts[1].reason
    few = log_verdicts(logs_claim(logged="errors"), [LogSource(part(answered(200)), log)])
    assert few[1].inconclusive and "error answers (status 500 and up)" in few[1].reason


def test_no_log_kept_is_inconclusive_for_both(tmp_path: Path) -> None:
    verdicts = log_verdicts(logs_claim(service="api"), [LogSource(part(answered(40)), None)])
    assert [v.status for v in verdicts] == ["inconclusive", "inconclusive"]
    assert "kept no log of api" in verdicts[0].reason
    empty = write_log(tmp_path / "api.log", [])
    assert log_verdicts(logs_claim(request_id=None),
                        [LogSource(part([]), empty)])[0].inconclusive


def test_pino_style_numeric_levels_and_nested_fields_count(tmp_path: Path) -> None:
    log = write_log(tmp_path / "api.log", [json.dumps({"level": 30, "time": 1, "req": {"id": 7}})])
    claim = LogsClaim.model_validate({"name": "json", "fields": ["level", "time", "req.id"]})
    assert log_verdicts(claim, [LogSource(part([]), log)])[0].passed


@pytest.mark.parametrize("bad", [{"header": "x request id"}, {"pattern": "("},
                                 {"min_share": 0}])
def test_a_header_claim_with_a_bad_value_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        header_claim(**bad)


# --- a health path's answer time under load ------------------------------------------------


def probe_claim(**kw: object) -> ProbeClaim:
    return ProbeClaim.model_validate({"name": "health-fast", "path": "/health",
                                      "within_ms": 100, **kw})


def polls(start: float, end: float, ms: float | Callable[[float], float],
          status: int = 200) -> list[Event]:
    out = []
    for i in range(round((end - start) / 0.1)):
        at = round(start + i * 0.1, 6)
        out.append(Event(T0 + at, "probe", {
            "target": "probe.health-fast", "status": status,
            "latency_ms": ms(at) if callable(ms) else ms}))
    return out


def loaded(events: list[Event], start: float = 0.0, end: float = 60.0) -> Part:
    df = frame(run(start, end, 0.05, name=LIST))
    return Part("", df, frozenset(df.columns), tuple(sorted(events, key=lambda e: e.at_s)))


def test_a_fast_path_under_load_passes_with_its_interval() -> None:
    verdict = probe_verdict(probe_claim(), [loaded(polls(0, 60, 12.0))])
    assert verdict.passed, verdict.reason
    assert verdict.reason.startswith("p99 12.0 ms (95 % CI 12.0 to 12.0 ms) over 590 polls")


def test_a_path_slower_than_its_bound_fails() -> None:
    verdict = probe_verdict(probe_claim(), [loaded(polls(0, 60, 150.0))])
    assert verdict.failed and verdict.observed == 150.0


def test_polls_during_a_fault_and_its_settle_do_not_count() -> None:
    slow_in_fault = polls(0, 60, lambda at: 900.0 if 20 <= at < 32 else 10.0)
    verdict = probe_verdict(probe_claim(), [loaded([*slow_in_fault,
                                                    *fault("postgres", 20, 30)])])
    assert verdict.passed, verdict.reason
    # the same polls with no fault on: the slow ones are the path's own
    assert probe_verdict(probe_claim(), [loaded(slow_in_fault)]).failed


def test_no_answer_is_slower_than_any_bound() -> None:
    hangs = [*polls(0, 30, 10.0), *polls(30, 60, 0.0, status=0)]
    verdict = probe_verdict(probe_claim(), [loaded(hangs)])
    assert verdict.failed and "unanswered" in verdict.reason


def test_polls_after_a_signal_or_outside_the_load_do_not_count() -> None:
    events = [*polls(0, 60, lambda at: 500.0 if at >= 40 else 10.0),
              Event(T0 + 40, "signal.sent", {"handle": "service:api", "signal": "SIGTERM"})]
    assert probe_verdict(probe_claim(), [loaded(events)]).passed
    # before the load started: not "under load"
    assert probe_verdict(probe_claim(), [loaded(polls(0, 60, 10.0), start=59.0)]).inconclusive


def test_too_few_polls_for_the_percentile_is_undecidable_and_none_is_said() -> None:
    few = probe_verdict(probe_claim(), [loaded(polls(0, 10, 10.0))])
    assert few.inconclusive and not few.marginal and "undecidable" in few.reason
    never = probe_verdict(probe_claim(), [loaded([])])
    assert never.inconclusive and "never polled" in never.reason


def test_a_straddling_interval_is_marginal() -> None:
    # 1 poll in 100 at 150 ms: the p99's interval reaches over the 100 ms bound
    mixed = polls(0, 60, lambda at: 150.0 if round(at * 10) % 100 == 0 else 60.0)
    verdict = probe_verdict(probe_claim(), [loaded(mixed)])
    assert verdict.inconclusive and verdict.marginal, verdict.reason


def test_a_mistyped_path_answering_404_fast_proves_nothing() -> None:
    verdict = probe_verdict(probe_claim(), [loaded(polls(0, 60, 2.0, status=404))])
    assert verdict.inconclusive and "answered 404, not 2xx" in verdict.reason


def test_polls_while_a_realtime_restart_is_under_way_do_not_count() -> None:
    refused = polls(0, 60, lambda at: 0.0 if 20 <= at < 23 else 10.0)
    refused = [e if not 20 <= e.at_s - T0 < 23 else
               Event(e.at_s, "probe", {**e.data, "status": 0}) for e in refused]
    restart = [Event(T0 + 20, "restart.signal", {}), Event(T0 + 23, "restart.ready", {})]
    assert probe_verdict(probe_claim(), [loaded([*refused, *restart])]).passed
    assert probe_verdict(probe_claim(), [loaded(refused)]).failed


def test_after_a_fault_polls_count_once_readiness_is_back() -> None:
    slow_until_ready = polls(0, 60, lambda at: 900.0 if 20 <= at < 38 else 10.0)
    ready = [Event(T0 + at, "probe", {"target": "ready", "status": 503 if at < 38 else 200,
                                      "latency_ms": 5.0}) for at in range(31, 45)]
    verdict = probe_verdict(probe_claim(), [loaded([*slow_until_ready, *ready,
                                                    *fault("postgres", 20, 30)])])
    assert verdict.passed, verdict.reason
