"""A private RabbitMQ broker for a ``managed = "rabbitmq"`` link (a notification queue, a
message bus): Debian's ``rabbitmq-server``, started per boot and gone after it.

Why this much setup: the packaged broker assumes one node per host — ``/var/lib/rabbitmq``,
``/etc/rabbitmq``, the node name ``rabbit@host``, ports 5672/25672, and an ``epmd -daemon`` it
starts itself that outlives everything. A boot of its own needs every one of those private:

- a node name, an AMQP port, an Erlang distribution port, and its own ``epmd`` in the
  foreground on a port of its own (``-start_epmd false`` keeps the broker from starting a
  daemon; the boot starts this epmd first and stops it last);
- data, logs, config, the enabled plugins (none) and the Erlang cookie (``HOME``) under the
  boot's temp dir, logs to stdout (the run dir keeps them);
- ``disk_free_limit.absolute = 1MB``: the default 50 MB alarm would block publishers silently
  on a small temp filesystem.

``/usr/lib/rabbitmq/bin/rabbitmq-server`` is run, not ``/usr/sbin``'s wrapper (which refuses a
user other than root or ``rabbitmq`` and, as root, switches to ``rabbitmq``). Ready when the
AMQP port answers the protocol header with a ``Connection.Start`` frame; SIGTERM stops it.
"""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

from gauntlet.boot.binaries import install_command, locate
from gauntlet.errors import InfrastructureError
from gauntlet.procs import ManagedProcess

LIBDIR = (Path("/usr/lib/rabbitmq/bin"),)
ERLANG_DIRS = (Path("/usr/lib/erlang/bin"),)
AMQP_HEADER = b"AMQP\x00\x00\x09\x01"
METHOD_FRAME = 1


def locate_rabbitmq() -> Path | None:
    # the library's server script first: /usr/sbin/rabbitmq-server is the wrapper
    found = next((d / "rabbitmq-server" for d in LIBDIR if (d / "rabbitmq-server").is_file()),
                 None)
    return found or locate("rabbitmq-server")


def rabbitmq_version(server: Path) -> str | None:
    """The broker's version, from its library directory beside the script
    (``/usr/lib/rabbitmq/lib/rabbitmq_server-3.10.8``): asking a node needs one running."""
    for parent in server.resolve().parents:  # the script links into .../rabbitmq_server-V/sbin
        if parent.name.startswith("rabbitmq_server-"):
            return parent.name.removeprefix("rabbitmq_server-")
    found = sorted(server.parent.parent.glob("lib/rabbitmq_server-*"))
    return found[-1].name.removeprefix("rabbitmq_server-") if found else None


def find_rabbitmq() -> tuple[str, str]:
    """The broker script and ``epmd``, or the one-line error naming what installs them."""
    server, epmd = locate_rabbitmq(), locate("epmd", ERLANG_DIRS)
    if server is None or epmd is None:
        raise InfrastructureError("rabbitmq-server not found (a link's managed = \"rabbitmq\")",
                                  hint=install_command("rabbitmq-server"))
    return str(server), str(epmd)


def amqp_ready(port: int) -> bool:
    """The broker answers AMQP 0-9-1's protocol header with a method frame
    (``Connection.Start``)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
            sock.sendall(AMQP_HEADER)
            return sock.recv(1)[:1] == bytes([METHOD_FRAME])
    except OSError:
        return False


def epmd_answers(port: int) -> bool:
    """The epmd on 127.0.0.1:``port`` answers EPMD's NAMES_REQ (length 1, ``n``) with its own
    port number: epmd itself, not whatever else might hold the port (another process that took
    it first accepts a connection too, while this epmd is exiting with code 0)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.settimeout(1.0)
            sock.sendall(b"\x00\x01n")
            answer = b""
            while len(answer) < 4:
                chunk = sock.recv(4 - len(answer))
                if not chunk:
                    return False
                answer += chunk
            return int.from_bytes(answer, "big") == port
    except OSError:
        return False


def rabbitmq_processes(link: str, port: int, dist_port: int, epmd_port: int, workdir: Path,
                       logs: Path) -> tuple[ManagedProcess, ManagedProcess]:
    """(its epmd, the broker) for ``link``: start them in that order, stop them in reverse."""
    server, epmd = find_rabbitmq()
    for sub in ("mnesia", "log", "conf.d"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    (workdir / "enabled_plugins").write_text("[].\n")
    (workdir / "rabbitmq.conf").write_text("disk_free_limit.absolute = 1MB\n")
    base = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
    erlang = {"HOME": str(workdir), "ERL_EPMD_PORT": str(epmd_port),
              "ERL_EPMD_ADDRESS": "127.0.0.1"}
    epmd_proc = ManagedProcess(
        # -d: epmd says "there is already a epmd running" when its port is taken (and exits
        # 0); without it, it exits without a word
        f"epmd:{link}", [epmd, "-port", str(epmd_port), "-address", "127.0.0.1", "-d"],
        env={**base, **erlang}, cwd=workdir, log_path=logs / f"{link}-epmd.log",
        stop_signal=signal.SIGTERM)
    broker = ManagedProcess(
        f"rabbitmq:{link}", [server],
        env={**base, **erlang,
             "ERL_FLAGS": "-start_epmd false",
             "ERL_CRASH_DUMP": str(workdir / "erl_crash.dump"),
             "RABBITMQ_NODENAME": f"gauntlet-{link}-{port}@localhost",
             "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
             "RABBITMQ_NODE_PORT": str(port),
             "RABBITMQ_DIST_PORT": str(dist_port),
             # the start script execs the VM rather than trapping signals around a child:
             # beam then is the process gauntlet started, with its parent-death signal, so
             # even kill -9 of gauntlet takes the broker down (the trapping branch would leave
             # a forked beam running); -noinput, which that branch would have added
             "RABBITMQ_ALLOW_INPUT": "1",
             "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS":
                 "-noinput -kernel inet_dist_use_interface {127,0,0,1}",
             "RABBITMQ_MNESIA_BASE": str(workdir / "mnesia"),
             "RABBITMQ_LOG_BASE": str(workdir / "log"),
             "RABBITMQ_LOGS": "-",
             "RABBITMQ_CONFIG_FILE": str(workdir / "rabbitmq.conf"),
             "RABBITMQ_CONFIG_FILES": str(workdir / "conf.d"),
             "RABBITMQ_ADVANCED_CONFIG_FILE": str(workdir / "advanced.config"),
             "RABBITMQ_CONF_ENV_FILE": str(workdir / "rabbitmq-env.conf"),
             "RABBITMQ_ENABLED_PLUGINS_FILE": str(workdir / "enabled_plugins")},
        cwd=workdir, log_path=logs / f"{link}.log", stop_signal=signal.SIGTERM)
    return epmd_proc, broker
