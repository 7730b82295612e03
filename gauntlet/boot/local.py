"""The local backend: the whole stack as private processes on free loopback ports.

Nothing needs Docker. One temp dir holds PostgreSQL's data, Redis' dir and every log; each
service runs as a :class:`~gauntlet.procs.ManagedProcess`; a Toxiproxy sits in front of every
dependency link (``postgres``, ``redis``, ``upstream``) and of the API itself (``api``), and the
API is only ever told the proxies' addresses. Services start in parallel where they can, so boot
time is bounded by the slowest one (the API's imports), not by their sum.

PostgreSQL refuses to run as root; when gauntlet is root, it runs as the ``postgres`` user.
``initdb`` runs once per machine into a cached template that each boot copies (a copy is ~10x
faster than initdb).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import psycopg

from chaos.toxiproxy import ToxiproxyClient
from gauntlet import cleanup
from gauntlet.boot.binaries import find, postgres_bindir
from gauntlet.boot.stack import Stack
from gauntlet.config import REPO_ROOT, StackConfig
from gauntlet.errors import BootError
from gauntlet.net import free_ports
from gauntlet.policy import Policy, broken_env
from gauntlet.procs import ManagedProcess

TMP_PREFIX = "gauntlet-"
OWNER_FILE = "owner.pid"
DB_USER = "gauntlet"
DB_NAME = "postgres"


def _cache_dir() -> Path:
    base = os.environ.get("GAUNTLET_CACHE") or os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base else Path.home() / ".cache"
    return root / "gauntlet" if not os.environ.get("GAUNTLET_CACHE") else root


def _pg_user() -> str | None:
    """The user PostgreSQL runs as: ourselves, unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise BootError(
            "running as root and there is no 'postgres' user to run PostgreSQL as",
            hint="apt-get install postgresql creates it",
        ) from exc
    return "postgres"


def _chown_tree(path: Path, user: str | None) -> None:
    if user is None:
        return
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def sweep_stale_tempdirs() -> list[Path]:
    """Remove temp dirs left by a gauntlet that died by ``kill -9`` (its owner pid is gone)."""
    removed: list[Path] = []
    for path in Path(tempfile.gettempdir()).glob(f"{TMP_PREFIX}*"):
        owner = path / OWNER_FILE
        try:
            pid = int(owner.read_text())
        except (OSError, ValueError):
            continue
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        except PermissionError:
            continue
    return removed


def _pg_template(bindir: Path, user: str | None) -> Path:
    """A fresh ``initdb`` cluster, made once and cached; boots copy it."""
    version = bindir.parent.name
    template = _cache_dir() / f"pg-template-{version}"
    if (template / "PG_VERSION").is_file():
        return template
    template.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}initdb-"))
    try:
        os.chmod(work, 0o755)
        data = work / "data"
        data.mkdir()
        _chown_tree(data, user)
        log = work / "initdb.log"
        proc = ManagedProcess(
            "initdb",
            [str(bindir / "initdb"), "-D", str(data), "-U", DB_USER, "-A", "trust", "-N",
             "-E", "UTF8", "--locale=C"],
            log_path=log,
            user=user,
        ).start()
        code = proc.wait(timeout_s=120)
        proc.stop()
        if code != 0:
            raise BootError(f"initdb failed with code {code}", logs=proc.tail())
        staging = template.with_name(template.name + f".{os.getpid()}")
        shutil.copytree(data, staging, symlinks=True)
        try:
            staging.rename(template)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)  # another boot won the race
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return template


def _reset_quietly(client: ToxiproxyClient) -> None:
    with contextlib.suppress(Exception):
        client.reset()


def _http_ok(url: str, timeout_s: float = 0.5) -> bool:
    try:
        return httpx.get(url, timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def _pg_ready(port: int) -> bool:
    try:
        with psycopg.connect(
            host="127.0.0.1", port=port, user=DB_USER, dbname=DB_NAME, connect_timeout=1
        ) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def _redis_ready(port: int) -> bool:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")


@contextmanager
def _tempdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=TMP_PREFIX))
    os.chmod(path, 0o755)  # postgres (another user) must traverse it
    (path / OWNER_FILE).write_text(str(os.getpid()))
    token = cleanup.register(f"remove {path}", lambda: shutil.rmtree(path, ignore_errors=True))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        cleanup.unregister(token)


@contextmanager
def boot_local(
    config: StackConfig, policy: Policy, logs_dir: Path | None = None
) -> Iterator[Stack]:
    """Boot the reference stack locally; everything is gone when the block exits."""
    started = time.monotonic()
    sweep_stale_tempdirs()
    bindir = postgres_bindir()
    toxiproxy_bin = find("toxiproxy-server")
    redis_bin = find("redis-server")
    pg_user = _pg_user()
    template = _pg_template(bindir, pg_user)

    stack = ExitStack()
    try:
        tmp = stack.enter_context(_tempdir())
        logs = logs_dir or tmp / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        names = ("postgres", "redis", "toxiproxy", "upstream", "api",
                 "proxy_postgres", "proxy_redis", "proxy_upstream", "proxy_api")
        ports = dict(zip(names, free_ports(len(names)), strict=True))

        # PostgreSQL: copy the template cluster, run the postmaster in the foreground
        pgdata = tmp / "pgdata"
        shutil.copytree(template, pgdata, symlinks=True)
        _chown_tree(pgdata, pg_user)
        os.chmod(pgdata, 0o700)
        postgres = ManagedProcess(
            "postgres",
            [str(bindir / "postgres"), "-D", str(pgdata), "-p", str(ports["postgres"]),
             "-k", str(pgdata), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
             "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "max_connections=200", "-c", "logging_collector=off"],
            log_path=logs / "postgres.log",
            user=pg_user,
            stop_signal=signal.SIGINT,  # "fast" shutdown
            death_signal=signal.SIGQUIT,
        )
        redis_dir = tmp / "redis"
        redis_dir.mkdir()
        redis = ManagedProcess(
            "redis",
            [redis_bin, "--port", str(ports["redis"]), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(redis_dir), "--protected-mode", "no"],
            log_path=logs / "redis.log",
        )
        toxiproxy = ManagedProcess(
            "toxiproxy",
            [toxiproxy_bin, "-host", "127.0.0.1", "-port", str(ports["toxiproxy"])],
            log_path=logs / "toxiproxy.log",
        )
        py_env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        upstream = ManagedProcess(
            "upstream",
            [sys.executable, "-m", "stack.upstream"],
            env={**py_env, "UPSTREAM_HOST": "127.0.0.1", "UPSTREAM_PORT": str(ports["upstream"]),
                 "UPSTREAM_LATENCY_MS": str(policy.upstream_latency_ms)},
            cwd=REPO_ROOT,
            log_path=logs / "upstream.log",
        )
        for proc in (postgres, redis, toxiproxy, upstream):
            stack.enter_context(proc)

        client = ToxiproxyClient(f"http://127.0.0.1:{ports['toxiproxy']}")
        toxiproxy.wait_until(client.is_up, timeout_s=10, what="answering its API")
        proxies: dict[str, str] = {}
        for name, target in (("postgres", "postgres"), ("redis", "redis"),
                             ("upstream", "upstream"), ("api", "api")):
            client.create_proxy(
                name,
                listen=f"127.0.0.1:{ports['proxy_' + name]}",
                upstream=f"127.0.0.1:{ports[target]}",
            )
            proxies[name] = name
        # the last net: whatever happened, no toxic survives the stack
        stack.callback(_reset_quietly, client)

        database_url = f"postgresql://{DB_USER}@127.0.0.1:{ports['proxy_postgres']}/{DB_NAME}"
        api_env = {
            **py_env,
            **policy.to_env(),
            **broken_env(list(config.broken)),
            "API_HOST": "127.0.0.1",
            "API_PORT": str(ports["api"]),
            "DATABASE_URL": database_url,
            "REDIS_URL": f"redis://127.0.0.1:{ports['proxy_redis']}/0",
            "UPSTREAM_URL": f"http://127.0.0.1:{ports['proxy_upstream']}",
            "JWT_SECRET": "gauntlet-local-" + os.urandom(8).hex(),
        }
        api = ManagedProcess(
            "api",
            [sys.executable, "-m", "stack.api"],
            env=api_env,
            cwd=REPO_ROOT,
            log_path=logs / "api.log",
            stop_signal=signal.SIGKILL,  # teardown: no drain wanted, the data is thrown away
        )
        stack.enter_context(api)

        timeout = config.boot_timeout_s
        postgres.wait_until(lambda: _pg_ready(ports["postgres"]), timeout_s=timeout,
                            what="accepting connections")
        redis.wait_until(lambda: _redis_ready(ports["redis"]), timeout_s=timeout,
                         what="answering PING")
        upstream.wait_until(lambda: _http_ok(f"http://127.0.0.1:{ports['upstream']}/health"),
                            timeout_s=timeout, what="healthy")
        direct = f"http://127.0.0.1:{ports['api']}"
        api.wait_until(lambda: _http_ok(f"{direct}/health/ready"), timeout_s=timeout,
                       what="ready (/health/ready)")

        yield Stack(
            backend="local",
            base_url=f"http://127.0.0.1:{ports['proxy_api']}",
            api_direct_url=direct,
            policy=policy,
            toxiproxy=client,
            proxies=proxies,
            database_url=f"postgresql://{DB_USER}@127.0.0.1:{ports['postgres']}/{DB_NAME}",
            services={"api": api, "upstream": upstream, "postgres": postgres, "redis": redis},
            logs_dir=logs,
            boot_time_s=time.monotonic() - started,
            versions={"toxiproxy": client.version(), "postgresql": bindir.parent.name},
            broken=tuple(config.broken),
        )
    finally:
        # reverse order of start (API first, PostgreSQL last); a second Ctrl-C cannot cut it short
        with cleanup.shielded():
            stack.close()
