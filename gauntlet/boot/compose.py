"""The compose backend: ``docker-compose.test.yml`` through testcontainers' ``DockerCompose``.

One compose project per boot (``gauntlet-<pid>-<hex>``), so boots never share containers and can
run side by side: every port is published on 127.0.0.1 at a random host port and read back from
``docker compose ps``. The contract's numbers (its services' ``env``) and the variants switched
on reach the containers of the same names in an override file written per boot
(``-f docker-compose.test.yml -f <tmp>/override.json``), which
also labels every container with its owner so a later boot can remove what a ``kill -9``'d
gauntlet left behind.

Image names come from ``GAUNTLET_IMAGE_*`` environment variables, falling back to
``docker/images.env`` (written by ``scripts/bootstrap-containers.sh`` on machines that cannot
pull), falling back to the compose file's defaults (the official images).

Teardown always ends in ``docker compose down -v``: on success, on errors, on Ctrl-C and after a
failed start, after each container's log has been copied into ``logs_dir``; a registered
cleanup net force-removes the project should even that be skipped.

    with boot_compose(suite.stack, suite.the_contract, logs_dir) as stack:
        httpx.get(stack.base_url + "/")
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
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import httpx
from testcontainers.compose import DockerCompose
from testcontainers.core.exceptions import NoSuchPortExposed

from gauntlet import cleanup
from gauntlet.boot.engine import (
    COMMAND_TIMEOUT_S,
    HINT,
    OWNER_LABEL,
    PROJECT_LABEL,
    PROJECT_PREFIX,
    SERVICE_LABEL,
    ContainerService,
    compose_environment,
    docker_cli,
    force_remove_project,
    image_present,
    images,
    log_tail,
    owner_tag,
    require_compose_v2,
    require_docker,
    sweep_stale_projects,
    warn_if_stale,
)
from gauntlet.boot.stack import Stack
from gauntlet.chaos.toxiproxy import ToxiproxyClient
from gauntlet.config import REPO_ROOT, StackConfig
from gauntlet.contract import Contract
from gauntlet.errors import BootError, InfrastructureError

__all__ = [
    "COMPOSE_FILE",
    "ContainerService",
    "boot_compose",
    "require_docker",
    "sweep_stale_projects",
]

logger = logging.getLogger(__name__)

COMPOSE_FILE = REPO_ROOT / "docker-compose.test.yml"
SERVICES = ("postgres", "redis", "toxiproxy", "upstream", "api")
API_PORT = 8000
API_PROXY_PORT = 28000
TOXIPROXY_PORT = 8474
POSTGRES_PORT = 5432
DB_USER = DB_PASSWORD = DB_NAME = "gauntlet"
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


def _override(contract: Contract, variants: list[str], api_env: Mapping[str, str]
              ) -> dict[str, Any]:
    """The per-boot compose override: each contract service's environment (the claims'
    numbers), the variants on the main service, owner labels on all."""
    labels = {OWNER_LABEL: owner_tag()}
    services: dict[str, Any] = {name: {"labels": labels} for name in SERVICES}
    for name in contract.services:
        if name in services:
            services[name]["environment"] = contract.render_env(name)
    main = contract.main_service or "api"
    services[main]["environment"] = {
        **services[main].get("environment", {}),
        **{k: v for variant in variants for k, v in contract.variants[variant].items()},
        "JWT_SECRET": "gauntlet-compose-" + secrets.token_hex(8),
        **api_env,
    }
    return {"services": services}


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
                        hint=f"check {COMPOSE_FILE.name}") from exc
    if not published:
        raise BootError(f"compose service {service!r} port {port} has no host port")
    return int(published)


def _diagnose(compose: _Compose, waited_s: float, stderr: str, logs_dir: Path) -> BootError:
    """Which service broke the start, in one line, with its last log lines."""
    try:
        containers = compose.get_containers(include_all=True)
    except Exception:
        containers = []
    by_service = {c.Service: c for c in containers if c.Service}
    # the API first, it is what usually breaks; an API left "created" means a dependency broke
    order = ["api", "upstream", "toxiproxy", "postgres", "redis"]
    for name in sorted(by_service, key=lambda n: order.index(n) if n in order else len(order)):
        c = by_service[name]
        logs = ContainerService(name, c.ID).logs() if c.ID else ""
        if c.State in ("exited", "dead"):
            return BootError(f"compose service {name!r} exited with code {c.ExitCode} during start",
                             hint=f"its log is {logs_dir / name}.log", logs=log_tail(logs))
        if c.Health in ("unhealthy", "starting"):
            return BootError(f"compose service {name!r} not healthy within {waited_s:.0f} s",
                             hint=f"its log is {logs_dir / name}.log", logs=log_tail(logs))
    detail = log_tail(stderr, 1) or "no output"
    missing = [img for img in images(compose.env).values() if not image_present(img)]
    hint = f"images missing: {', '.join(missing)}; {HINT}" if missing else None
    return BootError(f"docker compose up failed: {detail}", hint=hint, logs=log_tail(stderr))


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


def _http_ok(url: str, timeout_s: float = 1.0) -> bool:
    try:
        return httpx.get(url, timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def boot_compose(
    config: StackConfig,
    contract: Contract,
    logs_dir: Path | None = None,
    *,
    api_env: Mapping[str, str] | None = None,
    compose_file: Path = COMPOSE_FILE,
) -> Iterator[Stack]:
    """Boot docker-compose.test.yml as a project of its own; ``down -v`` when the block exits.

    ``api_env`` adds to (or overrides) the API container's environment, after the contract's.
    """
    started = time.monotonic()
    env = compose_environment()
    require_docker()
    compose_version = require_compose_v2(env)
    sweep_stale_projects()
    project = f"{PROJECT_PREFIX}{os.getpid()}-{secrets.token_hex(3)}"

    exits = ExitStack()
    try:
        tmp = Path(tempfile.mkdtemp(prefix="gauntlet-compose-"))
        exits.callback(shutil.rmtree, tmp, True)
        logs = logs_dir or tmp / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        override = tmp / "override.json"  # JSON is YAML: no YAML writer needed
        override.write_text(json.dumps(
            _override(contract, list(config.variants), dict(api_env or {})), indent=2))
        compose = _Compose(
            context=str(compose_file.parent),
            compose_file_name=[str(compose_file), str(override)],
            project=project,
            env=env,
        )

        exits.callback(project_teardown(project, compose, logs))

        missing = [img for img in images(env).values() if not image_present(img)]
        local_missing = [img for img in missing if img.startswith("gauntlet-")]
        if local_missing:
            raise InfrastructureError(
                f"images not built: {', '.join(local_missing)}",
                hint=f"{HINT}, or where images can be pulled: "
                     f"docker compose -f {compose_file.name} build",
            )
        warn_if_stale(images(env)["GAUNTLET_IMAGE_APP"])
        wait_s = config.boot_timeout_s + (PULL_ALLOWANCE_S if missing else 0.0)
        try:
            compose.up(wait_timeout_s=wait_s)
        except subprocess.CalledProcessError as exc:
            stderr = exc.stderr.decode("utf-8", errors="replace") if exc.stderr else ""
            raise _diagnose(compose, time.monotonic() - started, stderr, logs) from exc
        except subprocess.TimeoutExpired as exc:
            raise _diagnose(compose, time.monotonic() - started, "up timed out", logs) from exc

        containers = {c.Service: c for c in compose.get_containers(include_all=True) if c.Service}
        absent = [name for name in SERVICES if name not in containers]
        if absent:
            raise BootError(f"compose services missing after up: {', '.join(absent)}")
        services = {name: ContainerService(name, containers[name].ID or "")
                    for name in SERVICES}
        toxiproxy_port = _published(containers["toxiproxy"], TOXIPROXY_PORT, "toxiproxy")
        proxy_api_port = _published(containers["toxiproxy"], API_PROXY_PORT, "toxiproxy")
        api_port = _published(containers["api"], API_PORT, "api")
        postgres_port = _published(containers["postgres"], POSTGRES_PORT, "postgres")

        toxiproxy = ToxiproxyClient(f"http://127.0.0.1:{toxiproxy_port}")
        toxiproxy.wait_up(timeout_s=10.0)

        def reset_toxiproxy() -> None:
            with suppress(Exception):
                toxiproxy.reset()

        exits.callback(reset_toxiproxy)
        have = set(toxiproxy.proxies())
        wanted = {*contract.links, "api"}
        if not wanted <= have:
            raise BootError(f"Toxiproxy lacks proxies {sorted(wanted - have)}",
                            hint="check docker/toxiproxy.json")

        # healthy = live; the stack is booted when it is ready (its database and Redis reachable)
        direct = f"http://127.0.0.1:{api_port}"
        deadline = started + wait_s
        main = contract.main_service or "api"
        ready = contract.services[main].ready if main in contract.services else None
        while not _http_ok(f"{direct}{ready or '/'}"):
            if not services["api"].alive():
                raise BootError(f"compose service 'api' exited with code "
                                f"{services['api'].wait(1.0)} before ready",
                                logs=log_tail(services["api"].logs()))
            if time.monotonic() > deadline:
                raise BootError(f"compose service 'api' not ready ({ready}) within "
                                f"{config.boot_timeout_s:.0f} s",
                                logs=log_tail(services["api"].logs()))
            cleanup.sleep(0.1)

        boot_time_s = time.monotonic() - started
        logger.info("compose project %s up in %.1f s", project, boot_time_s)
        yield Stack(
            backend="compose",
            base_url=f"http://127.0.0.1:{proxy_api_port}",
            api_direct_url=direct,
            contract=contract,
            toxiproxy=toxiproxy,
            proxies={name: name for name in (*contract.links, "api")},
            database_url=(f"postgresql://{DB_USER}:{DB_PASSWORD}@127.0.0.1:{postgres_port}"
                          f"/{DB_NAME}"),
            services=services,
            processes={name: svc for name, svc in services.items() if svc.alive()},
            logs_dir=logs,
            boot_time_s=boot_time_s,
            versions={"toxiproxy": toxiproxy.version(), "compose": compose_version,
                      "compose_project": project,
                      **{var.removeprefix("GAUNTLET_IMAGE_").lower() + "_image": name
                         for var, name in images(env).items()}},
            variants=tuple(config.variants),
        )
    finally:
        # a second Ctrl-C cannot cut the teardown in half
        with cleanup.shielded():
            exits.close()
