"""The run's worker secret, the join proof and the signed batches (pure logic; the end-to-end
refusal, forgery and loss are in tests/e2e/test_workers.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gauntlet.generator import assess
from gauntlet.scenarios import remote
from gauntlet.scenarios.workerauth import (
    ENV_SECRET,
    ENV_SECRET_FILE,
    BatchLedger,
    SecretError,
    batch_mac,
    new_challenge,
    new_secret,
    proof_holds,
    prove,
    read_secret,
)
from tests.e2e.conftest import ROOT

SECRET = new_secret()


def signed(seq: int, data: bytes = b"a,b\n", node: str = "w1", secret: str = SECRET,
           file: str = "samples-7.csv", offset: int = 0) -> dict[str, object]:
    return {"file": file, "offset": offset, "data": data, "whole": False, "seq": seq,
            "mac": batch_mac(secret, node, seq, file, offset, False, data)}


def test_a_proof_holds_only_for_its_secret_challenge_and_client() -> None:
    challenge = new_challenge()
    proof = prove(SECRET, challenge, "host_1")
    assert proof_holds(SECRET, challenge, "host_1", proof)
    assert not proof_holds(new_secret(), challenge, "host_1", proof)  # another run's secret
    assert not proof_holds(SECRET, new_challenge(), "host_1", proof)  # replayed
    assert not proof_holds(SECRET, challenge, "host_2", proof)  # another client's
    assert not proof_holds(SECRET, challenge, "host_1", None)
    assert not proof_holds(SECRET, challenge, "host_1", 42)


def test_a_join_proof_never_passes_for_a_batch_mac() -> None:
    # both are HMACs under the same secret: their inputs start with different purposes
    assert prove(SECRET, "0", "w1") != batch_mac(SECRET, "w1", 0, "", 0, False, b"")


def test_the_ledger_takes_numbered_intact_batches_in_order() -> None:
    ledger = BatchLedger()
    assert all(ledger.check(SECRET, "w1", signed(n, offset=n * 4)) for n in range(3))
    assert ledger.accepted == 3 and ledger.problems() == []


def test_a_bad_mac_is_rejected_and_named() -> None:
    ledger = BatchLedger()
    forged = signed(0)
    forged["data"] = b"9,9\n"  # the bytes changed after signing
    assert not ledger.check(SECRET, "w1", forged)
    assert not ledger.check(SECRET, "w1", signed(0, secret=new_secret()))  # not the run's
    assert not ledger.check(SECRET, "w1", signed(0, node="w2"))  # another worker's batch
    assert ledger.problems() == [
        "batch 0 (samples-7.csv, 4 bytes): bad MAC"] * 3
    assert ledger.check(SECRET, "w1", signed(0))  # the genuine one still goes in


def test_a_gap_and_a_repeat_are_problems() -> None:
    ledger = BatchLedger()
    assert ledger.check(SECRET, "w1", signed(0))
    assert ledger.check(SECRET, "w1", signed(3))  # 1 and 2 were lost
    assert not ledger.check(SECRET, "w1", signed(3))  # replayed
    assert ledger.problems() == ["batch 3 (samples-7.csv): repeated (expected 4)",
                                 "2 batch(es) never arrived (1, 2)"]


def test_a_batch_rejected_for_its_mac_is_not_also_a_gap() -> None:
    ledger = BatchLedger()
    assert ledger.check(SECRET, "w1", signed(0))
    tampered = {**signed(1), "data": b"X,b\n"}
    assert not ledger.check(SECRET, "w1", tampered)
    assert ledger.check(SECRET, "w1", signed(2))
    assert ledger.problems() == ["batch 1 (samples-7.csv, 4 bytes): bad MAC"]
    # a bad MAC's number moves nothing: a forger cannot skip the ledger ahead
    assert not ledger.check(SECRET, "w1", {**signed(9), "mac": "0" * 64})
    assert ledger.next_seq == 3


def test_an_unsigned_batch_is_rejected() -> None:
    ledger = BatchLedger()
    assert not ledger.check(SECRET, "w1", {"file": "samples-7.csv", "offset": 0,
                                           "data": b"x\n"})
    assert ledger.problems() == ["batch None: not a signed batch"]


def test_the_secret_comes_from_a_file_or_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text(f"{SECRET}\nignored\n")
    assert read_secret({ENV_SECRET_FILE: str(path), ENV_SECRET: "x" * 20}) == SECRET
    assert read_secret({ENV_SECRET: f"  {SECRET} "}) == SECRET
    assert read_secret({}) is None
    with pytest.raises(SecretError, match="at least 16 characters, not 5"):
        read_secret({ENV_SECRET: "short"})
    with pytest.raises(SecretError, match=f"{ENV_SECRET_FILE}=.*No such file"):
        read_secret({ENV_SECRET_FILE: str(tmp_path / "absent")})


def test_the_secret_is_never_sent_to_a_worker() -> None:
    sent = remote.settings_for_workers({ENV_SECRET: SECRET, ENV_SECRET_FILE: "/s",
                                        "GAUNTLET_SAMPLE_MODE": "rows"})
    assert sent == {"GAUNTLET_SAMPLE_MODE": "rows"}


def test_a_silent_worker_s_unrecorded_share_is_estimated() -> None:
    status = {"seen": ["w1", "w2"], "done": {"w1": {}}, "test_s": 8.0,
              "last_batch_s": {"w1": 8.0, "w2": 2.0}}
    lines = remote.unrecorded(status, {"w1": 800, "w2": 200})
    # w2 sent 100 req/s for 2 s, then nothing for 6 s: about 600 unrecorded
    assert lines == ["w2: its batches stop 2.0 s into the 8.0 s test; at its rate before "
                     "(100 req/s), about 600 requests were never recorded (the record holds "
                     "1000)"]
    assert remote.unrecorded({**status, "done": {"w1": {}, "w2": {}}}, {"w1": 1}) == []


def test_batch_problems_and_strangers_are_reported() -> None:
    status = {"seen": ["w1"], "done": {"w1": {}},
              "batches": {"w1": {"accepted": 3, "problems": ["batch 2 (x): bad MAC"]}},
              "refused": {"evil_1": "sent a wrong proof: its worker secret is not this run's"},
              "unanswered": ["plain_2"]}
    assert remote.incomplete(status) == ["w1: batch 2 (x): bad MAC"]
    assert remote.strangers(status) == [
        "refused worker evil_1: sent a wrong proof: its worker secret is not this run's",
        "client plain_2 was challenged and never answered (not a gauntlet worker?)"]


def test_lost_samples_make_every_pass_inconclusive() -> None:
    health = assess([10.0] * 6, 1, 0, 0.0, 100, False, lost=["w2: its last chunk never arrived"])
    assert not health.reliable
    assert health.distrust() == ("remote workers' samples were lost on the way: "
                                 "w2: its last chunk never arrived")


def test_a_worker_without_a_secret_does_not_start() -> None:
    env = {k: v for k, v in __import__("os").environ.items()
           if k not in (ENV_SECRET, ENV_SECRET_FILE)}
    done = subprocess.run([sys.executable, "-m", "gauntlet.cli", "worker", "--master",
                           "127.0.0.1:5557"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "no worker secret" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
