"""Retry policy: attempts, full-jitter bounds, and what is never retried (no real sleeping)."""

from __future__ import annotations

import asyncio

import pytest

from stack.api.config import Settings
from stack.api.retry import UNBOUNDED_FACTOR, RetryPolicy, call_with_retries


class Transient(Exception):
    pass


class Permanent(Exception):
    pass


def run(fails: list[BaseException], policy: RetryPolicy) -> tuple[object, int, list[float], int]:
    calls = 0
    sleeps: list[float] = []
    retried = 0

    async def op() -> str:
        nonlocal calls
        calls += 1
        if fails:
            raise fails.pop(0)
        return "ok"

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    def on_retry(_: BaseException) -> None:
        nonlocal retried
        retried += 1

    async def main() -> object:
        try:
            return await call_with_retries(
                op, policy, lambda e: isinstance(e, Transient), on_retry, sleep=fake_sleep
            )
        except Exception as exc:
            return exc

    return asyncio.run(main()), calls, sleeps, retried


def test_transient_errors_are_retried_until_success() -> None:
    result, calls, sleeps, retried = run([Transient(), Transient()], RetryPolicy(3, 1.0, 8.0))
    assert (result, calls, retried) == ("ok", 3, 2)
    # exponential floor (1 s, 2 s) plus up to one initial delay of jitter
    assert 1.0 <= sleeps[0] <= 2.0 and 2.0 <= sleeps[1] <= 3.0


def test_attempts_count_the_first_try() -> None:
    result, calls, _, retried = run([Transient()] * 5, RetryPolicy(3, 1.0, 8.0))
    assert isinstance(result, Transient)  # the last error, unwrapped
    assert (calls, retried) == (3, 2)


def test_permanent_errors_are_not_retried() -> None:
    result, calls, sleeps, _ = run([Permanent()], RetryPolicy(3, 1.0, 8.0))
    assert isinstance(result, Permanent)
    assert (calls, sleeps) == (1, [])


def test_disabled_policy_tries_once() -> None:
    result, calls, _, _ = run([Transient()], RetryPolicy.disabled())
    assert isinstance(result, Transient) and calls == 1


@pytest.mark.parametrize("seed", range(20))
def test_backoff_never_exceeds_the_cap(seed: int) -> None:
    import random

    random.seed(seed)
    _, _, sleeps, _ = run([Transient()] * 9, RetryPolicy(10, 1.0, 8.0))
    assert all(0 <= s <= 8.0 for s in sleeps)
    assert all(min(8.0, 2**i) <= s <= 2**i + 1.0 for i, s in enumerate(sleeps))


@pytest.mark.parametrize("seed", range(20))
def test_unbounded_variant_sleeps_five_times_longer_past_the_cap(seed: int) -> None:
    """RETRY_BACKOFF_UNBOUNDED: still retries, each sleep 5x the envelope and max_s ignored."""
    import random

    random.seed(seed)
    result, calls, sleeps, retried = run([Transient()] * 3,
                                         RetryPolicy(5, 0.2, 1.0, unbounded=True))
    assert (result, calls, retried) == ("ok", 4, 3)
    for i, s in enumerate(sleeps):
        ceiling = 0.2 * 2**i + 0.2  # the most the envelope allows sleep i+1, before max_s
        assert UNBOUNDED_FACTOR * ceiling <= s <= UNBOUNDED_FACTOR * ceiling + 0.2  # + jitter
    assert all(s > 1.0 for s in sleeps)  # every one past RETRY_MAX_S


def test_policy_from_settings_carries_the_switch() -> None:
    env = {"API_PORT": "1", "DATABASE_URL": "postgresql://x", "REDIS_URL": "redis://x",
           "UPSTREAM_URL": "http://x", "RETRY_INITIAL_S": "0.2", "RETRY_MAX_S": "1"}
    assert RetryPolicy.from_settings(Settings.from_env(env)) == RetryPolicy(3, 0.2, 1.0)
    broken = Settings.from_env({**env, "RETRY_BACKOFF_UNBOUNDED": "1"})
    assert RetryPolicy.from_settings(broken) == RetryPolicy(3, 0.2, 1.0, unbounded=True)


class AskedToWait(Transient):
    def __init__(self, seconds: float) -> None:
        super().__init__("503")
        self.retry_after_s = seconds


def test_a_retry_after_longer_than_the_backoff_is_waited() -> None:
    policy = RetryPolicy(attempts=3, initial_s=0.2, max_s=1.0)
    result, calls, sleeps, _ = run([AskedToWait(2.0), Transient()], policy)
    assert result == "ok" and calls == 3
    assert sleeps[0] == 2.0  # the upstream's ask, not the 0.2-0.4 s backoff
    assert sleeps[1] < 1.0  # no ask: the backoff


def test_a_shorter_retry_after_does_not_shorten_the_backoff() -> None:
    _, _, sleeps, _ = run([AskedToWait(0.0)], RetryPolicy(attempts=2, initial_s=0.5, max_s=1.0))
    assert sleeps[0] >= 0.5


def test_the_broken_variant_ignores_the_retry_after() -> None:
    policy = RetryPolicy(attempts=2, initial_s=0.2, max_s=1.0, honour_retry_after=False)
    _, _, sleeps, _ = run([AskedToWait(2.0)], policy)
    assert sleeps[0] < 1.0
