"""The compose backend: ``docker-compose.test.yml`` through testcontainers' ``DockerCompose``.

One compose project per boot (``gauntlet-<pid>-<hex>``), so boots never share containers and can
run side by side: every port is published on 127.0.0.1 at a random host port and read back from
``docker compose ps``. The policy under test and the broken-variant switches reach the API in an
override file written per boot (``-f docker-compose.test.yml -f <tmp>/override.json``), which
also labels every container with its owner so a later boot can remove what a ``kill -9``'d
gauntlet left behind.

Image names come from ``GAUNTLET_IMAGE_*`` environment variables, falling back to
``docker/images.env`` (written by ``scripts/bootstrap-containers.sh`` on machines that cannot
pull), falling back to the compose file's defaults (the official images).

Teardown always ends in ``docker compose down -v``: on success, on errors, on Ctrl-C and after a
failed start, after each container's log has been copied into ``logs_dir``; a registered
cleanup net force-removes the project should even that be skipped.

    with boot_compose(suite.stack, suite.resolved_policy, logs_dir) as stack:
        httpx.get(stack.base_url + "/health/ready")
"""

from __future__ import annotations

import json
import logging
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import docker
import docker.errors
import httpx
from testcontainers.compose import DockerCompose
from testcontainers.core.exceptions import NoSuchPortExposed

from chaos.toxiproxy import ToxiproxyClient
from gauntlet import cleanup
from gauntlet.boot.stack import PROXY_NAMES, Stack
from gauntlet.config import REPO_ROOT, StackConfig
from gauntlet.errors import BootError, InfrastructureError
from gauntlet.policy import Policy, broken_env

__all__ = ["COMPOSE_FILE", "ContainerService", "boot_compose", "sweep_stale_projects"]

logger = logging.getLogger(__name__)

COMPOSE_FILE = REPO_ROOT / "docker-compose.test.yml"
IMAGES_ENV = REPO_ROOT / "docker" / "images.env"
IMAGE_VARS = {
    "GAUNTLET_IMAGE_POSTGRES": "postgres:15",
    "GAUNTLET_IMAGE_REDIS": "redis:7",
    "GAUNTLET_IMAGE_TOXIPROXY": "ghcr.io/shopify/toxiproxy:2.12.0",
    "GAUNTLET_IMAGE_APP": "gauntlet-stack:dev",
}
HINT = "run scripts/bootstrap-containers.sh"
PROJECT_PREFIX = "gauntlet-"
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
OWNER_LABEL = "org.gauntlet.owner"  # "<hostname>:<pid>" of the gauntlet that booted it
SERVICES = ("postgres", "redis", "toxiproxy", "upstream", "api")
# container ports, as docker-compose.test.yml and docker/toxiproxy.json define them
API_PORT = 8000
API_PROXY_PORT = 28000
TOXIPROXY_PORT = 8474
POSTGRES_PORT = 5432
DB_USER = DB_PASSWORD = DB_NAME = "gauntlet"
COMMAND_TIMEOUT_S = 60.0  # any compose command but `up`
PULL_ALLOWANCE_S = 600.0  # extra time for `up` when an image has to be pulled or built first
LOG_TAIL_LINES = 40


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def image_env(path: Path = IMAGES_ENV) -> dict[str, str]:
    """``export NAME=value`` lines of ``docker/images.env``; missing file → nothing."""
    found: dict[str, str] = {}
    with suppress(OSError):
        for line in path.read_text().splitlines():
            line = line.strip().removeprefix("export ").strip()
            if line and not line.startswith("#") and "=" in line:
                name, _, value = line.partition("=")
                found[name.strip()] = value.strip().strip("'\"")
    return found


def compose_environment(images_file: Path = IMAGES_ENV) -> dict[str, str]:
    """The environment compose runs in: images.env under the caller's environment."""
    env = {**image_env(images_file), **os.environ}
    env["TESTCONTAINERS_RYUK_DISABLED"] = "true"  # Ryuk's image cannot be pulled; we clean up
    for name in ("COMPOSE_PROJECT_NAME", "COMPOSE_FILE", "COMPOSE_PROFILES"):
        env.pop(name, None)  # a user's shell must not redirect our project
    return env


def images(env: Mapping[str, str]) -> dict[str, str]:
    return {var: env.get(var) or default for var, default in IMAGE_VARS.items()}


def _tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


# -- the Docker engine ----------------------------------------------------------------------------
def docker_client(timeout_s: float = 10.0) -> docker.DockerClient:
    """A client on a Docker engine that answers, or the one-line infrastructure error."""
    try:
        client = docker.from_env(timeout=int(math.ceil(timeout_s)))
        client.ping()
    except Exception as exc:  # DockerException, requests' errors, a missing socket
        raise InfrastructureError("Docker engine not reachable", hint=HINT) from exc
    return client


def _require_compose_v2(env: Mapping[str, str]) -> None:
    try:
        done = subprocess.run(["docker", "compose", "version", "--short"], env=dict(env),
                              capture_output=True, timeout=COMMAND_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InfrastructureError("docker CLI not usable", hint=HINT) from exc
    if done.returncode != 0:
        raise InfrastructureError("docker compose v2 not installed (the docker CLI plugin)",
                                  hint=HINT)


def force_remove_project(client: docker.DockerClient, project: str) -> int:
    """Remove a project's containers (with their volumes) and networks without compose."""
    removed = 0
    for container in client.containers.list(all=True, filters={"label": f"{PROJECT_LABEL}={project}"}):
        with suppress(docker.errors.NotFound):
            container.remove(force=True, v=True)
            removed += 1
    for network in client.networks.list(filters={"label": f"{PROJECT_LABEL}={project}"}):
        with suppress(docker.errors.NotFound, docker.errors.APIError):
            network.remove()
    return removed


def sweep_stale_projects(client: docker.DockerClient) -> list[str]:
    """Remove projects booted on this host by a gauntlet process that no longer exists."""
    host = socket.gethostname()
    stale: set[str] = set()
    for container in client.containers.list(all=True, filters={"label": OWNER_LABEL}):
        labels = container.labels or {}
        owner_host, _, pid_text = str(labels.get(OWNER_LABEL, "")).rpartition(":")
        project = str(labels.get(PROJECT_LABEL, ""))
        if owner_host != host or not project.startswith(PROJECT_PREFIX) or not pid_text.isdigit():
            continue
        pid = int(pid_text)
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            stale.add(project)
        except PermissionError:
            continue
    for project in sorted(stale):
        logger.warning("removing compose project %s left by a gauntlet that died", project)
        force_remove_project(client, project)
    return sorted(stale)


# -- one service = one container ------------------------------------------------------------------
class ContainerService:
    """A compose service as the :class:`~gauntlet.boot.stack.Service` protocol sees it."""

    def __init__(self, name: str, container_id: str, client: docker.DockerClient) -> None:
        self.name = name
        self.container_id = container_id
        self._client = client

    def _state(self) -> dict[str, Any]:
        try:
            attrs = self._client.api.inspect_container(self.container_id)
        except docker.errors.NotFound:
            return {"Status": "removed", "ExitCode": None}
        state: dict[str, Any] = attrs.get("State", {})
        return state

    def send_signal(self, sig: int) -> None:
        """``docker kill --signal``: the signal reaches PID 1 of the container, the service."""
        try:
            self._client.api.kill(self.container_id, signal=signal.Signals(sig).name)
        except docker.errors.APIError as exc:
            raise InfrastructureError(f"cannot signal compose service {self.name!r}: "
                                      f"{exc.explanation or exc}") from exc

    def alive(self) -> bool:
        return self._state().get("Status") in ("running", "restarting", "paused")

    def wait(self, timeout_s: float | None = None) -> int | None:
        """The container's exit code once it has stopped; None if it still runs at the bound."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        delay_s = 0.02
        while True:
            state = self._state()
            if state.get("Status") in ("exited", "dead"):
                code = state.get("ExitCode")
                return int(code) if code is not None else None
            if state.get("Status") == "removed":
                return None
            if deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(delay_s if deadline is None else min(delay_s, deadline - time.monotonic()))
            delay_s = min(delay_s * 2, 0.25)

    def logs(self) -> str:
        try:
            raw: bytes = self._client.api.logs(self.container_id, stdout=True, stderr=True)
        except docker.errors.APIError:
            return ""
        return raw.decode("utf-8", errors="replace")


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
        return subprocess.run(argv, capture_output=True, check=True, cwd=context or str(self.context),
                              env=self.env, timeout=self.timeout_s)

    def up(self, wait_timeout_s: float) -> None:
        """``up --wait``: every container started and healthy, or a CalledProcessError."""
        bound = int(math.ceil(wait_timeout_s))
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


def _override(policy: Policy, broken: list[str], api_env: Mapping[str, str]) -> dict[str, Any]:
    """The per-boot compose override: the API's policy and switches, owner labels on all."""
    labels = {OWNER_LABEL: _owner()}
    environment = {
        **policy.to_env(),
        **broken_env(broken),
        "JWT_SECRET": "gauntlet-compose-" + secrets.token_hex(8),
        **api_env,
    }
    services: dict[str, Any] = {name: {"labels": labels} for name in SERVICES}
    services["api"]["environment"] = environment
    services["upstream"]["environment"] = {"UPSTREAM_LATENCY_MS": str(policy.upstream_latency_ms)}
    return {"services": services}


def _published(container: Any, port: int, service: str) -> int:
    try:
        published = container.get_publisher(by_port=port).PublishedPort
    except NoSuchPortExposed as exc:
        raise BootError(f"compose service {service!r} publishes no port for {port}",
                        hint=f"check {COMPOSE_FILE.name}") from exc
    if not published:
        raise BootError(f"compose service {service!r} port {port} has no host port")
    return int(published)


def _diagnose(compose: _Compose, client: docker.DockerClient, waited_s: float,
              stderr: str) -> BootError:
    """Which service broke the start, in one line, with its last log lines."""
    try:
        containers = compose.get_containers(include_all=True)
    except Exception:
        containers = []
    by_service = {c.Service: c for c in containers if c.Service}
    # the API first: when a dependency fails the API never starts, and its logs say nothing
    order = ["api", "upstream", "toxiproxy", "postgres", "redis"]
    for name in sorted(by_service, key=lambda n: order.index(n) if n in order else len(order)):
        c = by_service[name]
        logs = ContainerService(name, c.ID or "", client).logs() if c.ID else ""
        if c.State in ("exited", "dead"):
            return BootError(f"compose service {name!r} exited with code {c.ExitCode} during start",
                             logs=_tail(logs))
        if c.Health in ("unhealthy", "starting"):
            return BootError(f"compose service {name!r} not healthy within {waited_s:.0f} s",
                             logs=_tail(logs))
    detail = _tail(stderr, 1) or "no output"
    missing = [img for img in images(compose.env).values() if not _image_present(client, img)]
    hint = f"images missing: {', '.join(missing)}; {HINT}" if missing else None
    return BootError(f"docker compose up failed: {detail}", hint=hint, logs=_tail(stderr))


def _image_present(client: docker.DockerClient, name: str) -> bool:
    try:
        client.images.get(name)
    except docker.errors.ImageNotFound:
        return False
    except docker.errors.APIError:
        return True  # not ours to judge here; compose will say
    return True


def _save_logs(compose: _Compose, client: docker.DockerClient, logs_dir: Path) -> None:
    """Each container's log as ``<service>.log``; best effort, never raises."""
    try:
        found = client.containers.list(all=True,
                                       filters={"label": f"{PROJECT_LABEL}={compose.project}"})
    except Exception:
        return
    for container in found:
        name = (container.labels or {}).get(SERVICE_LABEL, container.name)
        with suppress(Exception):
            (logs_dir / f"{name}.log").write_text(ContainerService(name, container.id, client).logs())


def _http_ok(url: str, timeout_s: float = 1.0) -> bool:
    try:
        return httpx.get(url, timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def boot_compose(
    config: StackConfig,
    policy: Policy,
    logs_dir: Path | None = None,
    *,
    api_env: Mapping[str, str] | None = None,
    compose_file: Path = COMPOSE_FILE,
) -> Iterator[Stack]:
    """Boot docker-compose.test.yml as a project of its own; ``down -v`` when the block exits.

    ``api_env`` adds to (or overrides) the API container's environment, after the policy.
    """
    started = time.monotonic()
    env = compose_environment()
    client = docker_client()
    _require_compose_v2(env)
    sweep_stale_projects(client)
    project = f"{PROJECT_PREFIX}{os.getpid()}-{secrets.token_hex(3)}"

    exits = ExitStack()
    try:
        tmp = Path(tempfile.mkdtemp(prefix="gauntlet-compose-"))
        exits.callback(shutil.rmtree, tmp, True)
        logs = logs_dir or tmp / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        override = tmp / "override.json"  # JSON is YAML: no YAML writer needed
        override.write_text(json.dumps(
            _override(policy, list(config.broken), dict(api_env or {})), indent=2))
        compose = _Compose(
            context=str(compose_file.parent),
            compose_file_name=[str(compose_file), str(override)],
            project=project,
            env=env,
        )

        # the net first, then teardown: logs copied, then down -v, then the net lifted
        token = cleanup.register(f"remove compose project {project}",
                                 lambda: force_remove_project(client, project))

        def teardown() -> None:
            _save_logs(compose, client, logs)
            try:
                compose.down()
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
                logger.warning("compose down %s failed (%s); removing its containers", project, exc)
                force_remove_project(client, project)
            cleanup.unregister(token)

        exits.callback(teardown)

        missing = [img for img in images(env).values() if not _image_present(client, img)]
        local_missing = [img for img in missing if img.startswith("gauntlet-")]
        if local_missing:
            raise InfrastructureError(f"images not built: {', '.join(local_missing)}", hint=HINT)
        wait_s = config.boot_timeout_s + (PULL_ALLOWANCE_S if missing else 0.0)
        try:
            compose.up(wait_timeout_s=wait_s)
        except subprocess.CalledProcessError as exc:
            stderr = exc.stderr.decode("utf-8", errors="replace") if exc.stderr else ""
            raise _diagnose(compose, client, time.monotonic() - started, stderr) from exc
        except subprocess.TimeoutExpired as exc:
            raise _diagnose(compose, client, time.monotonic() - started, "up timed out") from exc

        containers = {c.Service: c for c in compose.get_containers(include_all=True) if c.Service}
        absent = [name for name in SERVICES if name not in containers]
        if absent:
            raise BootError(f"compose services missing after up: {', '.join(absent)}")
        services = {name: ContainerService(name, containers[name].ID or "", client)
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
        if not set(PROXY_NAMES) <= have:
            raise BootError(f"Toxiproxy lacks proxies {sorted(set(PROXY_NAMES) - have)}",
                            hint="check docker/toxiproxy.json")

        # healthy = live; the stack is booted when it is ready (its database and Redis reachable)
        direct = f"http://127.0.0.1:{api_port}"
        deadline = started + wait_s
        while not _http_ok(f"{direct}/health/ready"):
            if not services["api"].alive():
                raise BootError(f"compose service 'api' exited with code "
                                f"{services['api'].wait(1.0)} before ready",
                                logs=_tail(services["api"].logs()))
            if time.monotonic() > deadline:
                raise BootError(f"compose service 'api' not ready (/health/ready) within "
                                f"{config.boot_timeout_s:.0f} s", logs=_tail(services["api"].logs()))
            time.sleep(0.1)

        boot_time_s = time.monotonic() - started
        logger.info("compose project %s up in %.1f s", project, boot_time_s)
        yield Stack(
            backend="compose",
            base_url=f"http://127.0.0.1:{proxy_api_port}",
            api_direct_url=direct,
            policy=policy,
            toxiproxy=toxiproxy,
            proxies={name: name for name in PROXY_NAMES},
            database_url=(f"postgresql://{DB_USER}:{DB_PASSWORD}@127.0.0.1:{postgres_port}"
                          f"/{DB_NAME}"),
            services=services,
            logs_dir=logs,
            boot_time_s=boot_time_s,
            versions={"toxiproxy": toxiproxy.version(), "compose_project": project,
                      **{var.removeprefix("GAUNTLET_IMAGE_").lower() + "_image": name
                         for var, name in images(env).items()}},
            broken=tuple(config.broken),
        )
    finally:
        # a second Ctrl-C cannot cut the teardown in half
        with cleanup.shielded():
            exits.close()
