"""The compose backend end to end: the reference stack's [compose]
(contracts/reference-compose.toml: stack/docker-compose.yml) booted through testcontainers
with gauntlet's Toxiproxy overlay.

Needs a Docker engine with compose v2 and the images (``scripts/bootstrap-containers.sh``);
skipped only when no engine answers, so missing images or a broken compose file fail loudly.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from gauntlet.boot import Stack
from gauntlet.boot.compose import boot_compose
from gauntlet.boot.engine import OWNER_LABEL
from gauntlet.config import StackConfig
from gauntlet.contract import ShutdownClaim, load_contract
from gauntlet.errors import BootError

# one test worker runs every compose test, one at a time: two projects coming up at once
# starve a 2-core machine (the module's own stack is also booted once, for all its tests)
pytestmark = [pytest.mark.compose, pytest.mark.xdist_group("compose")]

ROOT = Path(__file__).resolve().parents[3]
CONTRACT = load_contract(ROOT / "contracts" / "reference-compose.toml")
DRAIN = CONTRACT.claims.of(ShutdownClaim)[0]
COMPOSE = StackConfig.model_validate({"backend": "compose"})


def project_containers(project: str) -> list[str]:
    """`docker ps -a` for one compose project, as the CLI reports it."""
    out = subprocess.run(
        ["docker", "ps", "-a", "-q", "--filter", f"label=com.docker.compose.project={project}"],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout
    return out.split()


def own_containers() -> list[str]:
    """Every container a compose boot of this process has labelled as its own."""
    owner = f"{socket.gethostname()}:{os.getpid()}"
    out = subprocess.run(
        ["docker", "ps", "-a", "-q", "--filter", f"label={OWNER_LABEL}={owner}"],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout
    return out.split()



@pytest.fixture(scope="module")
def compose_stack(docker_engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One compose stack shared by the module's non-destructive tests; gone afterwards."""
    logs = tmp_path_factory.mktemp("compose-logs")
    with boot_compose(CONTRACT, COMPOSE, logs) as stack:
        print(f"compose boot time: {stack.boot_time_s:.1f} s")
        yield stack
    project = stack.versions["compose_project"]
    assert project_containers(project) == [], f"project {project} left containers behind"


@pytest.fixture
def logs_dir(tmp_path: Path) -> Path:
    path = tmp_path / "logs"
    path.mkdir()
    return path


def _wait_status(url: str, status: int, within_s: float) -> float:
    """Seconds until ``url`` answers ``status``; fails the test past ``within_s``."""
    started = time.monotonic()
    last: int | str = "nothing"
    while time.monotonic() - started <= within_s:
        try:
            last = httpx.get(url, timeout=1.0).status_code
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        if last == status:
            return time.monotonic() - started
        time.sleep(0.05)
    pytest.fail(f"{url} did not answer {status} within {within_s} s (last: {last})")


def test_ready_through_the_api_proxy(compose_stack: Stack) -> None:
    assert compose_stack.backend == "compose"
    assert compose_stack.base_url != compose_stack.api_direct_url
    assert httpx.get(compose_stack.base_url + "/health/ready", timeout=5).status_code == 200
    assert httpx.get(compose_stack.probe_url + "/health/live", timeout=5).status_code == 200
    assert 0 < compose_stack.boot_time_s < 120  # a sanity bound: two tests share the cores
    assert compose_stack.toxiproxy is not None
    assert set(compose_stack.toxiproxy.proxies()) >= {"api", "postgres", "redis", "upstream"}
    assert compose_stack.database_url
    with psycopg.connect(compose_stack.database_url, connect_timeout=5) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_postgres_proxy_down_makes_ready_503_not_live(compose_stack: Stack) -> None:
    client = compose_stack.toxiproxy
    assert client is not None
    ready = compose_stack.base_url + "/health/ready"
    try:
        client.set_enabled("postgres", False)
        took_s = _wait_status(ready, 503, within_s=2.0)
        assert httpx.get(compose_stack.base_url + "/health/live", timeout=5).status_code == 200
    finally:
        client.set_enabled("postgres", True)
    back_s = _wait_status(ready, 200, within_s=10.0)
    print(f"ready 503 after {took_s:.2f} s, 200 again after {back_s:.2f} s")


def test_sigterm_drains_and_exits_zero(docker_engine: None, logs_dir: Path) -> None:
    bound_s = DRAIN.drain_delay_s + DRAIN.deadline_s + 5.0
    with boot_compose(CONTRACT, COMPOSE, logs_dir) as stack:
        project = stack.versions["compose_project"]
        api = stack.service("api")
        assert api.alive()
        started = time.monotonic()
        stack.signal("api", signal.SIGTERM)
        code = api.wait(timeout_s=bound_s)
        took_s = time.monotonic() - started
        assert code == 0, f"api exit code {code} (bound {bound_s} s)"
        assert not api.alive()
        print(f"api exited 0 {took_s:.2f} s after SIGTERM")
    assert project_containers(project) == []
    assert (logs_dir / "api.log").read_text().strip(), "api log not copied at teardown"


def test_api_that_exits_at_start_is_a_boot_error_and_leaves_nothing(
    docker_engine: None, logs_dir: Path
) -> None:
    # a variant is what reaches the API's environment last, after the links' own variables
    broken = CONTRACT.model_copy(update={"variants": {
        **CONTRACT.variants, "bad_db": {"DATABASE_URL": "mysql://nope@gauntlet-toxiproxy/x"}}})
    config = StackConfig.model_validate({"backend": "compose", "boot_timeout_s": 60,
                                         "variants": ["bad_db"]})
    before = set(own_containers())  # the module's shared stack may be up meanwhile
    with pytest.raises(BootError) as caught, boot_compose(broken, config, logs_dir):
        pytest.fail("a stack whose API cannot start must not boot")
    error = caught.value
    assert "'api'" in str(error) and "exited" in str(error), str(error)
    assert error.logs and "DATABASE_URL" in error.logs
    assert "DATABASE_URL" in (logs_dir / "api.log").read_text()
    assert set(own_containers()) - before == set(), "a failed start left containers behind"
