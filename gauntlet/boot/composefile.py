"""The compose backend on a team's own compose file: the contract's ``[compose]`` section.

The team's files are used unchanged, with the overlay of :mod:`gauntlet.boot.overlay` on top
(a Toxiproxy container in every link, ports on 127.0.0.1 only, owner labels), as a project of
its own (``gauntlet-<pid>-<hex>``). The boot waits for ``up --wait`` and then for the service
under test's ready path; when either does not come, every container's log is in the run dir and
the error names the service. Teardown always ends in ``down --volumes``: on success, failure,
Ctrl-C, and after a failed start; a registered net removes the project (containers, networks,
named volumes) should even that be skipped, and the next boot sweeps a project whose gauntlet
died by ``kill -9``.

    with boot_compose_file(contract, suite.stack, logs_dir) as stack:
        ...
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any

from gauntlet import cleanup
from gauntlet.boot.compose import (
    PULL_ALLOWANCE_S,
    _Compose,
    _http_ok,
    _published,
    _save_logs,
    project_teardown,
)
from gauntlet.boot.engine import (
    PROJECT_PREFIX,
    ContainerService,
    compose_environment,
    image_present,
    images,
    log_tail,
    owner_tag,
    require_compose_v2,
    require_docker,
    sweep_stale_projects,
)
from gauntlet.boot.overlay import MAIN_PROXY_PORT, TOXIPROXY, TOXIPROXY_API_PORT, build
from gauntlet.boot.stack import Stack
from gauntlet.chaos.toxiproxy import ToxiproxyClient
from gauntlet.config import StackConfig
from gauntlet.contract import Contract, fill
from gauntlet.errors import BootError, ConfigError

logger = logging.getLogger(__name__)


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
def boot_compose_file(contract: Contract, config: StackConfig, logs_dir: Path | None = None
                      ) -> Iterator[Stack]:
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
    main = compose_spec.service or contract.main_service or "api"
    if main not in services:
        raise ConfigError(f"compose: service {main!r} is not in {', '.join(files)} "
                          f"(services: {', '.join(services)})")
    for link in compose_spec.links.values():
        target = link.target.rpartition(":")[0]
        for name in {target, link.service or main}:
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
        toxiproxy_image = images(env)["GAUNTLET_IMAGE_TOXIPROXY"]
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
            raise BootError(f"docker compose up failed: {log_tail(stderr, 1) or 'no output'}",
                            hint=f"container logs in {logs}", logs=log_tail(stderr)) from exc
        except subprocess.TimeoutExpired as exc:
            _save_logs(project, logs)
            raise BootError(f"docker compose up did not finish within {wait_s:.0f} s",
                            hint=f"container logs in {logs}") from exc

        containers = {c.Service: c for c in compose.get_containers(include_all=True)
                      if c.Service}
        handles: dict[str, Any] = {name: ContainerService(name, c.ID or "")
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
        while not _http_ok(direct + ready):
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
