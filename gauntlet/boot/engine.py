"""The Docker engine as the compose backend needs it: the CLI, compose v2, images, projects.

Kept apart from :mod:`gauntlet.boot.compose` (which boots a stack) because these are facts about
the machine — is an engine there, which images does it hold, which projects did a dead gauntlet
leave — and each is asked through the ``docker`` CLI with a bound, never the SDK (the repo's own
``docker/`` folder shadows the SDK's package name for linters).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path

from gauntlet.config import REPO_ROOT
from gauntlet.errors import InfrastructureError

logger = logging.getLogger(__name__)

COMMAND_TIMEOUT_S = 60.0  # any compose command but `up`
LOG_TAIL_LINES = 40
IMAGES_ENV = REPO_ROOT / "docker" / "images.env"
# the one image gauntlet adds to a compose project (the overlay's Toxiproxy); the images of the
# team's own services are its compose files' (images.env may set their variables too)
TOXIPROXY_IMAGE_VAR = "GAUNTLET_IMAGE_TOXIPROXY"
TOXIPROXY_IMAGE = "ghcr.io/shopify/toxiproxy:2.12.0"
HINT = "run scripts/bootstrap-containers.sh"
PROJECT_PREFIX = "gauntlet-"
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
OWNER_LABEL = "org.gauntlet.owner"  # "<hostname>:<pid>" of the gauntlet that booted it


def owner_tag() -> str:
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


def overlay_image(env: Mapping[str, str]) -> str:
    """The Toxiproxy image the overlay runs: ``$GAUNTLET_IMAGE_TOXIPROXY``, else upstream's."""
    return env.get(TOXIPROXY_IMAGE_VAR) or TOXIPROXY_IMAGE


def log_tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


# -- the Docker engine, through its CLI ----------------------------------------------------------
# The docker CLI rather than the docker SDK: the repository's own docker/ folder (Dockerfiles)
# shadows the SDK's package name for mypy and ruff, and compose needs the CLI anyway.
def docker_cli(*args: str, timeout_s: float = COMMAND_TIMEOUT_S,
            check: bool = False) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["docker", *args], capture_output=True, text=True, check=check,
                              timeout=timeout_s, env={**os.environ, "DOCKER_CLI_HINTS": "false"})
    except FileNotFoundError as exc:
        raise InfrastructureError("docker CLI not found", hint=HINT) from exc


def require_docker(timeout_s: float = 10.0) -> str:
    """The engine's version, or the one-line infrastructure error when none answers."""
    try:
        done = docker_cli("info", "--format", "{{.ServerVersion}}", timeout_s=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise InfrastructureError("Docker engine not reachable", hint=HINT) from exc
    version = done.stdout.strip()
    if done.returncode != 0 or not version or version == "<no value>":
        raise InfrastructureError("Docker engine not reachable", hint=HINT)
    return version


def require_compose_v2(env: Mapping[str, str]) -> str:
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
    return docker_cli(*args).stdout.split()


def force_remove_project(project: str) -> int:
    """Remove a project's containers (with their volumes), networks and named volumes without
    compose."""
    label = f"label={PROJECT_LABEL}={project}"
    containers = _ids("ps", "-a", "-q", "--filter", label)
    if containers:
        docker_cli("rm", "--force", "--volumes", *containers)
    networks = _ids("network", "ls", "-q", "--filter", label)
    if networks:
        docker_cli("network", "rm", *networks)
    volumes = _ids("volume", "ls", "-q", "--filter", label)  # named volumes of the project
    if volumes:
        docker_cli("volume", "rm", "--force", *volumes)
    return len(containers)


def sweep_stale_projects() -> list[str]:
    """Remove projects booted on this host by a gauntlet process that no longer exists."""
    host = socket.gethostname()
    listing = docker_cli("ps", "-a", "--filter", f"label={OWNER_LABEL}", "--format",
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


def image_present(name: str) -> bool:
    return docker_cli("image", "inspect", "--format", "{{.Id}}", name).returncode == 0


# -- one service = one container ------------------------------------------------------------------
class ContainerService:
    """A compose service as the :class:`~gauntlet.boot.stack.Service` protocol sees it."""

    def __init__(self, name: str, container_id: str) -> None:
        self.name = name
        self.container_id = container_id

    def status(self) -> str:
        """Docker's state: created, running, exited, dead, ... or "removed"."""
        done = docker_cli("inspect", "--format", "{{.State.Status}}", self.container_id)
        return done.stdout.strip() if done.returncode == 0 else "removed"

    def send_signal(self, sig: int) -> None:
        """``docker kill --signal``: the signal reaches PID 1 of the container, the service."""
        name = signal.Signals(sig).name
        done = docker_cli("kill", "--signal", name, self.container_id)
        if done.returncode != 0:
            raise InfrastructureError(f"cannot send {name} to compose service {self.name!r}: "
                                      f"{done.stderr.strip()}")

    def alive(self) -> bool:
        return self.status() in ("running", "restarting", "paused")

    @property
    def returncode(self) -> int | None:
        """The container's exit code once it stopped; None while it runs or once removed."""
        done = docker_cli("inspect", "--format", "{{.State.Running}} {{.State.ExitCode}}",
                          self.container_id)
        running, _, code = done.stdout.strip().partition(" ")
        if done.returncode != 0 or running == "true" or not code.lstrip("-").isdigit():
            return None
        return int(code)

    def tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return log_tail(self.logs(), lines)

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
