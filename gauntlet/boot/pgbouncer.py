"""PgBouncer in front of a managed PostgreSQL link (``pooler = "pgbouncer"``): what a team
that pools at PgBouncer (Quemiai: "PostgreSQL via PgBouncer, pool limits per instance") runs.

The link's address is PgBouncer's, so the service and the link's Toxiproxy see what they see
in production: a client pool in the service, PgBouncer's server pool behind it, and the fault
between the service and PgBouncer. Transaction pooling, Debian's ``pgbouncer`` (1.18 on Debian
12: no prepared statements across transactions, so a driver that caches them, asyncpg,
must not — ``statement_cache_size = 0``). Trust authentication on loopback, as the managed
PostgreSQL has; ``extra_float_digits`` and ``options`` are startup parameters drivers send and
PgBouncer would refuse.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from gauntlet.boot.binaries import install_command, locate
from gauntlet.errors import InfrastructureError
from gauntlet.procs import ManagedProcess

# Debian installs it in /usr/sbin, which a user's PATH may lack
SBIN = (Path("/usr/sbin"),)


def locate_pgbouncer() -> Path | None:
    return locate("pgbouncer", SBIN)


def find_pgbouncer() -> str:
    found = locate_pgbouncer()
    if found is None:
        raise InfrastructureError("pgbouncer not found (a link's pooler = \"pgbouncer\")",
                                  hint=install_command("pgbouncer"))
    return str(found)

CONFIG = """\
[databases]
* = host=127.0.0.1 port={pg_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {auth_file}
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 1000
ignore_startup_parameters = extra_float_digits,options
pidfile =
logfile =
log_connections = 0
log_disconnections = 0
"""


def render(port: int, pg_port: int, pool_size: int, auth_file: Path) -> str:
    return CONFIG.format(port=port, pg_port=pg_port, pool_size=pool_size, auth_file=auth_file)


def pgbouncer_process(link: str, port: int, pg_port: int, pool_size: int, user: str,
                      workdir: Path, logs: Path, run_as: str | None) -> ManagedProcess:
    """PgBouncer for ``link``, listening on ``port``, pooling to PostgreSQL on ``pg_port``
    (PgBouncer refuses to run as root: ``run_as`` is the managed PostgreSQL's user then)."""
    workdir.mkdir(parents=True, exist_ok=True)
    auth_file = workdir / "userlist.txt"
    auth_file.write_text(f'"{user}" ""\n')
    config = workdir / "pgbouncer.ini"
    config.write_text(render(port, pg_port, pool_size, auth_file))
    if run_as is not None:
        import shutil

        for path in (workdir, auth_file, config):
            shutil.chown(path, run_as)
    return ManagedProcess(
        f"pgbouncer:{link}",
        [find_pgbouncer(), str(config)],
        log_path=logs / f"{link}-pgbouncer.log",
        user=run_as,
        stop_signal=signal.SIGTERM,  # immediate shutdown: the stack is being thrown away
    )


def pgbouncer_version() -> str | None:
    """``pgbouncer --version``'s number, None when it cannot be read."""
    try:
        done = subprocess.run([find_pgbouncer(), "--version"], capture_output=True,
                              text=True, timeout=10, check=False,
                              env={**os.environ, "LC_ALL": "C"})
    except (OSError, subprocess.TimeoutExpired, InfrastructureError):
        return None
    words = (done.stdout or done.stderr).split()
    return words[1] if len(words) > 1 else None
