"""Rate-limit verdicts from synthetic bursts: typed phase/client/seq columns and the Retry-After
header column; every verdict inconclusive until the limiter was seen limiting."""

from __future__ import annotations

from typing import Any

import pytest
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


def test_a_keyless_budget_counts_the_steady_requests_still_in_its_window() -> None:
    """The steady phase spends a limit keyed on nothing too: those of its requests still in
    the window when the burst began count, those the experiment waited out do not."""
    claim = CLAIM.model_copy(update={"key": "none"})

    def keyless(steady_at: float) -> Rows:
        calm = [ask(steady_at + i * 0.1, 2, 200, LIST, client="s0", phase="steady", seq=i + 1)
                for i in range(3)]
        cut = [ask(1.0 + i * 0.01, 2, 200 if i < 7 else 429, LIST, client=f"c{i % 3}",
                   phase="burst", seq=i // 3 + 1, headers={"Retry-After": "5"} if i >= 7
                   else None) for i in range(15)]
        return calm + cut

    assert judge(keyless(steady_at=0.0), claim)[FIRST].passed  # 3 + 7 admitted: cut at 11
    assert judge(keyless(steady_at=-6.0), claim)[FIRST].failed  # a window before: cut at 8


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


def test_a_claimed_store_outage_with_no_samples_owes_an_inconclusive_verdict() -> None:
    """Old code: no store-down sample, no verdict at all — the claim dropped in silence."""
    silent = judge(healthy(store_down=[]))[OPEN]
    assert silent.inconclusive and "no request was recorded while redis was down" \
        in silent.reason
    assert silent.claim == "rate_limit.api" and silent.evidence
    closed = CLAIM.model_copy(update={"fails_open": False})
    assert judge(healthy(store_down=[]), closed)[CLOSED].inconclusive
    skipped = by_name(ratelimit_verdicts(frame(healthy(store_down=[])), CLAIM, tolerance=0,
                                         store_down=False))[OPEN]
    assert skipped.inconclusive and skipped.reason.startswith("not verified")


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


# --- a leaky bucket (nginx limit_req): admitted by arrival rate, not counted per window -------

# nginx's `limit_req … burst=20` admits 21 at once: a bucket of 21, as x/time/rate's b is
LEAKY = RateLimitClaim(name="gw", requests=[LIST], limit="100/second",
                       algorithm="leaky_bucket", burst=21, key="header",
                       key_header="X-Forwarded-For")
# a slow bucket: the rate refills well under one request while a burst is sent, so a bucket
# one request larger or smaller than claimed is decidable
SLOW = LEAKY.model_copy(update={"limit": "10/second", "burst": 6})


def at_once(n: int, admitted: int | None, *, key: str = "g0", at: float = 0.0,
            ok_ms: float = 80.0, spread_s: float = 0.005) -> Rows:
    """``n`` requests sent within ``spread_s``; the first ``admitted`` answered 200 after
    ``ok_ms``, the rest 429 at once (``admitted`` None: every one answered 200)."""
    return [ask(at + spread_s * i / n, ok_ms if admitted is None or i < admitted else 2,
                200 if admitted is None or i < admitted else 429, LIST, client=key,
                phase="burst", seq=i + 1)
            for i in range(n)]


def leaky(rows: Rows, claim: RateLimitClaim = LEAKY, tolerance: int = 0) -> Any:
    return judge(rows, claim, tolerance)[FIRST]


def test_leaky_bucket_cut_after_its_burst_passes() -> None:
    got = leaky([*at_once(106, 22), *at_once(106, 21, key="g1")])
    assert got.passed, got.reason
    assert "21..22" in got.reason


def test_leaky_bucket_that_admits_everything_fails() -> None:
    got = leaky(at_once(106, None))
    assert got.failed and "never answered 429" in got.reason, got.reason


def test_leaky_bucket_refusing_before_its_burst_fails() -> None:
    got = leaky(at_once(60, 12))
    assert got.failed and "before" in got.reason, got.reason
    # one short: a fresh key refused while its bucket of 21 still held a token (the 20 ms the
    # limiter's clock may lag refill 2 requests at 100/s, but 5 ms of sending refill none of it)
    short = leaky(at_once(60, 20))
    assert short.failed and "since it was last full" in short.reason, short.reason


def test_a_bucket_one_larger_than_claimed_fails_naming_nginx_burst() -> None:
    """nginx's ``burst=5`` stated as ``burst = 5``: its bucket admits 6 at once, one more than
    claimed — failed, and the reason says how nginx's burst is stated. (Answered within 2 ms:
    each request surely arrived within a span the rate refills far less than one of.)"""
    assert leaky(at_once(30, 6, ok_ms=2), SLOW).passed
    got = leaky(at_once(30, 7, ok_ms=2), SLOW)
    assert got.failed and "admits at most 6" in got.reason, got.reason
    assert "burst = N + 1" in got.reason


def test_a_bucket_one_smaller_than_claimed_fails() -> None:
    """x/time/rate's ``NewLimiter(10, 5)`` claimed as a bucket of 6: it refuses the sixth
    request of a burst, which a bucket of 6 admits."""
    got = leaky(at_once(30, 5), SLOW)
    assert got.failed and "at most 5 requests admitted" in got.reason, got.reason


def test_leaky_bucket_draining_slower_than_claimed_fails() -> None:
    """A sustained sender at 200/s: a bucket of 100/s admits about half after its burst; one
    of 10/s refuses long before that."""
    rows = []
    admitted, excess = 0.0, 0.0
    for i in range(200):  # a 10/s limiter with burst 20, sent one every 5 ms, answered in 2 ms
        t = i * 0.005
        excess = max(0.0, excess - 10 * 0.005) + 1 if i else 0.0
        ok = excess <= 20
        admitted += ok
        if not ok:
            excess -= 1
        rows.append(ask(t, 2, 200 if ok else 429, LIST, client="g0", phase="burst", seq=i + 1))
    got = leaky(rows)
    assert got.failed and "before" in got.reason, got.reason


def test_leaky_bucket_never_outpaced_is_inconclusive() -> None:
    rows = [ask(i * 0.02, 5, 200, LIST, client="g0", phase="burst", seq=i + 1)
            for i in range(60)]  # 50/s: below the claimed rate, rightly never refused
    got = leaky(rows)
    assert got.inconclusive and "never outpaced" in got.reason, got.reason
    assert leaky([]).inconclusive


def test_leaky_bucket_claim_validation() -> None:
    with pytest.raises(ValueError, match="leaky bucket"):
        RateLimitClaim(name="x", requests=[LIST], limit="1/second", key="none", burst=3)
    with pytest.raises(ValueError, match=r"needs burst >= 1.*burst=N: N \+ 1"):
        RateLimitClaim(name="x", requests=[LIST], limit="1/second", key="none",
                       algorithm="leaky_bucket")
    assert LEAKY.rate_per_s == 100.0


def _token_bucket(arrivals_s: list[float], rate_per_s: float, size: int) -> list[bool]:
    """golang.org/x/time/rate's Limiter.Allow: a bucket of ``size`` tokens, initially full,
    refilled at ``rate_per_s``."""
    out, tokens, last = [], float(size), None
    for now in arrivals_s:
        if last is not None:
            tokens = min(float(size), tokens + (now - last) * rate_per_s)
        last = now
        ok = tokens >= 1
        tokens -= ok
        out.append(ok)
    return out


def _nginx(arrivals_ms: list[int], rate_per_s: int, burst: int) -> list[bool]:
    """nginx's limit_req, as ngx_http_limit_req_lookup computes it (excess in 1/1000 of a
    request, whole milliseconds, the first request of a key at 0)."""
    out, excess, last = [], 0, None
    for now in arrivals_ms:
        if last is None:
            out.append(True)
            last = now
            continue
        ms = max(0, now - last)
        new = max(0, excess - rate_per_s * 1000 * ms // 1000 + 1000)
        if new > burst * 1000:
            out.append(False)
            continue
        excess = new
        if ms:
            last = now
        out.append(True)
    return out


@settings(max_examples=60)
@given(st.integers(min_value=1, max_value=200), st.integers(min_value=0, max_value=30),
       st.lists(st.tuples(st.floats(0, 0.3), st.floats(0, 0.45), st.floats(0.001, 1.5)),
                min_size=1, max_size=150))
def test_leaky_verdict_never_fails_a_true_leaky_bucket(rate: int, burst: int,
                                                       sends: list[tuple[float, float, float]]
                                                       ) -> None:
    """Whatever the sending times, delivery delays (within DELIVERY_S) and answer times, a
    bucket that is what the claim says is never failed: nginx's ``burst=N`` is claimed as a
    bucket of N + 1."""
    claim = LEAKY.model_copy(update={"limit": f"{rate}/second", "burst": burst + 1})
    arrivals = sorted((round((sent + delay) * 1000), sent, answer)
                      for sent, delay, answer in sends)
    decided = _nginx([a for a, _, _ in arrivals], rate, burst)
    rows = [ask(sent, (a / 1000 - sent + (answer if ok else 0.001)) * 1000,
                200 if ok else 429, LIST, client="g0", phase="burst", seq=i + 1)
            for i, ((a, sent, answer), ok) in enumerate(zip(arrivals, decided, strict=True))]
    got = leaky(rows, claim)
    assert not got.failed, got.reason


@settings(max_examples=60)
@given(st.integers(min_value=1, max_value=200), st.integers(min_value=1, max_value=30),
       st.lists(st.tuples(st.floats(0, 0.3), st.floats(0, 0.45), st.floats(0.001, 1.5)),
                min_size=1, max_size=150))
def test_leaky_verdict_never_fails_a_true_token_bucket(rate: int, size: int,
                                                       sends: list[tuple[float, float, float]]
                                                       ) -> None:
    """x/time/rate's ``NewLimiter(rate, size)`` claimed as ``burst = size`` is never failed."""
    claim = LEAKY.model_copy(update={"limit": f"{rate}/second", "burst": size})
    arrivals = sorted((sent + delay, sent, answer) for sent, delay, answer in sends)
    decided = _token_bucket([a for a, _, _ in arrivals], rate, size)
    rows = [ask(sent, (a - sent + (answer if ok else 0.001)) * 1000,
                200 if ok else 429, LIST, client="g0", phase="burst", seq=i + 1)
            for i, ((a, sent, answer), ok) in enumerate(zip(arrivals, decided, strict=True))]
    got = leaky(rows, claim)
    assert not got.failed, got.reason


@pytest.mark.parametrize("off", [-1, 1])
@pytest.mark.parametrize("size", [1, 2, 6, 20])
def test_a_bucket_off_by_one_from_its_claim_fails(size: int, off: int) -> None:
    """A burst written at once to a bucket one larger or one smaller than claimed, at a rate
    that refills under one request while it is sent: failed either way."""
    if size + off < 1:
        return
    claim = LEAKY.model_copy(update={"limit": "5/second", "burst": size})
    arrivals = [i * 0.0002 for i in range(size + 10)]
    decided = _token_bucket(arrivals, 5, size + off)
    rows = [ask(t, 3.0 if ok else 1.0, 200 if ok else 429, LIST, client="g0", phase="burst",
                seq=i + 1) for i, (t, ok) in enumerate(zip(arrivals, decided, strict=True))]
    assert leaky(rows, claim).failed
    exact = _token_bucket(arrivals, 5, size)
    rows = [ask(t, 3.0 if ok else 1.0, 200 if ok else 429, LIST, client="g0", phase="burst",
                seq=i + 1) for i, (t, ok) in enumerate(zip(arrivals, exact, strict=True))]
    assert leaky(rows, claim).passed
