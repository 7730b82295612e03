"""The compose backend: the compose files of the contract's ``[compose]``, through
testcontainers' ``DockerCompose`` — a team's own or our reference stack's alike: the harness
names no service of any, the contract says which is under test and where each link points.

The team's files are used unchanged, with the overlay of :mod:`gauntlet.boot.overlay` on top
(a Toxiproxy container in every link, ports on 127.0.0.1 only, owner labels), as a project of
its own (``gauntlet-<pid>-<hex>``). The boot waits for ``up --wait`` and then for the service
under test's ready path; when either does not come, every container's log is in the run dir and
the error names the service. Teardown always ends in ``down --volumes``: on success, failure,
Ctrl-C, and after a failed start; a registered net removes the project (containers, networks,
named volumes) should even that be skipped, and the next boot sweeps a project whose gauntlet
died by ``kill -9``.

    with boot_compose(contract, suite.stack, logs_dir) as stack:
        ...
"""

from __future__ import annotations

import json
import logging
import math
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from testcontainers.compose import DockerCompose
from testcontainers.core.exceptions import NoSuchPortExposed

from gauntlet import cleanup
from gauntlet.boot.engine import (
    COMMAND_TIMEOUT_S,
    PROJECT_LABEL,
    PROJECT_PREFIX,
    SERVICE_LABEL,
    ContainerService,
    compose_environment,
    docker_cli,
    force_remove_project,
    image_present,
    log_tail,
    overlay_image,
    owner_tag,
    require_compose_v2,
    require_docker,
    sweep_stale_projects,
)
from gauntlet.boot.overlay import MAIN_PROXY_PORT, TOXIPROXY, TOXIPROXY_API_PORT, build
from gauntlet.boot.stack import Stack
from gauntlet.chaos.commands import http_ok
from gauntlet.chaos.toxiproxy import ToxiproxyClient
from gauntlet.config import StackConfig
from gauntlet.contract import Contract, fill
from gauntlet.errors import BootError, ConfigError, InfrastructureError

__all__ = ["ContainerService", "boot_compose", "require_docker", "sweep_stale_projects"]

logger = logging.getLogger(__name__)

PULL_ALLOWANCE_S = 600.0  # extra time for `up` when an image has to be pulled or built first


# -- DockerCompose, with a project name, an environment and bounded commands ----------------------
@dataclass
class _Compose(DockerCompose):
    project: str = ""
    env: dict[str, str] = field(default_factory=dict)
    timeout_s: float = COMMAND_TIMEOUT_S

    @cached_property
    def compose_command_property(self) -> list[str]:
        cmd = ["docker", "compose", "--project-name", self.project,
               "--project-directory", str(self.context)]
        for name in self.compose_file_name or []:
            cmd += ["-f", name]
        return cmd

    def _run_command(self, cmd: str | list[str],
                     context: str | None = None) -> subprocess.CompletedProcess[bytes]:
        argv = cmd.split() if isinstance(cmd, str) else cmd
        return subprocess.run(argv, capture_output=True, check=True, env=self.env,
                              cwd=context or str(self.context), timeout=self.timeout_s)

    def up(self, wait_timeout_s: float) -> None:
        """``up --wait``: every container started and healthy, or a CalledProcessError."""
        bound = math.ceil(wait_timeout_s)
        saved, self.timeout_s = self.timeout_s, wait_timeout_s + 30
        try:
            self._run_command([*self.compose_command_property, "up", "--wait",
                               "--wait-timeout", str(bound), "--quiet-pull"])
        finally:
            self.timeout_s = saved

    def down(self) -> None:
        """``down -v``, killing rather than draining: the data is thrown away anyway."""
        self._run_command([*self.compose_command_property, "down", "--volumes",
                           "--remove-orphans", "--timeout", "0"])


def project_teardown(project: str, compose: _Compose, logs: Path) -> Callable[[], None]:
    """Register the net (a forced removal of the project at exit), and return the teardown:
    logs copied, ``down --volumes``, then every container, network and named volume labelled
    with the project removed (what ``down`` left, or all of it when ``down`` failed), then the
    net lifted."""
    token = cleanup.register(f"remove compose project {project}",
                             lambda: force_remove_project(project))

    def teardown() -> None:
        _save_logs(project, logs)
        try:
            compose.down()
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            logger.warning("compose down %s failed (%s); removing it", project, exc)
        force_remove_project(project)
        cleanup.unregister(token)

    return teardown


def _published(container: Any, port: int, service: str) -> int:
    try:
        published = container.get_publisher(by_port=port).PublishedPort
    except NoSuchPortExposed as exc:
        raise BootError(f"compose service {service!r} publishes no port for {port}",
                        hint="check the compose files of the contract's [compose]") from exc
    if not published:
        raise BootError(f"compose service {service!r} port {port} has no host port")
    return int(published)


def _diagnose(compose: _Compose, main: str, waited_s: float, stderr: str, logs_dir: Path
              ) -> BootError:
    """Which service broke the start, in one line, with its last log lines: one that exited,
    else one not healthy in time — the service under test first (it is what usually breaks; a
    service left "created" means a dependency broke), then the others by name."""
    try:
        containers = compose.get_containers(include_all=True)
    except Exception:
        containers = []
    by_service = {c.Service: c for c in containers if c.Service}
    for name in sorted(by_service, key=lambda n: (n != main, n)):
        c = by_service[name]
        logs = ContainerService(name, c.ID).logs() if c.ID else ""
        if c.State in ("exited", "dead") and c.ExitCode:
            return BootError(f"compose service {name!r} exited with code {c.ExitCode} during "
                             "start", hint=f"its log is {logs_dir / name}.log",
                             logs=log_tail(logs))
        if c.Health in ("unhealthy", "starting"):
            return BootError(f"compose service {name!r} not healthy within {waited_s:.0f} s",
                             hint=f"its log is {logs_dir / name}.log", logs=log_tail(logs))
    detail = log_tail(stderr, 1) or "no output"
    return BootError(f"docker compose up failed: {detail}", hint=f"container logs in {logs_dir}",
                     logs=log_tail(stderr))


def _save_logs(project: str, logs_dir: Path) -> None:
    """Each container's log as ``<service>.log``; best effort, never raises."""
    try:
        listing = docker_cli("ps", "-a", "--filter", f"label={PROJECT_LABEL}={project}", "--format",
                          f'{{{{.ID}}}} {{{{.Label "{SERVICE_LABEL}"}}}}').stdout
    except (InfrastructureError, subprocess.TimeoutExpired):
        return
    for line in listing.splitlines():
        container_id, _, name = line.strip().partition(" ")
        with suppress(OSError):
            text = ContainerService(name, container_id).logs()
            (logs_dir / f"{name or container_id}.log").write_text(text)


def _services(files: list[str], env: dict[str, str], project: str) -> list[str]:
    """The services of the team's compose files, as compose itself reads them."""
    argv = ["docker", "compose", "--project-name", project]
    for name in files:
        argv += ["-f", name]
    done = subprocess.run([*argv, "config", "--services"], capture_output=True, text=True,
                          env=env, timeout=60, check=False)
    if done.returncode != 0:
        raise ConfigError(f"compose.files: docker compose cannot read them: "
                          f"{log_tail(done.stderr, 1)}")
    return [line.strip() for line in done.stdout.splitlines() if line.strip()]


@contextmanager
def boot_compose(contract: Contract, config: StackConfig, logs_dir: Path | None = None
                 ) -> Iterator[Stack]:
    """Boot the contract's ``[compose]`` files as a project of their own, Toxiproxy in every
    link; ``down --volumes`` when the block exits."""
    compose_spec = contract.compose
    assert compose_spec is not None
    started = time.monotonic()
    env = compose_environment()
    require_docker()
    compose_version = require_compose_v2(env)
    sweep_stale_projects()
    project = f"{PROJECT_PREFIX}{os.getpid()}-{secrets.token_hex(3)}"
    files = [str(contract.resolve(f)) for f in compose_spec.files]
    for name in files:
        if not Path(name).is_file():
            raise ConfigError(f"compose.files: no such file {name}")
    services = _services(files, env, project)
    main = contract.compose_service
    if main not in services:
        raise ConfigError(f"compose: service {main!r} is not in {', '.join(files)} "
                          f"(services: {', '.join(services)})")
    for link in compose_spec.links.values():
        target = link.target.rpartition(":")[0]
        for name in {target, *link.services_on(main)}:
            if name not in services:
                raise ConfigError(f"compose.links: service {name!r} is not in the compose "
                                  f"files (services: {', '.join(services)})")

    exits = ExitStack()
    try:
        tmp = Path(tempfile.mkdtemp(prefix="gauntlet-compose-"))
        exits.callback(shutil.rmtree, tmp, True)
        os.chmod(tmp, 0o755)  # Toxiproxy's container runs as nobody and reads its config here
        logs = logs_dir or tmp / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        toxiproxy_image = overlay_image(env)
        config_path = tmp / "toxiproxy.json"
        overlay = build(contract, services=services, variants=list(config.variants),
                        toxiproxy_image=toxiproxy_image, owner=owner_tag(),
                        config_path=str(config_path), secret=secrets.token_hex(16))
        config_path.write_text(json.dumps(overlay.proxies, indent=2))
        config_path.chmod(0o644)
        overlay_path = tmp / "gauntlet-overlay.yml"
        overlay_path.write_text(overlay.yaml)
        (logs / "gauntlet-overlay.yml").write_text(overlay.yaml)
        compose = _Compose(context=str(Path(files[0]).parent),
                           compose_file_name=[*files, str(overlay_path)], project=project,
                           env=env)

        exits.callback(project_teardown(project, compose, logs))
        wait_s = config.boot_timeout_s + (0.0 if image_present(toxiproxy_image)
                                          else PULL_ALLOWANCE_S)
        try:
            compose.up(wait_timeout_s=wait_s)
        except subprocess.CalledProcessError as exc:
            stderr = exc.stderr.decode("utf-8", errors="replace") if exc.stderr else ""
            _save_logs(project, logs)
            raise _diagnose(compose, main, time.monotonic() - started, stderr, logs) from exc
        except subprocess.TimeoutExpired as exc:
            _save_logs(project, logs)
            raise _diagnose(compose, main, time.monotonic() - started,
                            f"docker compose up did not finish within {wait_s:.0f} s",
                            logs) from exc

        containers = {c.Service: c for c in compose.get_containers(include_all=True)
                      if c.Service}
        handles: dict[str, ContainerService] = {name: ContainerService(name, c.ID or "")
                                   for name, c in containers.items()}
        proxy_box = containers[TOXIPROXY]
        toxiproxy = ToxiproxyClient(
            f"http://127.0.0.1:{_published(proxy_box, TOXIPROXY_API_PORT, TOXIPROXY)}")
        toxiproxy.wait_up(timeout_s=10.0)

        def reset_toxiproxy() -> None:
            with suppress(Exception):
                toxiproxy.reset()

        exits.callback(reset_toxiproxy)
        base_port = _published(proxy_box, MAIN_PROXY_PORT, TOXIPROXY)
        direct_port = _published(containers[main], overlay.main_port, main)
        link_host = {name: _published(proxy_box, port, TOXIPROXY)
                     for name, port in overlay.link_ports.items()}

        spec = contract.services.get(contract.main_service or "")
        ready = (spec.ready if spec else None) or contract.probes.ready or "/"
        direct = f"http://127.0.0.1:{direct_port}"
        deadline = started + wait_s
        while not http_ok(direct + ready):
            if not handles[main].alive():
                raise BootError(f"compose service {main!r} exited with code "
                                f"{handles[main].wait(1.0)} before ready ({ready})",
                                hint=f"its log is {logs / main}.log",
                                logs=log_tail(handles[main].logs()))
            if time.monotonic() > deadline:
                raise BootError(f"compose service {main!r} not ready ({ready}) within "
                                f"{config.boot_timeout_s:.0f} s",
                                hint=f"its log is {logs / main}.log",
                                logs=log_tail(handles[main].logs()))
            cleanup.sleep(0.1)

        values = {f"links.{n}.host": "127.0.0.1" for n in link_host}
        values.update({f"links.{n}.port": str(p) for n, p in link_host.items()})
        database_url = fill(compose_spec.database_url, values) \
            if compose_spec.database_url else None
        # the containers running now (a one-shot init container has already exited)
        running = {name: h for name, h in handles.items() if h.alive()}
        if contract.main_service and contract.main_service not in handles:
            handles[contract.main_service] = handles[main]  # shutdown claims name it so
        yield Stack(
            backend="compose",
            base_url=f"http://127.0.0.1:{base_port}",
            api_direct_url=direct,
            contract=contract,
            toxiproxy=toxiproxy,
            proxies={name: name for name in (*compose_spec.links, main)},
            database_url=database_url,
            services=handles,
            processes=running,
            logs_dir=logs,
            boot_time_s=time.monotonic() - started,
            versions={"toxiproxy": toxiproxy.version(), "compose": compose_version,
                      "compose_project": project, "toxiproxy_image": toxiproxy_image},
            variants=tuple(config.variants),
        )
    finally:
        with cleanup.shielded():
            exits.close()
