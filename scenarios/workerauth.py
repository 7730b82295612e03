"""The run's secret, and what remote workers prove with it (pure: no Locust, no gevent).

Locust's master/worker protocol has no authentication: any host that reaches the master's port
can join as a worker, receive the run's settings and locustfile, and ship samples that the
verdicts would count as measured. gauntlet closes both doors in its own layer, on top of
Locust's messages (:mod:`gauntlet.scenarios.ship` does the talking):

* **joining** — the master holds every message of a client it does not know and answers it
  with a random challenge; the client answers ``HMAC-SHA256(secret, challenge, client id)``.
  Only then does Locust's own handling see the client (its ``client_ready``, a ``locustfile``
  request, gauntlet's settings request). A wrong or absent proof is refused, recorded and
  told to the client, which exits.
* **shipping** — every sample batch carries a sequence number (per worker, from 0) and a MAC
  over the worker's id, the number, the file, the offset and the bytes. The master drops a
  batch with a bad MAC, and a gap in the numbers is a lost batch; either makes the run's
  verdicts inconclusive, with the reason.

Why HMAC in gauntlet's layer rather than ZeroMQ's CURVE: Locust creates and binds its ZeroMQ
sockets itself, with no hook to set CURVE keys before the bind, and CURVE alone only encrypts:
telling workers apart needs a ZAP handler thread beside gevent's loop. A challenge on Locust's
messages needs neither, and works with every transport Locust may use. What it does not give
is secrecy: the samples and settings still cross the network in clear (see
``docs/load-engine.md``), so the master's port belongs on a network the team trusts.

    secret = new_secret()
    proof = prove(secret, challenge, "host_1234")
    assert proof_holds(secret, challenge, "host_1234", proof)
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ENV_SECRET = "GAUNTLET_WORKER_SECRET"
ENV_SECRET_FILE = "GAUNTLET_WORKER_SECRET_FILE"
MIN_SECRET_CHARS = 16

# what each MAC is over starts with its purpose: a proof can never pass for a batch's MAC
_JOIN = b"gauntlet/join/1"
_BATCH = b"gauntlet/batch/1"


class SecretError(ValueError):
    """The secret given cannot be used (a usage error: exit 2)."""


def new_secret() -> str:
    """A run's secret when none is given: 32 random bytes, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


def read_secret(environ: Mapping[str, str]) -> str | None:
    """The secret from ``$GAUNTLET_WORKER_SECRET_FILE`` (its first line) or
    ``$GAUNTLET_WORKER_SECRET``; None when neither is set. Never from a command line, which
    anyone on the machine reads in ``ps``."""
    path = environ.get(ENV_SECRET_FILE)
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise SecretError(f"{ENV_SECRET_FILE}={path}: {exc.strerror or exc}") from None
        value = text.strip().splitlines()[0].strip() if text.strip() else ""
        origin = f"{ENV_SECRET_FILE}={path}"
    else:
        value = (environ.get(ENV_SECRET) or "").strip()
        origin = ENV_SECRET
        if not value:
            return None
    if len(value) < MIN_SECRET_CHARS:
        raise SecretError(f"{origin}: the worker secret must have at least {MIN_SECRET_CHARS} "
                          f"characters, not {len(value)} (`gauntlet run` makes one when none "
                          "is given)")
    return value


def secret_from_file(path: str) -> str:
    """``--secret-file PATH``: the secret on its first line (a usage error if unusable)."""
    value = read_secret({ENV_SECRET_FILE: path})
    assert value is not None
    return value


def new_challenge() -> str:
    return secrets.token_hex(16)


def _mac(secret: str, *parts: bytes) -> str:
    digest = hmac.new(secret.encode(), digestmod=hashlib.sha256)
    for part in parts:  # length-prefixed: no two different part lists hash the same bytes
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def prove(secret: str, challenge: str, client_id: str) -> str:
    """The answer to a challenge: bound to the client's own id, so it cannot be replayed by
    another client."""
    return _mac(secret, _JOIN, challenge.encode(), client_id.encode())


def proof_holds(secret: str, challenge: str, client_id: str, proof: object) -> bool:
    return isinstance(proof, str) and hmac.compare_digest(prove(secret, challenge, client_id),
                                                          proof)


def batch_mac(secret: str, node: str, seq: int, file: str, offset: int, whole: bool,
              data: bytes) -> str:
    return _mac(secret, _BATCH, node.encode(), str(seq).encode(), file.encode(),
                str(offset).encode(), b"1" if whole else b"0", data)


@dataclass
class BatchLedger:
    """The master's account of one worker's batches: the next number it expects, and what it
    rejected (a bad MAC) or never got (a gap)."""

    next_seq: int = 0
    accepted: int = 0
    rejected: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    # numbers a batch with a bad MAC claimed: already named as rejected, so no gap says them
    # again (an unsigned number never moves ``next_seq``: a forger cannot skip the ledger ahead)
    claimed: set[int] = field(default_factory=set)

    def check(self, secret: str, node: str, batch: object) -> bool:
        """Whether ``batch`` (a chunk message's data) is this worker's next, intact batch."""
        if not isinstance(batch, Mapping):
            self.rejected.append("a batch that is not a mapping")
            return False
        seq, mac, data = batch.get("seq"), batch.get("mac"), batch.get("data")
        file, offset = str(batch.get("file", "")), batch.get("offset", -1)
        if not isinstance(seq, int) or not isinstance(data, bytes) \
                or not isinstance(offset, int) or not isinstance(mac, str):
            self.rejected.append(f"batch {seq!r}: not a signed batch")
            return False
        expected = batch_mac(secret, node, seq, file, offset, bool(batch.get("whole")), data)
        if not hmac.compare_digest(expected, mac):
            self.rejected.append(f"batch {seq} ({file}, {len(data)} bytes): bad MAC")
            self.claimed.add(seq)
            return False
        if seq < self.next_seq:
            self.rejected.append(f"batch {seq} ({file}): repeated (expected {self.next_seq})")
            return False
        missing = [n for n in range(self.next_seq, seq) if n not in self.claimed]
        if missing:
            shown = ", ".join(map(str, missing[:5])) + (", …" if len(missing) > 5 else "")
            self.gaps.append(f"{len(missing)} batch(es) never arrived ({shown})")
        self.next_seq = seq + 1
        self.accepted += 1
        return True

    def problems(self) -> list[str]:
        return [*self.rejected, *self.gaps]


def environ_secret() -> str | None:
    """This process's secret (Locust's side: the harness or `gauntlet worker` put it there)."""
    return read_secret(os.environ)
