"""Signals set a flag; the flow notices it where it waits; a shielded teardown is never cut, and
a signal that arrives during one is acted on when it ends; forced kills are recorded.

Real signals to this process (``os.kill(os.getpid(), SIGINT)``), always inside
``cleanup.signal_handlers()`` so none can reach pytest.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from gauntlet import cleanup
from gauntlet.errors import Interrupted
from gauntlet.procs import ManagedProcess


def _sigint() -> None:
    """Send SIGINT to ourselves and return once the handler has run (it runs in this thread)."""
    before = len(cleanup.signals_seen())
    os.kill(os.getpid(), signal.SIGINT)
    deadline = time.monotonic() + 2.0
    while len(cleanup.signals_seen()) == before:
        assert time.monotonic() < deadline, "the handler never ran"
        time.sleep(0.001)


def _later(delay_s: float, sig: int = signal.SIGINT) -> threading.Timer:
    timer = threading.Timer(delay_s, os.kill, (os.getpid(), sig))
    timer.start()
    return timer


def test_the_handler_only_sets_a_flag_and_check_raises() -> None:
    with pytest.raises(Interrupted, match="SIGINT"), cleanup.signal_handlers():
        _sigint()
        after = "ran"  # the handler did not raise into this frame
        assert cleanup.interrupted() == signal.SIGINT
        assert cleanup.signals_seen() == [signal.SIGINT]
        cleanup.check()
        after = "not reached"
    assert after == "ran"


def test_sigterm_too() -> None:
    with pytest.raises(Interrupted, match="SIGTERM"), cleanup.signal_handlers():
        os.kill(os.getpid(), signal.SIGTERM)
        cleanup.sleep(2.0)


def test_an_interrupt_is_sticky_until_the_handlers_are_restored() -> None:
    with cleanup.signal_handlers():
        _sigint()
        for _ in range(2):
            with pytest.raises(Interrupted):
                cleanup.check()
    assert cleanup.interrupted() is None
    cleanup.check()  # handlers restored: state reset, nothing pending


def test_without_handlers_check_does_nothing_and_old_handlers_come_back() -> None:
    cleanup.check()
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(Interrupted), cleanup.signal_handlers():
        assert signal.getsignal(signal.SIGINT) is not before
        _sigint()
        cleanup.check()
    assert signal.getsignal(signal.SIGINT) is before


def test_a_signal_never_noticed_is_raised_when_the_handlers_go() -> None:
    with pytest.raises(Interrupted, match="after the last wait"), cleanup.signal_handlers():
        _sigint()  # ... and no wait ever calls check()
    assert cleanup.interrupted() is None


def test_a_shield_defers_the_signal_to_its_end() -> None:
    steps = []
    with pytest.raises(Interrupted, match="during a teardown"), cleanup.signal_handlers():
        with cleanup.shielded():
            _sigint()
            cleanup.check()  # shielded: does not raise
            cleanup.sleep(0.05)
            steps.append("teardown finished")
        steps.append("not reached")
    assert steps == ["teardown finished"]


def test_nested_shields_raise_only_when_the_outermost_ends() -> None:
    steps = []
    with pytest.raises(Interrupted), cleanup.signal_handlers(), cleanup.shielded():
        with cleanup.shielded():
            _sigint()
        steps.append("inner ended, still shielded")
        assert cleanup.is_shielded()
    assert steps == ["inner ended, still shielded"]


def test_a_second_signal_during_a_shield_cannot_cut_the_teardown() -> None:
    steps = []
    with pytest.raises(Interrupted), cleanup.signal_handlers(), cleanup.shielded():
        _sigint()
        _sigint()  # a second Ctrl-C while shielded: only recorded
        steps.append("teardown finished")
    assert steps == ["teardown finished"]
    assert cleanup.signals_seen() == []  # reset when the handlers went


def test_a_shield_ending_while_an_exception_unwinds_lets_it_go_on() -> None:
    with pytest.raises(ValueError, match="the original"), cleanup.signal_handlers(), \
            cleanup.shielded():
        _sigint()
        raise ValueError("the original")


def test_a_shield_in_a_finally_does_not_replace_the_exception_unwinding() -> None:
    def teardown_after_error() -> None:
        try:
            raise ValueError("the original")
        finally:
            with cleanup.shielded():
                _sigint()

    with cleanup.signal_handlers():
        with pytest.raises(ValueError, match="the original"):
            teardown_after_error()
        with pytest.raises(Interrupted):  # the interrupt still stands for the next wait
            cleanup.check()


def test_a_second_signal_the_flow_has_not_noticed_forces_the_interrupt() -> None:
    """The escape hatch: a wait that never polls must not make Ctrl-C wait forever."""
    with pytest.raises(Interrupted, match="second signal"), cleanup.signal_handlers():
        _sigint()
        _later(0.05)
        time.sleep(5)  # a blocking wait that does not call check()
        pytest.fail("the second signal did not force the interrupt")


def test_the_shield_is_per_thread() -> None:
    """Another thread's teardown does not shield the main thread, and vice versa."""
    entered, release = threading.Event(), threading.Event()
    seen: list[str] = []

    def teardown() -> None:
        try:
            with cleanup.shielded():
                entered.set()
                release.wait(5)
                cleanup.check()  # shielded in this thread: no raise
                seen.append("thread finished its teardown")
        except Interrupted:
            seen.append("thread raised when its shield ended")

    with cleanup.signal_handlers():
        thread = threading.Thread(target=teardown)
        thread.start()
        assert entered.wait(5)
        assert not cleanup.is_shielded()
        _sigint()
        with pytest.raises(Interrupted):
            cleanup.check()  # the main thread is not shielded by the other's teardown
        release.set()
        thread.join(5)
    assert seen == ["thread finished its teardown", "thread raised when its shield ended"]


def test_shield_depth_is_not_a_shared_counter() -> None:
    """Many threads entering and leaving shields leave every count at zero (no lost update)."""
    def churn() -> None:
        for _ in range(2000):
            with cleanup.shielded():
                pass

    threads = [threading.Thread(target=churn) for _ in range(8)]
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert not cleanup.is_shielded()


def test_sleep_notices_a_signal_within_a_poll() -> None:
    with cleanup.signal_handlers():
        _later(0.1)
        started = time.monotonic()
        with pytest.raises(Interrupted):
            cleanup.sleep(30)
        # far short of the 30 s asked for; the bound leaves room for a busy machine's pauses
        assert time.monotonic() - started < 10


def test_process_waits_notice_a_signal(tmp_path: Path) -> None:
    proc = ManagedProcess("sleeper", ["sleep", "30"], log_path=tmp_path / "sleeper.log",
                          stop_timeout_s=2)
    with proc, cleanup.signal_handlers():
        _later(0.1)
        started = time.monotonic()
        with pytest.raises(Interrupted):
            proc.wait()  # no bound: only the signal ends it
        assert time.monotonic() - started < 2.0
        with pytest.raises(Interrupted):  # sticky: the next wait raises at once
            proc.wait_until(lambda: False, timeout_s=30, what="ready")
    assert not proc.alive()


def test_a_forced_kill_is_recorded(tmp_path: Path) -> None:
    since = time.time()
    proc = ManagedProcess("stubborn", ["sh", "-c", "trap '' TERM; sleep 30 & wait"],
                          log_path=tmp_path / "stubborn.log", stop_timeout_s=0.3).start()
    time.sleep(0.2)  # let the trap be set
    result = proc.stop()
    assert result.forced
    kills = cleanup.forced_kills(since_s=since)
    assert [k.name for k in kills] == ["stubborn"]
    assert "still running 0.3 s after SIGTERM" in kills[0].how
    assert kills[0].pid is not None and kills[0].as_dict()["name"] == "stubborn"


def test_leftovers_of_a_process_group_are_recorded(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gauntlet.procs.GROUP_GRACE_S", 0.2)
    since = time.time()
    # the leader exits on SIGTERM; its background child (same group, ignores TERM) lingers
    proc = ManagedProcess("leader", ["sh", "-c", "(trap '' TERM; sleep 30) & sleep 30"],
                          log_path=tmp_path / "leader.log", stop_timeout_s=2).start()
    time.sleep(0.2)
    assert not proc.stop().forced
    kills = cleanup.forced_kills(since_s=since)
    assert [(k.name, "group" in k.how) for k in kills] == [("leader", True)]


def test_a_clean_stop_records_nothing(tmp_path: Path) -> None:
    since = time.time()
    proc = ManagedProcess("polite", ["sleep", "30"], log_path=tmp_path / "polite.log").start()
    assert not proc.stop().forced
    assert cleanup.forced_kills(since_s=since) == []
