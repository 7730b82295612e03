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

import hashlib
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

import httpx
from testcontainers.compose import DockerCompose
from testcontainers.core.exceptions import NoSuchPortExposed

from chaos.toxiproxy import ToxiproxyClient
from gauntlet import cleanup
from gauntlet.boot.stack import PROXY_NAMES, Stack
from gauntlet.config import REPO_ROOT, StackConfig
from gauntlet.errors import BootError, InfrastructureError
from gauntlet.policy import Policy, broken_env

__all__ = [
    "COMPOSE_FILE",
    "ContainerService",
    "boot_compose",
    "require_docker",
    "sweep_stale_projects",
]

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


def stack_digest(root: Path = REPO_ROOT) -> str:
    """What the app image is built from (stack/, pyproject.toml), as bootstrap-containers.sh
    labels it (``org.gauntlet.stack-digest``): sha256 over ``sha256sum``'s listing."""
    paths = sorted(
        [p.relative_to(root).as_posix() for p in (root / "stack").rglob("*")
         if p.is_file() and not p.is_symlink() and "__pycache__" not in p.parts
         and p.suffix != ".pyc"] + ["pyproject.toml"]
    )
    listing = "".join(f"{hashlib.sha256((root / p).read_bytes()).hexdigest()}  {p}\n"
                      for p in paths)
    return hashlib.sha256(listing.encode()).hexdigest()[:16]


def _tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


# -- the Docker engine, through its CLI ----------------------------------------------------------
# The docker CLI rather than the docker SDK: the repository's own docker/ folder (Dockerfiles)
# shadows the SDK's package name for mypy and ruff, and compose needs the CLI anyway.
def _docker(*args: str, timeout_s: float = COMMAND_TIMEOUT_S,
            check: bool = False) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["docker", *args], capture_output=True, text=True, check=check,
                              timeout=timeout_s, env={**os.environ, "DOCKER_CLI_HINTS": "false"})
    except FileNotFoundError as exc:
        raise InfrastructureError("docker CLI not found", hint=HINT) from exc


def require_docker(timeout_s: float = 10.0) -> str:
    """The engine's version, or the one-line infrastructure error when none answers."""
    try:
        done = _docker("info", "--format", "{{.ServerVersion}}", timeout_s=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise InfrastructureError("Docker engine not reachable", hint=HINT) from exc
    version = done.stdout.strip()
    if done.returncode != 0 or not version or version == "<no value>":
        raise InfrastructureError("Docker engine not reachable", hint=HINT)
    return version


def _require_compose_v2(env: Mapping[str, str]) -> str:
    try:
        done = subprocess.run(["docker", "compose", "version", "--short"], env=dict(env),
                              capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InfrastructureError("docker CLI not usable", hint=HINT) from exc
    if done.returncode != 0:
        raise InfrastructureError("docker compose v2 not installed (the docker CLI plugin)",
                                  hint=HINT)
    return done.stdout.strip()


def _ids(*args: str) -> list[str]:
    return _docker(*args).stdout.split()


def force_remove_project(project: str) -> int:
    """Remove a project's containers (with their volumes) and networks without compose."""
    label = f"label={PROJECT_LABEL}={project}"
    containers = _ids("ps", "-a", "-q", "--filter", label)
    if containers:
        _docker("rm", "--force", "--volumes", *containers)
    networks = _ids("network", "ls", "-q", "--filter", label)
    if networks:
        _docker("network", "rm", *networks)
    return len(containers)


def sweep_stale_projects() -> list[str]:
    """Remove projects booted on this host by a gauntlet process that no longer exists."""
    host = socket.gethostname()
    listing = _docker("ps", "-a", "--filter", f"label={OWNER_LABEL}", "--format",
                      f'{{{{.Label "{OWNER_LABEL}"}}}} {{{{.Label "{PROJECT_LABEL}"}}}}').stdout
    stale: set[str] = set()
    for line in listing.splitlines():
        owner, _, project = line.strip().partition(" ")
        owner_host, _, pid_text = owner.rpartition(":")
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
        force_remove_project(project)
    return sorted(stale)


def _image_present(name: str) -> bool:
    return _docker("image", "inspect", "--format", "{{.Id}}", name).returncode == 0


def _warn_if_stale(app_image: str) -> None:
    """An app image labelled with another stack digest runs code that is not in the tree."""
    done = _docker("image", "inspect", "--format",
                   '{{ index .Config.Labels "org.gauntlet.stack-digest" }}', app_image)
    built_from = done.stdout.strip() if done.returncode == 0 else ""
    if built_from and built_from != "<no value>" and built_from != stack_digest():
        logger.warning("app image %s was built from another stack/ than the tree's: run "
                       "scripts/bootstrap-containers.sh to rebuild it", app_image)


# -- one service = one container ------------------------------------------------------------------
class ContainerService:
    """A compose service as the :class:`~gauntlet.boot.stack.Service` protocol sees it."""

    def __init__(self, name: str, container_id: str) -> None:
        self.name = name
        self.container_id = container_id

    def status(self) -> str:
        """Docker's state: created, running, exited, dead, ... or "removed"."""
        done = _docker("inspect", "--format", "{{.State.Status}}", self.container_id)
        return done.stdout.strip() if done.returncode == 0 else "removed"

    def send_signal(self, sig: int) -> None:
        """``docker kill --signal``: the signal reaches PID 1 of the container, the service."""
        name = signal.Signals(sig).name
        done = _docker("kill", "--signal", name, self.container_id)
        if done.returncode != 0:
            raise InfrastructureError(f"cannot send {name} to compose service {self.name!r}: "
                                      f"{done.stderr.strip()}")

    def alive(self) -> bool:
        return self.status() in ("running", "restarting", "paused")

    def wait(self, timeout_s: float | None = None) -> int | None:
        """``docker wait``: the exit code once stopped; None if it still runs at the bound."""
        try:
            done = subprocess.run(["docker", "wait", self.container_id], capture_output=True,
                                  text=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            return None
        text = done.stdout.strip()
        return int(text) if done.returncode == 0 and text.lstrip("-").isdigit() else None

    def logs(self) -> str:
        """stdout and stderr of the container, interleaved as the engine returns them."""
        try:
            done = subprocess.run(["docker", "logs", self.container_id], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=COMMAND_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            return ""
        return done.stdout.decode("utf-8", errors="replace")


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
                             hint=f"its log is {logs_dir / name}.log", logs=_tail(logs))
        if c.Health in ("unhealthy", "starting"):
            return BootError(f"compose service {name!r} not healthy within {waited_s:.0f} s",
                             hint=f"its log is {logs_dir / name}.log", logs=_tail(logs))
    detail = _tail(stderr, 1) or "no output"
    missing = [img for img in images(compose.env).values() if not _image_present(img)]
    hint = f"images missing: {', '.join(missing)}; {HINT}" if missing else None
    return BootError(f"docker compose up failed: {detail}", hint=hint, logs=_tail(stderr))


def _save_logs(project: str, logs_dir: Path) -> None:
    """Each container's log as ``<service>.log``; best effort, never raises."""
    try:
        listing = _docker("ps", "-a", "--filter", f"label={PROJECT_LABEL}={project}", "--format",
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
    require_docker()
    compose_version = _require_compose_v2(env)
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
            _override(policy, list(config.broken), dict(api_env or {})), indent=2))
        compose = _Compose(
            context=str(compose_file.parent),
            compose_file_name=[str(compose_file), str(override)],
            project=project,
            env=env,
        )

        # the net first, then teardown: logs copied, then down -v, then the net lifted
        token = cleanup.register(f"remove compose project {project}",
                                 lambda: force_remove_project(project))

        def teardown() -> None:
            _save_logs(project, logs)
            try:
                compose.down()
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
                logger.warning("compose down %s failed (%s); removing its containers", project, exc)
                force_remove_project(project)
            cleanup.unregister(token)

        exits.callback(teardown)

        missing = [img for img in images(env).values() if not _image_present(img)]
        local_missing = [img for img in missing if img.startswith("gauntlet-")]
        if local_missing:
            raise InfrastructureError(
                f"images not built: {', '.join(local_missing)}",
                hint=f"{HINT}, or where images can be pulled: "
                     f"docker compose -f {compose_file.name} build",
            )
        _warn_if_stale(images(env)["GAUNTLET_IMAGE_APP"])
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
                                f"{config.boot_timeout_s:.0f} s",
                                logs=_tail(services["api"].logs()))
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
            versions={"toxiproxy": toxiproxy.version(), "compose": compose_version,
                      "compose_project": project,
                      **{var.removeprefix("GAUNTLET_IMAGE_").lower() + "_image": name
                         for var, name in images(env).items()}},
            broken=tuple(config.broken),
        )
    finally:
        # a second Ctrl-C cannot cut the teardown in half
        with cleanup.shielded():
            exits.close()
