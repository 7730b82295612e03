"""Remote Locust workers: the pure parts that the harness and the Locust side share.

A remote worker is a Locust worker on another machine (``gauntlet worker --master HOST:PORT``)
attached to the run's Locust master. It cannot write into the master's run dir, so
:mod:`gauntlet.scenarios.ship` (loaded inside Locust, on both sides) ships its raw sample files
over Locust's own master/worker channel. Everything here is plain Python that never imports
Locust — ``import locust`` monkey-patches the interpreter with gevent — so the harness (the
suite runner, the ``gauntlet worker`` command) and the unit tests use it as well as ``ship``.

The protocol, message by message (all Locust custom messages):

* ``gauntlet_challenge`` / ``gauntlet_proof`` / ``gauntlet_refused`` — the master answers the
  first message of a client it does not know with a challenge, and hands that client's
  messages to Locust only once its proof holds (:mod:`gauntlet.scenarios.gate`,
  :mod:`gauntlet.scenarios.workerauth`); a wrong or absent proof is refused;
* ``gauntlet_settings`` — before Locust imports anything on the worker, it asks the master for
  the run's ``GAUNTLET_*`` settings (sample mode, the open model's schedule, the contract's
  capture columns, the declared traffic): read at import time by the capture and the
  locustfiles, they cannot arrive with Locust's spawn message, which comes later;
* ``gauntlet_chunk`` — the worker sends the complete lines its capture has written since the
  last chunk, every :data:`SHIP_EVERY_S`, with the byte offset they start at, so the master
  can tell a gap or a repeat from the next chunk, a sequence number and a MAC under the run's
  secret (a batch with a bad MAC is dropped, a gap in the numbers is a lost batch);
* ``gauntlet_finish`` — when the test stops, the master asks every worker for its last chunk;
  the worker stops its users (the capture flushes and writes its generator figures), sends the
  rest, its ``generator-<pid>.json``, then
* ``gauntlet_done`` — with the size of every file it shipped (signed and numbered like a
  chunk, so a lost last chunk is a gap too); the master waits for one from
  every worker it has seen, at most ``GAUNTLET_FINAL_WAIT_S`` (default :data:`FINAL_WAIT_S`),
  and records who was complete in ``raw/remote-workers.json``.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gauntlet.scenarios.workerauth import ENV_SECRET, ENV_SECRET_FILE

DEFAULT_MASTER_PORT = 5557

SETTINGS_MSG = "gauntlet_settings"
CHUNK_MSG = "gauntlet_chunk"
FINISH_MSG = "gauntlet_finish"
DONE_MSG = "gauntlet_done"
CHALLENGE_MSG = "gauntlet_challenge"
PROOF_MSG = "gauntlet_proof"
REFUSED_MSG = "gauntlet_refused"
# a Locust worker the master refused exits with this code (`gauntlet worker` then says why)
REFUSED_EXIT = 77

# the master's record of its remote workers, beside the samples it wrote for them
STATUS_FILE = "remote-workers.json"

# environment: set by the harness for the master, by `gauntlet worker` for a worker
ENV_REMOTE_WORKERS = "GAUNTLET_REMOTE_WORKERS"  # master: how many remote workers to expect
ENV_FINAL_WAIT_S = "GAUNTLET_FINAL_WAIT_S"  # master: bound on the wait for the last chunks
ENV_SHIP = "GAUNTLET_SHIP"  # worker: "1" = ship samples to the master
ENV_MASTER = "GAUNTLET_MASTER"  # worker: host:port of the master
ENV_CONNECT_TIMEOUT_S = "GAUNTLET_CONNECT_TIMEOUT_S"  # worker: bound on reaching the master

# settings that describe one machine, never sent from the master to a worker; the secret least
# of all (a worker proves it knows it: sending it would give it away)
LOCAL_ONLY = frozenset({"GAUNTLET_SAMPLES_DIR", ENV_REMOTE_WORKERS, ENV_FINAL_WAIT_S, ENV_SHIP,
                        ENV_MASTER, ENV_CONNECT_TIMEOUT_S, ENV_SECRET, ENV_SECRET_FILE})

FINAL_WAIT_S = 30.0
SHIP_EVERY_S = 0.5  # the capture's own flush cadence (capture.FLUSH_EVERY_S)
CHUNK_MAX_BYTES = 1 << 20  # one message at most; a bigger backlog goes as several

# what a worker's capture writes, and so what a master accepts: kind, pid, extension
LOCAL_FILE = re.compile(r"^(samples|hdr|generator)-(\d+)\.(csv|jsonl|json)$")
_EXTENSIONS = {"samples": "csv", "hdr": "jsonl", "generator": "json"}


def parse_master(text: str) -> tuple[str, int]:
    """``HOST``, ``HOST:PORT`` or ``[IPv6]:PORT`` → (host, port); ValueError names the fault.

    >>> parse_master("10.0.0.5")
    ('10.0.0.5', 5557)
    """
    text = text.strip()
    host, port_text = text, None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError(f"--master {text!r}: unclosed '[' (give [IPv6]:PORT)")
        host, rest = text[1:end], text[end + 1:]
        if rest and not rest.startswith(":"):
            raise ValueError(f"--master {text!r}: expected ':PORT' after ']'")
        port_text = rest[1:] if rest else None
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    elif text.count(":") > 1:  # a bare IPv6 address
        host = text
    if not host or not re.fullmatch(r"[A-Za-z0-9_.:-]+", host):
        raise ValueError(f"--master {text!r}: not a host name or address")
    if port_text is None:
        return host, DEFAULT_MASTER_PORT
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"--master {text!r}: port must be 1..65535, not {port_text!r}")
    return host, int(port_text)


def is_loopback(host: str) -> bool:
    """Whether a bind address keeps the master's port on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name ("*", a host name): it may well resolve beyond loopback
        return False


def master_args(remote_workers: int, bind_host: str, bind_port: int,
                wait_s: float) -> list[str]:
    """Locust's own flags for a master that waits, bounded, for its remote workers.

    ``--expect-workers-max-wait`` makes Locust give up (exit 1, after telling the workers that
    did come to quit) when they do not all arrive; 0 would mean forever, so at least 1 s.
    """
    return ["--master", "--expect-workers", str(remote_workers),
            "--expect-workers-max-wait", str(max(1, math.ceil(wait_s))),
            "--master-bind-host", bind_host, "--master-bind-port", str(bind_port)]


def worker_argv(host: str, port: int, locustfile: str | None,
                python: str = sys.executable) -> list[str]:
    """A Locust worker with gauntlet's capture loaded; ``-f -`` downloads the master's
    locustfiles (Locust 2.x sends their contents on request), a path uses a local copy."""
    return [python, "-m", "gauntlet.scenarios._locust_main", "--worker",
            "--master-host", host, "--master-port", str(port),
            "-f", locustfile or "-", "--loglevel", "WARNING",
            # a failed request is the verdicts' business, not the worker's exit code
            "--exit-code-on-error", "0"]


def worker_env(base: Mapping[str, str], samples_dir: Path, host: str, port: int,
               connect_timeout_s: float, repo_root: Path) -> dict[str, str]:
    """The worker's environment: capture into a local directory and ship from it.

    ``PYTHONPATH`` gets the checkout, as the harness gives its own Locust: a locustfile
    downloaded into a temp dir still imports its helpers by package name.
    """
    return {
        **base,
        "GAUNTLET_SAMPLES_DIR": str(samples_dir),
        ENV_SHIP: "1",
        ENV_MASTER: f"{host}:{port}",
        ENV_CONNECT_TIMEOUT_S: f"{connect_timeout_s:g}",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(repo_root), base.get("PYTHONPATH", "")) if p),
    }


def settings_for_workers(environ: Mapping[str, str]) -> dict[str, str]:
    """The master's ``GAUNTLET_*`` settings a worker must run with (not the machine-local ones).

    Anyone who can reach the master's port receives these: the reason the master binds to
    loopback unless the suite says otherwise.
    """
    return {k: v for k, v in environ.items()
            if k.startswith("GAUNTLET_") and k not in LOCAL_ONLY}


def remote_name(node_id: str, local_name: str) -> str | None:
    """Where the master keeps a worker's file: ``<kind>-<node>-<pid>.<ext>``, or None for a
    name the capture never writes (never a path: the name comes from the network).

    The node id (Locust's ``hostname_uuid``) keeps two machines' equal pids apart; the kind
    prefix and extension are those the merge already globs for.
    """
    match = LOCAL_FILE.match(local_name)
    if match is None or _EXTENSIONS[match.group(1)] != match.group(3):
        return None
    return f"{match.group(1)}-{node_slug(node_id)}-{match.group(2)}.{match.group(3)}"


def node_slug(node_id: str) -> str:
    """A node id as it appears in the master's file names."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", node_id).strip("._")[:96] or "worker"


def rows_by_node(samples_dir: Path, nodes: list[str]) -> dict[str, int | None]:
    """How many sample rows each remote worker's files hold (before the merge removes them);
    None for a worker that shipped histograms (HDR mode), whose requests are not rows."""
    counts: dict[str, int | None] = {}
    for node in nodes:
        if any(samples_dir.glob(f"hdr-{node_slug(node)}-*.jsonl")):
            counts[node] = None
            continue
        total = 0
        for path in samples_dir.glob(f"samples-{node_slug(node)}-*.csv"):
            with path.open("rb") as fh:
                total += max(0, sum(1 for _ in fh) - 1)  # the header line
        counts[node] = total
    return counts


def unrecorded(status: Mapping[str, Any], rows: Mapping[str, int | None]) -> list[str]:
    """For each worker whose last chunk never came: how much of the load its silence left
    unrecorded, estimated at its own rate before (one line each).

    Locust does not move a lost worker's users to the others unless told to rebalance, so
    from its last batch on, its share of the load was neither sent nor recorded."""
    test_s = status.get("test_s")
    if not isinstance(test_s, int | float) or test_s <= 0:
        return []
    lines = []
    recorded = sum(n for n in rows.values() if n is not None)
    for node in status.get("seen", []):
        last_s = status.get("last_batch_s", {}).get(node)
        if node in status.get("done", {}) or not isinstance(last_s, int | float):
            continue
        n = rows.get(node, 0)
        if n is None:  # histograms: no rate of its own to estimate with
            lines.append(f"{node}: its batches stop {last_s:.1f} s into the {test_s:.1f} s "
                         "test: its share of the load since then is unrecorded")
            continue
        if last_s <= 0 or n == 0:
            lines.append(f"{node}: no sample of it arrived: its share of the "
                         f"{test_s:.1f} s test is unrecorded")
            continue
        missing = n / last_s * max(0.0, test_s - last_s)
        lines.append(f"{node}: its batches stop {last_s:.1f} s into the {test_s:.1f} s test; "
                     f"at its rate before ({n / last_s:.0f} req/s), about {missing:.0f} "
                     f"requests were never recorded (the record holds {recorded})")
    return lines


@dataclass
class LineTail:
    """Reads what a file gained since the last call, up to its last complete line.

    The capture writes whole lines but its buffered file may reach the disk mid-line; a
    chunk ends at a newline and the torn rest waits for the next call (``final`` takes it too:
    after the capture's last flush nothing is torn).
    """

    path: Path
    offset: int = 0

    def take(self, final: bool = False,
             max_bytes: int = CHUNK_MAX_BYTES) -> list[tuple[int, bytes]]:
        """(offset, bytes) chunks of at most ``max_bytes`` each, cut at line ends (a single
        longer line goes whole)."""
        try:
            with self.path.open("rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except FileNotFoundError:
            return []
        if not final:
            data = data[:data.rfind(b"\n") + 1]
        chunks: list[tuple[int, bytes]] = []
        start = 0
        while start < len(data):
            end = min(start + max_bytes, len(data))
            if end < len(data):
                cut = data.rfind(b"\n", start, end)
                if cut >= start:
                    end = cut + 1
                else:
                    after = data.find(b"\n", end)
                    end = after + 1 if after >= 0 else len(data)
            chunks.append((self.offset + start, data[start:end]))
            start = end
        self.offset += len(data)
        return chunks


@dataclass
class ReceivedFile:
    """The master's account of one shipped file: bytes received, and any gap or repeat."""

    size: int = 0
    faults: list[str] = field(default_factory=list)

    def accept(self, offset: int, length: int) -> bool:
        """Whether a chunk at ``offset`` continues the file; a mismatch is recorded."""
        if offset == self.size:
            self.size += length
            return True
        self.faults.append(f"chunk at byte {offset}, expected {self.size}")
        return False


def read_status(samples_dir: Path) -> dict[str, Any]:
    """The master's ``remote-workers.json``, or {} if it never wrote one."""
    try:
        data: dict[str, Any] = json.loads((samples_dir / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data


def incomplete(status: Mapping[str, Any]) -> list[str]:
    """One line per remote worker whose samples did not all arrive (empty: all complete)."""
    problems = []
    for node in status.get("seen", []):
        done = status.get("done", {}).get(node)
        problems += [f"{node}: {p}" for p in status.get("batches", {}).get(node, {})
                     .get("problems", [])]
        if done is None:
            problems.append(f"{node}: its last chunk never arrived")
            continue
        for name, size in sorted(done.get("missing", {}).items()):
            problems.append(f"{node}: {name}: {size} bytes missing")
        for name, faults in sorted(done.get("faults", {}).items()):
            more = f"; {len(faults) - 2} more" if len(faults) > 2 else ""
            problems.append(f"{node}: {name}: {'; '.join(faults[:2])}{more}")
    return problems


def strangers(status: Mapping[str, Any]) -> list[str]:
    """One line per client the master would not let in: refused (a wrong or absent proof),
    or challenged and never answering (not a gauntlet worker)."""
    lines = [f"refused worker {node}: {why}"
             for node, why in sorted(dict(status.get("refused", {})).items())]
    lines += [f"client {node} was challenged and never answered (not a gauntlet worker?)"
              for node in status.get("unanswered", [])]
    if status.get("strangers_not_named"):
        lines.append(f"{status['strangers_not_named']} more clients refused or silent, not named")
    return lines
