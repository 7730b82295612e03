"""Rate-limit verdicts from synthetic bursts: typed phase/client/seq columns and the Retry-After
header column; every verdict inconclusive until the limiter was seen limiting."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gauntlet.checks.ratelimit import ratelimit_verdicts, retry_after_s
from gauntlet.contract import RateLimitClaim
from tests.unit.checks.factory import LIST, ask, by_name, frame

CLAIM = RateLimitClaim(name="api", requests=[LIST], limit="10/5seconds", key="auth",
                       exempt=["/health/live"], store_link="redis", fails_open=True)
FIRST, RA, ISO, EXEMPT, AFTER, OPEN, CLOSED = (
    "first 429 at the limit", "Retry-After consistent with the window", "other keys unaffected",
    "exempt paths never limited", "admitted again after the window",
    "fails open when the store is down", "fails closed when the store is down")
Rows = list[dict[str, Any]]


def burst(keys: int = 3, first: int | None = 11, n: int = 15, status: int = 429,
          retry_after: str | None = "5", phase: str = "burst", at: float = 0.0,
          prefix: str = "k") -> Rows:
    rows = []
    for k in range(keys):
        for seq in range(1, n + 1):
            limited = first is not None and seq >= first
            headers = {"Retry-After": retry_after} if limited and retry_after else None
            rows.append(ask(at + seq * 0.01 + k * 0.001, 2, status if limited else 200, LIST,
                            client=f"{prefix}{k}", phase=phase, seq=seq, headers=headers))
    return rows


def bystander(at: float = 0.3, status: int = 200) -> Rows:
    return [ask(at + i * 0.05, 2, status, LIST, client="b", phase="bystander", seq=i + 1)
            for i in range(3)]


def exempt(at: float = 0.2, status: int = 200) -> Rows:
    return [ask(at + i * 0.01, 1, status, "GET /health/live", client="k0", phase="exempt",
                seq=i + 1) for i in range(3)]


def after(at: float = 6.0, status: int = 200, keys: int = 3) -> Rows:
    return [ask(at, 2, status, LIST, client=f"k{k}", phase="after", seq=1) for k in range(keys)]


def store_down(status: int = 200) -> Rows:
    return burst(keys=2, first=None, phase="store_down", at=7.0, prefix="d") if status == 200 \
        else burst(keys=2, first=1, status=status, phase="store_down", at=7.0, prefix="d")


def healthy(**change: Rows) -> Rows:
    parts = {"burst": burst(), "bystander": bystander(), "exempt": exempt(), "after": after(),
             "store_down": store_down()}
    parts.update(change)
    return [row for rows in parts.values() for row in rows]


def judge(rows: Rows, claim: RateLimitClaim = CLAIM, tolerance: int = 0) -> dict[str, Any]:
    return by_name(ratelimit_verdicts(frame(rows), claim, tolerance=tolerance))


def test_healthy_limiter_passes_every_verdict() -> None:
    got = judge(healthy())
    assert list(got) == [FIRST, RA, ISO, EXEMPT, AFTER, OPEN]
    assert all(v.passed for v in got.values()), [v.reason for v in got.values()]
    assert all(v.claim == "rate_limit.api" for v in got.values())


def test_naive_service_without_a_limiter_passes_nothing() -> None:
    got = judge(healthy(burst=burst(first=None)))
    assert got[FIRST].failed and "never limited" in got[FIRST].reason
    for name in (RA, ISO, EXEMPT, AFTER, OPEN):
        assert got[name].inconclusive, name
    closed = judge(healthy(burst=burst(first=None)), CLAIM.model_copy(update={"fails_open": False}))
    assert closed[CLOSED].failed
    assert not any(v.passed for v in closed.values())


def test_first_rejection_off_the_limit_fails() -> None:
    assert judge(healthy(burst=burst(first=13)))[FIRST].failed
    assert judge(healthy(burst=burst(first=13)), tolerance=2)[FIRST].passed
    assert judge(healthy(burst=burst(first=4)))[FIRST].failed


def test_no_burst_or_a_burst_under_the_limit_is_inconclusive() -> None:
    assert judge(healthy(burst=[]))[FIRST].inconclusive
    assert judge(healthy(burst=burst(first=None, n=8)))[FIRST].inconclusive


@settings(max_examples=50)
@given(st.integers(min_value=1, max_value=30), st.integers(min_value=0, max_value=3),
       st.integers(min_value=1, max_value=10))
def test_first_rejection_verdict_flips_exactly_off_the_limit(limit: int, tolerance: int,
                                                             keys: int) -> None:
    claim = CLAIM.model_copy(update={"limit": f"{limit}/5seconds"})

    def first(at: int) -> bool:
        rows = burst(keys=keys, first=at, n=limit + 6)
        return ratelimit_verdicts(frame(rows), claim, tolerance=tolerance)[0].passed

    assert first(limit + 1)
    assert first(limit + 1 + tolerance)
    assert not first(limit + 2 + tolerance)
    if limit - tolerance >= 1:
        assert not first(limit - tolerance)


def test_the_claimed_status_is_the_rejection() -> None:
    claim = CLAIM.model_copy(update={"status": 503})
    got = judge(healthy(burst=burst(status=503)), claim)
    assert "first 503 at the limit" in got and got["first 503 at the limit"].passed
    assert judge(healthy(burst=burst(status=503)))[FIRST].failed  # 429 claimed, 503 answered


def test_retry_after_missing_or_out_of_range_fails() -> None:
    assert judge(healthy(burst=burst(retry_after=None)))[RA].failed  # no header column at all
    assert judge(healthy(burst=burst(retry_after="60")))[RA].failed
    assert judge(healthy(burst=burst(retry_after="0")))[RA].failed


def test_retry_after_as_an_http_date() -> None:
    assert retry_after_s("Tue, 14 Nov 2023 22:13:25 GMT", 1_700_000_000.0) == 5.0
    assert retry_after_s("soon", 0.0) != retry_after_s("soon", 0.0)  # NaN


def test_no_retry_after_verdict_when_the_claim_names_no_header() -> None:
    claim = CLAIM.model_copy(update={"retry_after_header": None})
    assert RA not in judge(healthy(), claim)


def test_limited_bystander_fails_isolation() -> None:
    assert judge(healthy(bystander=bystander(status=429)))[ISO].failed


def test_isolation_needs_a_bystander_answered_while_others_were_limited() -> None:
    assert judge(healthy(bystander=bystander(at=0.0)))[ISO].inconclusive  # all before 0.11 s
    assert judge(healthy(bystander=[]))[ISO].inconclusive


def test_keyless_limit_counts_one_budget_and_has_no_isolation_verdict() -> None:
    claim = CLAIM.model_copy(update={"key": "none"})
    rows = [ask(i * 0.01, 2, 200 if i < 10 else 429, LIST, client=f"c{i % 3}", phase="burst",
                seq=i // 3 + 1, headers={"Retry-After": "5"} if i >= 10 else None)
            for i in range(20)]
    got = judge(rows, claim)
    assert got[FIRST].passed and ISO not in got
    per_client = judge(rows)  # keyed: each client was cut after ~3, not 10
    assert per_client[FIRST].failed


def test_limited_exempt_path_fails() -> None:
    assert judge(healthy(exempt=exempt(status=429)))[EXEMPT].failed


def test_exempt_requests_before_the_client_was_limited_are_no_evidence() -> None:
    assert judge(healthy(exempt=exempt(at=0.0)))[EXEMPT].inconclusive
    assert EXEMPT not in judge(healthy(), CLAIM.model_copy(update={"exempt": []}))


def test_refused_after_the_window_fails() -> None:
    assert judge(healthy(after=after(status=429)))[AFTER].failed


def test_readmission_needs_a_full_window_after_the_last_rejection() -> None:
    assert judge(healthy(after=after(at=2.0, status=429)))[AFTER].inconclusive
    assert judge(healthy(after=[]))[AFTER].inconclusive


def test_store_down_fail_open() -> None:
    assert judge(healthy(store_down=store_down(status=429)))[OPEN].failed
    assert judge(healthy(store_down=store_down(status=500)))[OPEN].failed
    assert OPEN not in judge(healthy(store_down=[]))


def test_store_down_fail_closed_claim() -> None:
    claim = CLAIM.model_copy(update={"fails_open": False})
    got = judge(healthy(store_down=store_down(status=503)), claim)
    assert OPEN not in got and got[CLOSED].passed
    assert judge(healthy(), claim)[CLOSED].failed  # admitted everything
    assert OPEN not in judge(healthy(), CLAIM.model_copy(update={"fails_open": None,
                                                                 "store_link": None}))


def test_a_key_too_slow_to_fill_a_window_is_not_judged() -> None:
    """A key whose first count+1 requests spread over more than the window was not bursting:
    a moving-window limiter rightly admitted more of them."""
    rows = [ask(0.6 * seq, status=200, name=LIST, client="slow", phase="burst", seq=seq)
            for seq in range(1, 16)]  # 10 per 5 s claimed; the 11th request 6.6 s in
    first = by_name(ratelimit_verdicts(frame(rows), CLAIM, tolerance=0))[
        "first 429 at the limit"]
    assert first.inconclusive, first.reason
    assert "did not fit in one window" in first.reason


def test_a_window_longer_than_the_run_waits_is_not_verified_with_its_reason() -> None:
    long = CLAIM.model_copy(update={"limit": "5/15minutes"})
    got = by_name(ratelimit_verdicts(frame(healthy(after=[])), long, tolerance=0,
                                     max_wait_s=120))
    assert got[AFTER].inconclusive
    assert got[AFTER].reason.startswith("not verified: the 900 s window")
    # the same run, had it waited: judged as before
    waited = by_name(ratelimit_verdicts(frame(healthy()), CLAIM, tolerance=0, max_wait_s=120))
    assert waited[AFTER].passed
