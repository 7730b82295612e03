"""The local backend: the contract's stack as private processes on free loopback ports.

Nothing needs Docker. The contract lists the services (commands, environment templates, ready
paths) and the links; gauntlet starts a private PostgreSQL or Redis for every ``managed`` link,
the services from their commands, and a Toxiproxy in front of every link and of the main service
itself (its proxy carries the main service's name), and a service is only ever told the proxies'
addresses. One temp dir holds the data dirs and every log; each process runs as a
:class:`~gauntlet.procs.ManagedProcess`. Processes start in parallel where they can, so boot
time is bounded by the slowest one, not by their sum.

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
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from gauntlet import cleanup
from gauntlet.boot.binaries import cache_dir, find, postgres_bindir
from gauntlet.boot.pgbouncer import find_pgbouncer, pgbouncer_process, pgbouncer_version
from gauntlet.boot.rabbitmq import amqp_ready, epmd_answers, find_rabbitmq, rabbitmq_processes
from gauntlet.boot.stack import Endpoint, Stack
from gauntlet.chaos.commands import http_ok
from gauntlet.chaos.toxiproxy import ToxiproxyClient
from gauntlet.config import StackConfig
from gauntlet.contract import Contract, fill
from gauntlet.errors import BootError, ConfigError
from gauntlet.net import free_ports, port_free
from gauntlet.procs import ManagedProcess
from gauntlet.tempdirs import TMP_PREFIX, owned_tempdir, sweep_stale_tempdirs

DB_USER = "gauntlet"
DB_NAME = "postgres"


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


def _pg_template(bindir: Path, user: str | None) -> Path:
    """A fresh ``initdb`` cluster, made once and cached; boots copy it."""
    version = bindir.parent.name
    template = cache_dir() / f"pg-template-{version}"
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


def _tempdir() -> AbstractContextManager[Path]:
    return owned_tempdir(mode=0o755)  # postgres (another user) must traverse it


@dataclass
class _Ports:
    """Every port of one boot, taken at once so nothing races for them."""

    toxiproxy: int
    server: dict[str, int]  # managed link or service → where it listens
    proxy: dict[str, int]  # link (or the main service) → where its proxy listens


def _fixed_slot(contract: Contract, main: str, name: str) -> str:
    """The slot a fixed port's name stands for: ``toxiproxy``, ``proxy:LINK`` or
    ``service:NAME`` (the main service: ``proxy:MAIN``, the address load goes to). A name both
    a link and a service carry takes a ``link:`` or ``service:`` prefix."""
    kind, _, bare = name.rpartition(":")
    if name == "toxiproxy":
        return "toxiproxy"
    is_link, is_service = bare in contract.links, bare in contract.services
    if kind not in ("", "link", "service") or not (is_link or is_service) \
            or (kind == "link" and not is_link) or (kind == "service" and not is_service):
        known = sorted({*contract.links, *contract.services, "toxiproxy"})
        raise ConfigError(f"stack.ports: no service or link {name!r} in contract "
                          f"{contract.name!r} (known: {', '.join(known)})")
    if not kind and is_link and is_service:
        raise ConfigError(f"stack.ports: {name!r} is both a link and a service: write "
                          f"link:{name} (its proxy) or service:{name} (its own port)")
    if kind == "link" or (not kind and is_link):
        return f"proxy:{bare}"
    return f"proxy:{bare}" if bare == main else f"service:{bare}"


def assign_ports(contract: Contract, main: str, managed: list[str],
                 fixed: dict[str, int] | None = None) -> _Ports:
    """Ports for every server, proxy and the Toxiproxy API of one boot: the fixed ones as
    asked (a ConfigError for a name the contract lacks or a port asked twice), free ones for
    the rest. A pooled link's PostgreSQL (behind its PgBouncer) has a slot of its own,
    ``pooled:NAME``."""
    pooled = [n for n in managed if contract.links[n].pooler]
    # a broker's Erlang distribution and its own epmd: ports of their own
    brokers = [n for n in managed if contract.links[n].managed == "rabbitmq"]
    slots = ["toxiproxy", *(f"managed:{n}" for n in managed), *(f"pooled:{n}" for n in pooled),
             *(f"{kind}:{n}" for n in brokers for kind in ("dist", "epmd")),
             *(f"service:{n}" for n in contract.services),
             *(f"proxy:{n}" for n in (*contract.links, main))]
    chosen: dict[str, int] = {}
    for name, port in (fixed or {}).items():
        slot = _fixed_slot(contract, main, name)
        if slot in chosen or port in chosen.values():
            raise ConfigError(f"stack.ports: {name} = {port} asks for a port or an address "
                              "given twice")
        chosen[slot] = port
    for port in chosen.values():
        if not port_free(port):
            raise BootError(f"port {port} on 127.0.0.1 is taken (stack.ports / --port)",
                            hint="stop what listens there, or choose another port")
    free = iter(p for p in free_ports(len(slots) + len(chosen)) if p not in chosen.values())
    taken = {slot: chosen.get(slot) or next(free) for slot in slots}
    return _Ports(taken["toxiproxy"],
                  {s: p for s, p in taken.items()
                   if s.startswith(("managed:", "pooled:", "dist:", "epmd:", "service:"))},
                  {s.split(":", 1)[1]: p for s, p in taken.items() if s.startswith("proxy:")})


def _link_url(kind: str | None, port: int) -> str:
    if kind == "postgres":
        return f"postgresql://{DB_USER}@127.0.0.1:{port}/{DB_NAME}"
    if kind == "redis":
        return f"redis://127.0.0.1:{port}/0"
    if kind == "rabbitmq":  # the guest user, which a broker admits from loopback only
        return f"amqp://guest:guest@127.0.0.1:{port}/"
    return f"http://127.0.0.1:{port}"


def _template_values(contract: Contract, ports: _Ports, service: str, secret: str
                     ) -> dict[str, str]:
    values = {"python": sys.executable, "secret": secret, "contract_dir": str(contract.base_dir),
              "port": str(ports.server[f"service:{service}"])}
    for name, link in contract.links.items():
        port = ports.proxy[name]
        values[f"links.{name}.host"] = "127.0.0.1"
        values[f"links.{name}.port"] = str(port)
        values[f"links.{name}.url"] = _link_url(link.managed, port)
    for name in contract.services:
        port = ports.server[f"service:{name}"]
        values[f"services.{name}.port"] = str(port)
        values[f"services.{name}.url"] = f"http://127.0.0.1:{port}"
    return values


def _endpoints(contract: Contract, main: str, ports: _Ports,
               services: dict[str, ManagedProcess], managed: dict[str, ManagedProcess],
               toxiproxy: ManagedProcess) -> tuple[Endpoint, ...]:
    """Every part of the booted stack with its pid and address, for a person to reach."""
    out: list[Endpoint] = []
    for name, proc in services.items():
        own = f"http://127.0.0.1:{ports.server[f'service:{name}']}"
        url = f"http://127.0.0.1:{ports.proxy[main]}" if name == main else own
        out.append(Endpoint(name, "service", url, proc.pid, own if name == main else None,
                            str(proc.log_path)))
    for name, link in contract.links.items():
        proxied = _link_url(link.managed, ports.proxy[name])
        if link.managed:
            proc = managed[name]
            out.append(Endpoint(name, "link", proxied, proc.pid,
                                _link_url(link.managed, ports.server[f"managed:{name}"]),
                                str(proc.log_path)))
        else:
            direct = f"http://127.0.0.1:{ports.server[f'service:{link.service}']}"
            out.append(Endpoint(name, "link", proxied, None, direct))
    out.append(Endpoint("toxiproxy", "toxiproxy", f"http://127.0.0.1:{ports.toxiproxy}",
                        toxiproxy.pid, None, str(toxiproxy.log_path)))
    return tuple(out)


def _start_managed(kind: str, link: str, port: int, tmp: Path, logs: Path, bindir: Path,
                   template: Path | None, pg_user: str | None) -> ManagedProcess:
    if kind == "postgres":
        assert template is not None
        pgdata = tmp / f"pgdata-{link}"
        shutil.copytree(template, pgdata, symlinks=True)
        _chown_tree(pgdata, pg_user)
        os.chmod(pgdata, 0o700)
        return ManagedProcess(
            f"postgres:{link}",
            [str(bindir / "postgres"), "-D", str(pgdata), "-p", str(port),
             "-k", str(pgdata), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
             "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "max_connections=200", "-c", "logging_collector=off"],
            log_path=logs / f"{link}.log",
            user=pg_user,
            stop_signal=signal.SIGINT,  # "fast" shutdown
            death_signal=signal.SIGQUIT,
        )
    redis_dir = tmp / f"redis-{link}"
    redis_dir.mkdir()
    return ManagedProcess(
        f"redis:{link}",
        [find("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(redis_dir), "--protected-mode", "no"],
        log_path=logs / f"{link}.log",
    )


def _managed_ready(kind: str, port: int) -> bool:
    if kind == "rabbitmq":
        return amqp_ready(port)
    return _pg_ready(port) if kind == "postgres" else _redis_ready(port)


@contextmanager
def boot_local(contract: Contract, config: StackConfig, logs_dir: Path | None = None
               ) -> Iterator[Stack]:
    """Boot the contract's stack locally: managed PostgreSQL/Redis for its managed links, its
    own services from their commands, a Toxiproxy in front of every link and of the main
    service. Everything is gone when the block exits."""
    started = time.monotonic()
    main = contract.main_service
    if main is None:
        raise ConfigError(f"contract {contract.name!r}: the local backend needs [services] "
                          "with one main = true")
    if main in contract.links:
        raise ConfigError(f"contract {contract.name!r}: link {main!r} has the main service's "
                          "name; the main service's own proxy takes that name")
    kinds = {name: link.managed for name, link in contract.links.items() if link.managed}
    ports = assign_ports(contract, main, list(kinds), config.ports)
    sweep_stale_tempdirs()
    toxiproxy_bin = find("toxiproxy-server")
    bindir = postgres_bindir() if "postgres" in kinds.values() else None
    pg_user = _pg_user() if bindir else None
    template = _pg_template(bindir, pg_user) if bindir else None
    if "redis" in kinds.values():
        find("redis-server")
    if any(contract.links[n].pooler for n in kinds):
        find_pgbouncer()  # before anything starts: one line naming what installs it
    if "rabbitmq" in kinds.values():
        find_rabbitmq()

    stack = ExitStack()
    try:
        tmp = stack.enter_context(_tempdir())
        logs = logs_dir or tmp / "logs"
        logs.mkdir(parents=True, exist_ok=True)

        # a pooled link: its PostgreSQL on a port of its own, PgBouncer on the link's
        behind = {name: _start_managed("postgres", name, ports.server[f"pooled:{name}"], tmp,
                                       logs, bindir or Path("."), template, pg_user)
                  for name in kinds if contract.links[name].pooler}
        # a broker's epmd, started before it and stopped after it
        epmds: dict[str, ManagedProcess] = {}
        managed: dict[str, ManagedProcess] = {}
        for name, kind in kinds.items():
            if name in behind:
                managed[name] = pgbouncer_process(name, ports.server[f"managed:{name}"],
                                                  ports.server[f"pooled:{name}"],
                                                  contract.links[name].pool_size, DB_USER,
                                                  tmp / f"pgbouncer-{name}", logs, pg_user)
            elif kind == "rabbitmq":
                epmds[name], managed[name] = rabbitmq_processes(
                    name, ports.server[f"managed:{name}"], ports.server[f"dist:{name}"],
                    ports.server[f"epmd:{name}"], tmp / f"rabbitmq-{name}", logs)
                stack.enter_context(epmds[name])
                epmd_port = ports.server[f"epmd:{name}"]
                epmds[name].wait_until(lambda p=epmd_port: epmd_answers(p),  # type: ignore[misc]
                                       timeout_s=10, what="answering")
            else:
                managed[name] = _start_managed(kind, name, ports.server[f"managed:{name}"], tmp,
                                               logs, bindir or Path("."), template, pg_user)
        for name, proc in behind.items():  # PgBouncer starts once its PostgreSQL answers
            stack.enter_context(proc)
            port = ports.server[f"pooled:{name}"]
            proc.wait_until(lambda p=port: _pg_ready(p),  # type: ignore[misc]
                            timeout_s=config.boot_timeout_s, what="accepting connections")
        toxiproxy = ManagedProcess(
            "toxiproxy",
            # -proxy-metrics: the bytes each link carried (an affinity claim's evidence that
            # every instance served)
            [toxiproxy_bin, "-host", "127.0.0.1", "-port", str(ports.toxiproxy),
             "-proxy-metrics"],
            log_path=logs / "toxiproxy.log",
        )
        for proc in (*managed.values(), toxiproxy):
            stack.enter_context(proc)

        client = ToxiproxyClient(f"http://127.0.0.1:{ports.toxiproxy}")
        toxiproxy.wait_until(client.is_up, timeout_s=10, what="answering its API")
        for name, link in contract.links.items():
            target = (ports.server[f"managed:{name}"] if link.managed else
                      ports.server[f"service:{link.service}"] if link.service else None)
            if target is None:
                raise ConfigError(f"contract {contract.name!r}: link {name!r} points at "
                                  "nothing the local backend can start (managed or service)")
            client.create_proxy(name, listen=f"127.0.0.1:{ports.proxy[name]}",
                                upstream=f"127.0.0.1:{target}")
        client.create_proxy(main, listen=f"127.0.0.1:{ports.proxy[main]}",
                            upstream=f"127.0.0.1:{ports.server[f'service:{main}']}")
        # the last net: whatever happened, no toxic survives the stack
        stack.callback(_reset_quietly, client)

        secret = "gauntlet-local-" + os.urandom(8).hex()
        services: dict[str, ManagedProcess] = {}
        order = [n for n in contract.services if n != main] + [main]
        for name in order:
            spec = contract.services[name]
            values = _template_values(contract, ports, name, secret)
            workdir = tmp / "work" / name  # {workdir}: the service's own, gone with the boot
            workdir.mkdir(parents=True)
            values["workdir"] = str(workdir)
            env = {**os.environ, "PYTHONUNBUFFERED": "1", **contract.render_env(name),
                   **{k: fill(v, values) for k, v in spec.local_env.items()}}
            if name == main:
                for variant in config.variants:
                    env.update(contract.variants[variant])
            services[name] = ManagedProcess(
                name,
                [fill(part, values) for part in spec.command],
                env=env,
                cwd=contract.resolve(fill(spec.cwd, values)) if spec.cwd else contract.base_dir,
                log_path=logs / f"{name}.log",
                # teardown of the main service: no drain wanted, the data is thrown away
                stop_signal=signal.SIGKILL if name == main else signal.SIGTERM,
            )
            stack.enter_context(services[name])

        timeout = config.boot_timeout_s
        for name, kind in kinds.items():
            port = ports.server[f"managed:{name}"]
            managed[name].wait_until(lambda k=kind, p=port: _managed_ready(k, p),  # type: ignore[misc]
                                     timeout_s=timeout, what="accepting connections")
        for name in order:
            spec = contract.services[name]
            if spec.ready is None:
                continue
            url = f"http://127.0.0.1:{ports.server[f'service:{name}']}{spec.ready}"
            # each poll waits 1 s, as compose's boot and a kubelet's probe do: a readiness
            # that takes 0.6 s is slow, not unready (it used to be polled with 0.5 s, forever)
            services[name].wait_until(lambda u=url: http_ok(u),  # type: ignore[misc]
                                      timeout_s=min(timeout, spec.start_timeout_s),
                                      what=f"ready ({spec.ready})")

        # read-backs go to PostgreSQL itself (a pooled link's behind its PgBouncer)
        database_urls = {name: _link_url("postgres", ports.server[
                             f"pooled:{name}" if name in behind else f"managed:{name}"])
                         for name, kind in kinds.items() if kind == "postgres"}
        endpoints = _endpoints(contract, main, ports, services, managed, toxiproxy)
        yield Stack(
            backend="local",
            base_url=f"http://127.0.0.1:{ports.proxy[main]}",
            api_direct_url=f"http://127.0.0.1:{ports.server[f'service:{main}']}",
            contract=contract,
            toxiproxy=client,
            proxies={name: name for name in (*contract.links, main)},
            database_url=next(iter(database_urls.values()), None),
            database_urls=database_urls,
            services={**services, **managed},
            processes={proc.name: proc for proc in (*services.values(), *managed.values(),
                                                     *behind.values(), *epmds.values(),
                                                     toxiproxy)},
            logs_dir=logs,
            boot_time_s=time.monotonic() - started,
            versions={"toxiproxy": client.version(),
                      **({"postgresql": bindir.parent.name} if bindir else {}),
                      **({"pgbouncer": pgbouncer_version() or "?"} if behind else {})},
            variants=tuple(config.variants),
            endpoints=endpoints,
        )
    finally:
        # reverse order of start (services first, PostgreSQL last); a second Ctrl-C cannot cut
        # it short
        with cleanup.shielded():
            stack.close()
